#!/usr/bin/env bash
# Generates the wallet SDK's Kotlin, Swift and Python bindings from the built library with
# the pinned uniffi-bindgen, into target/bindings/<language>/. The Python directory also
# gets the shared library, so `import gdpr_wallet` works from it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p gdpr-wallet -p uniffi-bindgen
library=target/debug/libgdpr_wallet.so
[[ "$(uname)" == Darwin ]] && library=target/debug/libgdpr_wallet.dylib
for language in kotlin swift python; do
  rm -rf "target/bindings/$language"
  target/debug/uniffi-bindgen generate --no-format --library "$library" --language "$language" \
    --out-dir "target/bindings/$language"
done
cp "$library" target/bindings/python/
echo "bindings in target/bindings/{kotlin,swift,python}"
