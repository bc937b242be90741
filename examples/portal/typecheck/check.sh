#!/usr/bin/env bash
# The portal page's types against the gateway's OpenAPI document: generates gateway.d.ts
# (git-ignored) and runs tsc over static/portal.js. Then proves the check bites: a copy of
# the spec with a field the page uses renamed must fail tsc. Prints "typecheck: N passed,
# M failed" last.
set -euo pipefail
cd "$(dirname "$0")"
spec=../../../openapi/gateway.json
npm ci --no-audit --no-fund --loglevel=error
passed=0 failed=0
generate() { npx --no-install openapi-typescript "$1" -o generated/gateway.d.ts --silent; }

# A renamed field: the page reads a pairing's `status_token`.
drifted=$(mktemp --suffix=.json)
trap 'rm -f "$drifted"' EXIT
sed 's/"status_token"/"status_tokn"/g' "$spec" > "$drifted"
generate "$drifted"
if out=$(npx --no-install tsc -p tsconfig.json 2>&1); then
  echo "FAIL a renamed field (status_token -> status_tokn) passed the type check"; failed=$((failed + 1))
elif grep -q "status_token" <<<"$out"; then
  echo "ok   a renamed field (status_token -> status_tokn) fails the type check:"
  sed 's/^/       /' <<<"$out" | head -5
  passed=$((passed + 1))
else
  echo "FAIL the drifted spec failed for another reason:"; echo "$out"; failed=$((failed + 1))
fi

generate "$spec"
if npx --no-install tsc -p tsconfig.json; then
  echo "ok   static/portal.js type-checks against openapi/gateway.json"; passed=$((passed + 1))
else
  echo "FAIL static/portal.js does not type-check against openapi/gateway.json"; failed=$((failed + 1))
fi
echo "typecheck: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
