#!/usr/bin/env bash
# Runs the fuzz targets (all, or those named) for SECONDS each, seeded with the committed
# corpus; new finds go to a scratch dir, and with --merge the ones that add coverage are
# merged into fuzz/corpus. A crash, leak or timeout fails the run and shows libFuzzer's
# report. Needs a nightly toolchain (for AddressSanitizer); CI runs it briefly
# (.ci/run); docs/security.md records the long runs.
#   fuzz/run.sh SECONDS [--merge] [TARGET...]
# FUZZ_BUILD=--dev builds unoptimized (sooner compiled: CI's short runs);
# FUZZ_SERVER=no leaves out the targets that need the server build (the config loader),
# so only the platform-free core is compiled.
#
# It builds as cargo-fuzz does (its `cargo()` in src/project.rs): the same sanitizer
# coverage flags, for the host target only so build scripts and proc macros are not
# instrumented, and runs the binaries directly. No cargo-fuzz install is needed.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run.sh SECONDS [--merge] [TARGET...]}
shift
merge=no
if [ "${1:-}" = "--merge" ]; then merge=yes; shift; fi

# Targets that call into the server feature.
server_targets=" config "
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for file in fuzz_targets/*.rs; do
    name=$(basename "$file" .rs)
    if [ "${FUZZ_SERVER:-yes}" = no ] && [[ "$server_targets" == *" $name "* ]]; then
      echo "$name: left out (FUZZ_SERVER=no); its corpus is replayed by tests/it/fuzz_corpora.rs"
      continue
    fi
    targets+=("$name")
  done
fi
features=()
for target in "${targets[@]}"; do
  if [[ "$server_targets" == *" $target "* ]]; then features=(--features server); fi
done

triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
rustflags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
rustflags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
rustflags+=" -Cllvm-args=-sanitizer-coverage-pc-table"
rustflags+=" -Cllvm-args=-sanitizer-coverage-trace-compares"
rustflags+=" -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
rustflags+=" --cfg fuzzing -Zsanitizer=address -Cdebug-assertions"
[[ "$triple" == *-linux-* ]] && rustflags+=" -Cllvm-args=-sanitizer-coverage-stack-depth"
# Release with debug assertions, so overflow and other checks fire as in a debug build.
profile=(--release --config 'profile.release.debug="line-tables-only"')
out=release
if [ "${FUZZ_BUILD:-}" = "--dev" ]; then profile=(); out=debug; fi
if [ "$out" = release ]; then rustflags+=" -Ccodegen-units=1"; fi
bins=()
for target in "${targets[@]}"; do bins+=(--bin "$target"); done
# The product's build may run under clippy-driver (.ci/run); this one is plain nightly rustc.
env -u RUSTC_WORKSPACE_WRAPPER RUSTFLAGS="$rustflags" \
  cargo +nightly build --manifest-path Cargo.toml --target "$triple" "${profile[@]}" \
  "${features[@]}" "${bins[@]}"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "corpus/$target" "artifacts/$target"
  log="$scratch/$target.log"
  binary="target/$triple/$out/$target"
  if ! "$binary" -artifact_prefix="artifacts/$target/" -max_total_time="$secs" \
      -print_final_stats=1 "$scratch/$target" "corpus/$target" >"$log" 2>&1; then
    tail -60 "$log"
    echo "fuzz target $target failed; the input is under fuzz/artifacts/$target" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  kept=$(find "$scratch/$target" -type f | wc -l)
  printf '%-16s %12s executions in %ss, %s new inputs, no crash\n' "$target" "$runs" "$secs" "$kept"
  if [ "$merge" = yes ] && [ "$kept" -gt 0 ]; then
    "$binary" -merge=1 "corpus/$target" "$scratch/$target" >"$log" 2>&1
  fi
done
