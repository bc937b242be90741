#!/usr/bin/env bash
# Compiles the generated Kotlin binding, the flow test and the Kotlin example of
# mobile-sdk/README.md, and runs the flow on the JVM against the libgdpr_wallet of the test
# build, as an Android app team's code would use them. Installs what it needs when missing:
# the Kotlin compiler (npm `kotlin-compiler`, pinned), JNA (Debian's `libjna-java`) and a JDK.
# Run mobile-sdk/bindings.sh first.
set -euo pipefail
cd "$(dirname "$0")/../../.."
KOTLIN_VERSION=2.4.20
toolchain=target/kotlin-toolchain
kotlin_home=$toolchain/node_modules/kotlin-compiler
if ! grep -qs "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json"; then
  npm install --no-audit --no-fund --silent --prefix "$toolchain" "kotlin-compiler@$KOTLIN_VERSION"
fi
apt_install() {
  apt-get install -y -qq "$@" > /dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" > /dev/null; }
}
command -v javac > /dev/null || apt_install openjdk-17-jdk-headless
jna=/usr/share/java/jna.jar
[[ -f $jna ]] || apt_install libjna-java
binding=target/bindings/kotlin/uniffi/gdpr_wallet/gdpr_wallet.kt
[[ -f $binding ]] || { echo "no Kotlin binding: run mobile-sdk/bindings.sh first" >&2; exit 1; }

out=target/kotlin-flow
rm -rf "$out" && mkdir -p "$out"
# The README's example is compiled, and the flow runs it, so it cannot go stale.
awk '/^```kotlin$/ {inside = 1; next} /^```$/ {inside = 0} inside' mobile-sdk/README.md > "$out/ReadmeExample.kt"
[[ -s $out/ReadmeExample.kt ]] || { echo "mobile-sdk/README.md has no kotlin example" >&2; exit 1; }
libraries="$jna:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
"$kotlin_home/bin/kotlinc-jvm" -nowarn -jvm-target 17 -cp "$libraries" -d "$out/flow.jar" \
  "$binding" "$out/ReadmeExample.kt" mobile-sdk/tests/kotlin/*.kt
java -Djna.library.path=target/debug/deps -cp "$out/flow.jar:$libraries:$kotlin_home/lib/kotlin-stdlib.jar" \
  gdprwallet.test.WalletFlowKt target/debug/gdpr-gateway
