#!/usr/bin/env bash
# Generates the wallet SDK's Kotlin, Swift and Python bindings from the built library with
# the pinned uniffi-bindgen, into target/bindings/<language>/. The Python directory also
# gets the shared library, so `import gdpr_wallet` works from it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The workspace's test build holds both the library and the generator (a test of the
# generator reads the library): building them alone would select other features and
# compile much of the tree again.
cargo test --workspace --no-run
library=target/debug/deps/libgdpr_wallet.so
[[ "$(uname)" == Darwin ]] && library=target/debug/deps/libgdpr_wallet.dylib
for language in kotlin swift python; do
  rm -rf "target/bindings/$language"
  target/debug/uniffi-bindgen generate --no-format --library "$library" --language "$language" \
    --out-dir "target/bindings/$language"
done
cp "$library" target/bindings/python/
echo "bindings in target/bindings/{kotlin,swift,python}"
