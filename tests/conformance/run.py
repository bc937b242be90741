#!/usr/bin/env python3
"""The conformance job: Schemathesis with every check against the gateway as `serve` runs
it (the built-in demo on SQLite, its relay mounted at /relay), for every operation, with
the exceptions in schemathesis.toml. Exits non-zero on any failure.

    python3 tests/conformance/run.py target/debug/gdpr-gateway

Before Schemathesis starts, a wallet (relay_client.py, written from docs/protocol.md)
pairs with the demo and opens two more connections, so that hooks.py can sign DPoP
proofs for real connections and the relay's operations run past authentication."""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from relay_client import b64, call, encryption_jwk, message_claims, open_envelope, signing_key_from_jwk, unb64  # noqa: E402


def raw_private(key: Ed25519PrivateKey) -> str:
    return b64(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def controller_signing_jwk(data_dir: Path) -> dict:
    """The demo gateway's active signing key: the newest Ed25519 key file."""
    files = [json.loads(p.read_text()) for p in (data_dir / "keys").glob("*.json")]
    signing = [f for f in files if f["jwk"]["crv"] == "Ed25519"]
    return max(signing, key=lambda f: f["created_at"])["jwk"]


def expect(status, wanted, what, answer):
    if status != wanted:
        sys.exit(f"conformance setup: {what} answered {status}: {answer}")


def wallet_connections(base: str, portal_token: str, data_dir: Path) -> dict:
    """A paired and confirmed connection, one to revoke and one already revoked, plus a
    blob the controller stored for the paired wallet and a message it left unacknowledged."""
    relay = base + "/relay"
    wallet, wallet_enc = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    status, pairing = call("POST", base + "/v1/pairings", bearer=portal_token, body={"subject_ref": "conformance"})
    expect(status, 201, "POST /v1/pairings", pairing)
    token = pairing["connect_uri"].rsplit("/c/", 1)[1].split("?", 1)[0]
    status, connected = call("POST", relay + "/v1/connect", key=wallet,
                             body={"token": token, "encryption_jwk": encryption_jwk(wallet_enc)})
    expect(status, 201, "POST /relay/v1/connect", connected)
    cid, controller = connected["connection_id"], connected["controller"]
    status, items = call("GET", f"{relay}/v1/connections/{cid}/messages?wait=10", key=wallet)
    expect(status, 200, "GET messages", items)
    opened = [(item["id"], message_claims(open_envelope(wallet_enc, item["body"]))) for item in items["items"]]
    message_id, code = next((mid, c["body"]["code"]) for mid, c in opened if c["type"] == "pairing.code")
    status, confirmed = call("POST", f"{base}/v1/pairings/{pairing['pairing_id']}/confirm",
                             bearer=portal_token, body={"code": code})
    expect(status, 200, "POST confirm", confirmed)

    controller_key = signing_key_from_jwk(controller_signing_jwk(data_dir))
    status, blob = call("POST", f"{relay}/v1/connections/{cid}/blobs", key=controller_key,
                        body=os.urandom(4096))
    expect(status, 201, "POST blobs", blob)

    connections = {"main": {"id": cid, "key": raw_private(wallet)}}
    for name in ("to_revoke", "revoked"):
        key = Ed25519PrivateKey.generate()
        status, opened = call("POST", relay + "/v1/connections", key=key,
                              body={"controller_id": controller["id"],
                                    "encryption_jwk": encryption_jwk(X25519PrivateKey.generate())})
        expect(status, 201, "POST /relay/v1/connections", opened)
        connections[name] = {"id": opened["connection_id"], "key": raw_private(key)}
    revoked = connections["revoked"]
    status, answer = call("DELETE", f"{relay}/v1/connections/{revoked['id']}",
                          key=Ed25519PrivateKey.from_private_bytes(unb64(revoked["key"])))
    expect(status, 204, "DELETE connection", answer)
    return {
        "base": base,
        "portal_token": portal_token,
        "controller_id": controller["id"],
        "controller_key": raw_private(controller_key),
        "controller_encryption_jwk": controller["encryption_jwks"]["keys"][0],
        "connections": connections,
        "blob_id": blob["blob_id"],
        "message_id": message_id,
        "staff_token": (data_dir / "demo-staff-admin-token").read_text().strip(),
        "request_id": filed_request(base, portal_token),
        "closed_request_id": filed_request(base, portal_token, "information"),
    }


def filed_request(base: str, portal_token: str, kind: str = "access") -> str:
    """A rights request for the staff operations to read and move on; an `information`
    one is answered and closed at once, so it has a receipt to read."""
    status, filed = call("POST", base + "/v1/subjects/conformance/requests", bearer=portal_token,
                         body={"type": kind})
    expect(status, 201, "POST requests", filed)
    return filed["id"]


def main() -> None:
    binary = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp())
    server = subprocess.Popen(
        [str(binary), "serve", "--listen", "127.0.0.1:0"], cwd=work, stderr=subprocess.PIPE, text=True
    )
    try:
        url = None
        for line in server.stderr:
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        if not url:
            sys.exit("the gateway did not start")
        # Keep reading its log, so a full pipe never stalls the gateway mid-run.
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        data_dir = work / "gdpr-gateway-data"
        token = (data_dir / "demo-portal-token").read_text().strip()
        state = work / "conformance-state.json"
        state.write_text(json.dumps(wallet_connections(url, token, data_dir)))
        env = dict(os.environ, CONFORMANCE_STATE=str(state), SCHEMATHESIS_HOOKS="hooks",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
        result = subprocess.run(
            [
                "st", "--config-file", str(HERE / "schemathesis.toml"),
                "run", str(ROOT / "openapi" / "gateway.json"),
                "--url", url,
                "--checks", "all",
                # DELETE ends a pairing or connection, it does not erase it (schemathesis.toml).
                "--exclude-checks", "use_after_free",
                "--seed", os.environ.get("CONFORMANCE_SEED", "1"),
            ],
            cwd=work,
            env=env,
        )
        sys.exit(result.returncode)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
