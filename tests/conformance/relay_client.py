"""What a wallet and a controller need to talk to the relay, written from docs/protocol.md
alone with Python's `cryptography`: DPoP proofs (§4), public OKP JWKs with their
thumbprints (§2) and sealed envelopes (§6.1). The conformance job uses it to get past
the relay's authentication; it shares no code with the gateway."""

import base64
import hashlib
import json
import os
import time
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def raw_public(key) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def thumbprint(crv: str, x: str) -> str:
    """RFC 7638 over the three required OKP members, in their fixed order."""
    return b64(hashlib.sha256(f'{{"crv":"{crv}","kty":"OKP","x":"{x}"}}'.encode()).digest())


def encryption_jwk(key: X25519PrivateKey) -> dict:
    x = b64(raw_public(key))
    return {"kty": "OKP", "crv": "X25519", "x": x, "kid": thumbprint("X25519", x), "use": "enc", "alg": "ECDH-ES"}


def signing_key_from_jwk(jwk: dict) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(unb64(jwk["d"]))


def dpop_proof(key: Ed25519PrivateKey, method: str, url: str) -> str:
    """A fresh proof for one request; `htu` is the URL without query or fragment."""
    header = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(raw_public(key))}}
    htu = url.split("#", 1)[0].split("?", 1)[0]
    claims = {"jti": b64(os.urandom(16)), "htm": method.upper(), "htu": htu, "iat": int(time.time())}
    signing_input = f"{b64(compact_json(header))}.{b64(compact_json(claims))}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def content_key(z: bytes) -> bytes:
    """One round of the Concat KDF for direct agreement with A256GCM, empty apu and apv."""
    if z == bytes(32):
        raise ValueError("low-order key: all-zero shared secret")
    algorithm = b"A256GCM"
    other_info = len(algorithm).to_bytes(4, "big") + algorithm + bytes(4) + bytes(4) + (256).to_bytes(4, "big")
    return hashlib.sha256((1).to_bytes(4, "big") + z + other_info).digest()


def seal(recipient: dict, plaintext: bytes, content_type: str = "gdpr-msg+jwt") -> str:
    """A compact JWE, ECDH-ES over X25519 with A256GCM, to `recipient` (a public JWK)."""
    ephemeral = X25519PrivateKey.generate()
    cek = content_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(unb64(recipient["x"]))))
    header = {
        "alg": "ECDH-ES",
        "enc": "A256GCM",
        "kid": recipient["kid"],
        "cty": content_type,
        "epk": {"kty": "OKP", "crv": "X25519", "x": b64(raw_public(ephemeral))},
    }
    header_b64 = b64(compact_json(header))
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, header_b64.encode())
    return f"{header_b64}..{b64(iv)}.{b64(sealed[:-16])}.{b64(sealed[-16:])}"


def open_envelope(key: X25519PrivateKey, jwe: str) -> bytes:
    """The plaintext of a compact JWE sealed to `key` (§6.1)."""
    header_b64, _, iv, ciphertext, tag = jwe.split(".")
    header = json.loads(unb64(header_b64))
    cek = content_key(key.exchange(X25519PublicKey.from_public_bytes(unb64(header["epk"]["x"]))))
    return AESGCM(cek).decrypt(unb64(iv), unb64(ciphertext) + unb64(tag), header_b64.encode())


def signed_message(key: Ed25519PrivateKey, connection_id: str, kind: str, body: dict) -> bytes:
    """The inner JWS of a message (§6.2), signed by the sender."""
    kid = thumbprint("Ed25519", b64(raw_public(key)))
    header = {"alg": "EdDSA", "kid": kid, "typ": "gdpr-msg+jwt"}
    claims = {"jti": b64(os.urandom(16)), "iat": int(time.time()), "connection_id": connection_id,
              "type": kind, "body": body}
    signing_input = f"{b64(compact_json(header))}.{b64(compact_json(claims))}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}".encode()


def message_claims(jws: bytes) -> dict:
    """The claims of a message, unverified: enough for a test that already trusts its sender."""
    return json.loads(unb64(jws.decode().split(".")[1]))


def call(method: str, url: str, *, key=None, bearer=None, body=None, content_type=None):
    """One request; answers (status, parsed JSON or raw bytes)."""
    headers = {}
    if key is not None:
        headers["DPoP"] = dpop_proof(key, method, url)
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
            headers["Content-Type"] = content_type or "application/octet-stream"
        else:
            data = compact_json(body)
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw
