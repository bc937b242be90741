#!/usr/bin/env python3
"""Wallet envelopes (docs/protocol.md § Envelopes: compact JWE, ECDH-ES over X25519,
A256GCM) between our code and jwcrypto, both ways, through a committed vector:

    cargo test --test it jwe_interop_vector   # with UPDATE_VECTORS=1: a key and `ours`
    python3 tests/interop/jwe_vectors.py --write tests/vectors/jwe_interop.json
    python3 tests/interop/jwe_vectors.py --check tests/vectors/jwe_interop.json

`ours` is a JWE our `jwe::encrypt` made; `--check` opens it with jwcrypto and checks its
header is exactly what the protocol says. `jwcrypto` holds envelopes jwcrypto sealed to
the same key, with and without `kid`; the Rust test (`tests/it/vectors.rs`) opens the first
and must refuse the second (a recipient selects its key by `kid`, never by trying)."""

import json
import sys

from jwcrypto import jwe, jwk


def recipient(vector):
    return jwk.JWK(**vector["recipient"])


def seal(vector, kid):
    public = {k: v for k, v in vector["recipient"].items() if k not in ("d", "kid")}
    key = jwk.JWK(**public)
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "cty": "application/json"}
    if kid:
        header["kid"] = vector["recipient"]["kid"]
    envelope = jwe.JWE(vector["plaintext"].encode(), protected=json.dumps(header))
    envelope.add_recipient(key)
    return envelope.serialize(compact=True)


def check(vector):
    failed = 0
    envelope = jwe.JWE()
    envelope.deserialize(vector["ours"], key=recipient(vector))
    header = json.loads(envelope.objects["protected"])
    ok = (envelope.payload.decode() == vector["plaintext"]
          and list(header) == ["alg", "enc", "kid", "cty", "epk"]
          and (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES", "A256GCM", vector["recipient"]["kid"])
          and sorted(header["epk"]) == ["crv", "kty", "x"] and header["epk"]["crv"] == "X25519")
    print(f"{'ok  ' if ok else 'FAIL'} jwcrypto opens our envelope, its header as the protocol writes it")
    failed += not ok
    for name in ("with_kid", "without_kid"):
        mine = jwe.JWE()
        mine.deserialize(vector["jwcrypto"][name], key=recipient(vector))
        ok = mine.payload.decode() == vector["plaintext"]
        print(f"{'ok  ' if ok else 'FAIL'} jwcrypto opens its own envelope {name}")
        failed += not ok
    print(f"jwe vectors: {3 - failed} passed, {failed} failed")
    return failed


def main():
    mode, path = sys.argv[1], sys.argv[2]
    vector = json.loads(open(path).read())
    if mode == "--write":
        vector["jwcrypto"] = {"with_kid": seal(vector, True), "without_kid": seal(vector, False)}
        open(path, "w").write(json.dumps(vector, indent=2) + "\n")
    sys.exit(1 if check(vector) else 0)


if __name__ == "__main__":
    main()
