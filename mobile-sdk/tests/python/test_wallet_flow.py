"""The whole wallet flow through the generated Python binding, against a real gateway:
a key store written in Python, pairing with the code typed into the portal API, a bundle
downloaded through the relay and checked with PyJWT (an independent JOSE library), a
tampered bundle refused, revocation.

Usage: python3 test_wallet_flow.py <python bindings dir> <path to gdpr-gateway>
"""

import asyncio
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import jwt

WAIT_SECONDS = 20
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    results["passed" if condition else "failed"] += 1
    print(f"{'ok  ' if condition else 'FAIL'} {name} {'' if condition else detail}")


def portal(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def start_gateway(binary, workdir):
    process = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0"], cwd=workdir,
                               stderr=subprocess.PIPE, text=True,
                               env={"GDPR_GATEWAY_LOG": "info", "PATH": "/usr/bin:/bin"})
    for line in process.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    sys.exit("gateway did not start")


async def flow(wallet_module, base, token):
    class MemoryKeyStore(wallet_module.KeyStore):
        """What an app does over the Keychain or Android Keystore; here a dict."""

        def __init__(self):
            self.entries = {}

        def load(self, name):
            return self.entries.get(name)

        def save(self, name, value):
            self.entries[name] = bytes(value)

        def delete(self, name):
            self.entries.pop(name, None)

        def names(self):
            return sorted(self.entries)

    store = MemoryKeyStore()
    wallet = wallet_module.Wallet(store)
    pairing = portal(base, token, "POST", "/v1/pairings", {"subject_ref": "alice"})
    pending = await wallet.connect(pairing["connect_uri"])
    check("connect shows a 6-digit code", re.fullmatch(r"\d{6}", pending.code) is not None, pending.code)
    check("the key store holds the connection's keys", list(store.entries) == [pending.connection_id])
    confirmed = portal(base, token, "POST", f"/v1/pairings/{pairing['pairing_id']}/confirm", {"code": pending.code})
    check("the portal confirms the code", confirmed["state"] == "connected", confirmed)
    await wallet.wait_connected(pending.connection_id, WAIT_SECONDS)
    states = [c.state for c in wallet.connections()]
    check("the connection is connected", states == [wallet_module.ConnectionState.CONNECTED], states)

    bundle = await wallet.request_export(pending.connection_id, wallet_module.ExportPurpose.ACCESS, None, WAIT_SECONDS)
    check("the bundle comes from the organisation", bundle.issuer == pending.controller_id, bundle.issuer)
    jwks = json.loads(urllib.request.urlopen(f"{base}/.well-known/jwks.json", timeout=10).read())
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(bundle.token)["kid"]
    claims = jwt.decode(bundle.token, keys[kid].key, algorithms=["EdDSA"])
    check("pyjwt verifies the bundle with the published JWKS", claims["sub"] == "alice" and claims["jti"] == bundle.bundle_id)
    check("every category came", sorted(c["id"] for c in claims["bundle"]["categories"]) == sorted(bundle.categories))

    tampered = bundle.token[:-4] + ("AAAA" if not bundle.token.endswith("AAAA") else "BBBB")
    try:
        wallet.verify(pending.connection_id, tampered)
        check("a tampered bundle is refused", False)
    except wallet_module.WalletError as error:
        check("a tampered bundle is refused", "does not verify" in str(error), str(error))

    await wallet.revoke(pending.connection_id)
    try:
        await wallet.request_export(pending.connection_id, wallet_module.ExportPurpose.ACCESS, None, WAIT_SECONDS)
        check("a revoked connection can do nothing", False)
    except wallet_module.WalletError as error:
        check("a revoked connection can do nothing", "revoked" in str(error), str(error))
    for _ in range(100):
        listed = portal(base, token, "GET", "/v1/subjects/alice/connections")
        if listed["connections"][0]["state"] == "revoked":
            break
        await asyncio.sleep(0.05)
    check("the organisation learns of the revocation", listed["connections"][0]["state"] == "revoked", listed)


def main():
    bindings, binary = sys.argv[1], str(Path(sys.argv[2]).resolve())
    sys.path.insert(0, bindings)
    import gdpr_wallet

    with tempfile.TemporaryDirectory() as workdir:
        process, base = start_gateway(binary, workdir)
        try:
            token = (Path(workdir) / "gdpr-gateway-data" / "demo-portal-token").read_text().strip()
            asyncio.run(flow(gdpr_wallet, base, token))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"python binding: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
