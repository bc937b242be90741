#!/usr/bin/env bash
# Builds and verifies a zip package of ~1 GiB of synthetic subject data through the real
# gateway, and compares with sha256sum over the same bytes. Prints times, ratios and peak
# RSS of the gateway (while building) and of `verify`. Loopback only; stops by itself.
# Usage: benches/package_1gib.sh [SIZE_MIB]   (release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB="${1:-1024}"
BIN="$PWD/target/release/gdpr-gateway"
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'kill "${GW:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/data/bench"
python3 - "$WORK/data/bench/events.jsonl" "$SIZE_MIB" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
with open(path, "w") as out:
    written, i = 0, 0
    while written < size:
        line = json.dumps({"id": i, "at": f"2026-01-01T00:{i % 60:02d}:00Z", "kind": "meter_reading",
                           "meter": {"serial": f"E-{i % 9973}", "kwh": i * 7 % 100000}, "note": "x" * 180}) + "\n"
        out.write(line)
        written += len(line)
        i += 1
PY
TOKEN="bench-token-$(date +%s%N)"
DIGEST=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
cat > "$WORK/gateway.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$WORK/gw"
[controller]
id = "https://bench.example"
name = "Bench"
dpo_contact = "dpo@bench.example"
[controller.supervisory_authority]
name = "Authority"
url = "https://authority.example"
[[sources]]
id = "files"
type = "file"
path = "$WORK/data"
[[categories]]
id = "events"
name = "Events"
purposes = ["Benchmark"]
legal_basis = "contract"
retention = "P1Y"
source = "files"
portable = true
[[portal_clients]]
id = "bench"
token_sha256 = "$DIGEST"
TOML
GDPR_GATEWAY_LOG=info "$BIN" serve --config "$WORK/gateway.toml" 2> "$WORK/serve.log" &
GW=$!
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/serve.log" | tail -1)

now() { date +%s.%N; }
t0=$(now)
curl -sf -o "$WORK/package.zip" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"format":"zip","purpose":"access"}' "$URL/v1/subjects/bench/exports"
t1=$(now)
GW_RSS=$(grep VmHWM "/proc/$GW/status" | awk '{print $2}')
/usr/bin/time -f "%e %M" -o "$WORK/verify.time" "$BIN" verify "$WORK/package.zip" --jwks "$URL/.well-known/jwks.json" > /dev/null
t2=$(now)
sha256sum "$WORK/data/bench/events.jsonl" > /dev/null
t3=$(now)
sha256sum "$WORK/package.zip" > /dev/null
t4=$(now)

python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$GW_RSS" "$(cat "$WORK/verify.time")" \
  "$(stat -c %s "$WORK/data/bench/events.jsonl")" "$(stat -c %s "$WORK/package.zip")" <<'PY'
import sys
t0, t1, t2, t3, t4 = map(float, sys.argv[1:6])
gw_rss_kib = int(sys.argv[6]); verify_s, verify_rss_kib = sys.argv[7].split()
data, package = int(sys.argv[8]), int(sys.argv[9])
build, verify, sha_data, sha_pkg = t1 - t0, t2 - t1, t3 - t2, t4 - t3
print(f"source data            {data / 2**20:8.0f} MiB")
print(f"package                {package / 2**20:8.0f} MiB (JSON + CSV + tags)")
print(f"build (HTTP download)  {build:8.2f} s   {build / sha_data:5.2f}x sha256sum of the data")
print(f"verify (CLI)           {verify:8.2f} s   {verify / sha_pkg:5.2f}x sha256sum of the package")
print(f"build + verify         {build + verify:8.2f} s   {(build + verify) / sha_data:5.2f}x sha256sum of the data")
print(f"sha256sum data/package {sha_data:8.2f} s / {sha_pkg:.2f} s")
print(f"peak RSS gateway       {gw_rss_kib / 1024:8.1f} MiB (whole process, after the build)")
print(f"peak RSS verify        {int(verify_rss_kib) / 1024:8.1f} MiB")
PY
