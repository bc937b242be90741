#!/usr/bin/env python3
"""Blob encryption (docs/protocol.md § Blobs) computed from the spec alone with Python's
`cryptography`, as an independent implementation: AES-256-GCM in the STREAM construction,
64 KiB plaintext chunks, nonce = 7-byte prefix || chunk counter (u32, big-endian) ||
last-chunk flag (1 byte), no associated data.

    python3 tests/interop/blob_vectors.py --write tests/vectors/blob_stream.json
    python3 tests/interop/blob_vectors.py --check tests/vectors/blob_stream.json

`--check` recomputes every vector, then opens the committed ciphertext chunk by chunk and
compares: the Rust side (`src/protocol/blob.rs`) must seal to the same bytes and open them."""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 64 * 1024
TAG = 16


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def plaintext(length: int) -> bytes:
    return bytes((i * 31 + 7) % 251 for i in range(length))


def nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal(key: bytes, prefix: bytes, plain: bytes) -> bytes:
    chunks = [plain[i:i + CHUNK] for i in range(0, len(plain), CHUNK)] or [b""]
    aes = AESGCM(key)
    return b"".join(aes.encrypt(nonce(prefix, i, i + 1 == len(chunks)), c, None) for i, c in enumerate(chunks))


def open_chunk_by_chunk(key: bytes, prefix: bytes, blob: bytes) -> bytes:
    aes = AESGCM(key)
    sealed = CHUNK + TAG
    out, counter, at = [], 0, 0
    while True:
        last = len(blob) - at <= sealed
        end = len(blob) if last else at + sealed
        out.append(aes.decrypt(nonce(prefix, counter, last), blob[at:end], None))
        if last:
            return b"".join(out)
        counter, at = counter + 1, end


def vectors() -> list:
    cases = []
    for n, length in enumerate([0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 100]):
        key = bytes((n * 17 + i) % 256 for i in range(32))
        prefix = bytes((n * 5 + i + 1) % 256 for i in range(7))
        blob = seal(key, prefix, plaintext(length))
        case = {
            "plaintext_len": length,
            "key": b64(key),
            "nonce_prefix": b64(prefix),
            "size": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
        }
        # One blob of two chunks in full, for the other side to open; the rest by hash.
        if length == CHUNK + 1:
            case["blob"] = b64(blob)
        cases.append(case)
    return cases


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    computed = {"plaintext": "byte i = (31 i + 7) mod 251", "vectors": vectors()}
    if mode == "--write":
        with open(path, "w") as f:
            json.dump(computed, f, indent=1)
            f.write("\n")
        return
    with open(path) as f:
        committed = json.load(f)
    assert committed == computed, "the committed blob vectors differ from the spec's"
    for case in committed["vectors"]:
        blob = unb64(case["blob"]) if "blob" in case else seal(
            unb64(case["key"]), unb64(case["nonce_prefix"]), plaintext(case["plaintext_len"]))
        opened = open_chunk_by_chunk(unb64(case["key"]), unb64(case["nonce_prefix"]), blob)
        assert opened == plaintext(case["plaintext_len"]), case["plaintext_len"]
    print(f"blob vectors: {len(committed['vectors'])} match the spec and open chunk by chunk")


if __name__ == "__main__":
    main()
