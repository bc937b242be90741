#!/usr/bin/env bash
# Runs the fuzz targets (all, or those named) for SECONDS each, seeded with the committed
# corpus; new finds go to a scratch dir, and with --merge the ones that add coverage are
# merged into fuzz/corpus. A crash, leak or timeout fails the run and shows libFuzzer's
# report. Needs a nightly toolchain and cargo-fuzz. CI runs it briefly (.ci/run);
# docs/security.md records the long runs.
#   fuzz/run.sh SECONDS [--merge] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [--merge] [TARGET...]}
shift
merge=no
if [ "${1:-}" = "--merge" ]; then merge=yes; shift; fi
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi

# Release with debug assertions, so overflow and other checks fire as in a debug build;
# FUZZ_BUILD=--dev for an unoptimized build that compiles sooner (CI's short runs).
if [ "${FUZZ_BUILD:-}" = "--dev" ]; then flags=(--dev); else flags=(-O --debug-assertions); fi
cargo +nightly fuzz build "${flags[@]}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "corpus/$target"
  log="$scratch/$target.log"
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
      -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $target failed; the input is under fuzz/artifacts/$target" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  kept=$(find "$scratch/$target" -type f | wc -l)
  printf '%-16s %12s executions in %ss, %s new inputs, no crash\n' "$target" "$runs" "$secs" "$kept"
  if [ "$merge" = yes ] && [ "$kept" -gt 0 ]; then
    cargo +nightly fuzz run "${flags[@]}" "$target" "corpus/$target" "$scratch/$target" -- -merge=1 >"$log" 2>&1
  fi
done
