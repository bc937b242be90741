"""The verifier snippets of docs/verifiers/ (PyJWT, jwcrypto, Node jose), run as printed
against a real bundle and four tokens made with the gateway's own key that are still no
valid bundle: `typ: JWT`, a `jku` header, a duplicate `sub`, no `bundle` claim. Each
snippet must accept the first and refuse the rest, as our own command does.

Called by gateway_interop.py with the gateway it started; Node's `jose` is installed
into target/verifier-snippets (pinned) on first use.
"""

import importlib.util
import json
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from jwcrypto import jwk, jws

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "docs" / "verifiers"
NODE_DIR = ROOT / "target" / "verifier-snippets"
JOSE_VERSION = "6.2.18"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SNIPPETS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sign(private, header, payload_bytes):
    signed = jws.JWS(payload_bytes)
    signed.add_signature(private, alg="EdDSA", protected=json.dumps(header))
    return signed.serialize(compact=True)


def hostile_tokens(bundle, private, kid):
    """The four tokens the real key signed that are still not a valid bundle."""
    verifier = jws.JWS()
    verifier.deserialize(bundle)
    payload = json.loads(verifier.objects["payload"])
    header = {"alg": "EdDSA", "kid": kid, "typ": "gdpr-bundle+jwt"}
    text = json.dumps(payload)
    without_bundle = {k: v for k, v in payload.items() if k != "bundle"}
    return {
        "typ JWT": sign(private, dict(header, typ="JWT"), text.encode()),
        "a jku header": sign(private, dict(header, jku="https://keys.evil.example/jwks.json"), text.encode()),
        "a duplicate sub": sign(private, header, ('{"sub":"mallory",' + text[1:]).encode()),
        "no bundle claim": sign(private, header, json.dumps(without_bundle).encode()),
    }


def node_snippet():
    """The jose snippet beside an installed `jose`, or None without Node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    installed = NODE_DIR / "node_modules" / "jose" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != JOSE_VERSION:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(NODE_DIR),
                        f"jose@{JOSE_VERSION}"], check=True)
    shutil.copy(SNIPPETS / "verify_jose.mjs", NODE_DIR / "verify_jose.mjs")
    return NODE_DIR / "verify_jose.mjs"


def check_trust_list(check, base, data_dir):
    """Node's jose verifies the embedded relay's trust list with the operator's public key
    (read from the gateway's key file, less `d`), and refuses it under another key."""
    node = node_snippet()
    if node is None:
        check("Node and npm are there for the trust list check", False)
        return
    shutil.copy(Path(__file__).with_name("verify_trust_list.mjs"), NODE_DIR / "verify_trust_list.mjs")
    operator = json.loads((data_dir / "relay-operator.jwk").read_text())
    operator = operator.get("jwk", operator)
    public = {k: v for k, v in operator.items() if k != "d"}
    public["kid"] = jwk.JWK(**public).thumbprint()
    token = urllib.request.urlopen(f"{base}/relay/v1/trust-list", timeout=10).read().decode()
    with tempfile.TemporaryDirectory() as scratch:
        list_file, keys_file = Path(scratch) / "list.jwt", Path(scratch) / "operator.json"
        list_file.write_text(token)
        keys_file.write_text(json.dumps({"keys": [dict(public, alg="EdDSA", use="sig")]}))
        result = subprocess.run(["node", str(NODE_DIR / "verify_trust_list.mjs"), str(list_file), str(keys_file)],
                                capture_output=True, text=True)
        check("jose verifies the trust list with the operator's key",
              result.returncode == 0 and "https://" in result.stdout, result.stderr)
        other = jwk_other()
        keys_file.write_text(json.dumps({"keys": [other]}))
        result = subprocess.run(["node", str(NODE_DIR / "verify_trust_list.mjs"), str(list_file), str(keys_file)],
                                capture_output=True, text=True)
        check("jose refuses the trust list under another key", result.returncode == 1, result.stdout)


def jwk_other():
    """A fresh public Ed25519 JWK that signed nothing."""
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    return dict(json.loads(key.export_public()), alg="EdDSA", use="sig", kid=key.thumbprint())


def check_snippets(check, binary, bundle, jwks_doc, private, kid):
    verifier = jws.JWS()
    verifier.deserialize(bundle)
    issuer = json.loads(verifier.objects["payload"])["iss"]
    hostile = hostile_tokens(bundle, private, kid)
    pyjwt, jwcrypto = load("verify_pyjwt"), load("verify_jwcrypto")
    node = node_snippet()
    check("Node and npm are there for the jose snippet", node is not None)
    with tempfile.TemporaryDirectory() as scratch:
        jwks_file = Path(scratch) / "jwks.json"
        jwks_file.write_text(json.dumps(jwks_doc))

        def run(argv, token, expected_issuer=issuer):
            path = Path(scratch) / "token.jwt"
            path.write_text(token)
            return subprocess.run(argv + [str(path), str(jwks_file), expected_issuer], capture_output=True, text=True)

        snippets = {
            "pyjwt": lambda token: pyjwt.verify_bundle(token, jwks_doc, issuer),
            "jwcrypto": lambda token: jwcrypto.verify_bundle(token, jwks_doc, issuer),
        }
        for name, verify in snippets.items():
            check(f"{name} snippet accepts the real bundle", verify(bundle)["iss"] == issuer)
            for case, token in hostile.items():
                try:
                    verify(token)
                    check(f"{name} snippet refuses {case}", False)
                except Exception:  # noqa: BLE001 - any refusal counts
                    check(f"{name} snippet refuses {case}", True)
            check(f"{name} snippet refuses another issuer",
                  _refuses(lambda: load(f"verify_{name}").verify_bundle(bundle, jwks_doc, "https://other.example")))
        if node is not None:
            result = run(["node", str(node)], bundle)
            check("jose snippet accepts the real bundle", result.returncode == 0, result.stderr)
            result = run(["node", str(node)], bundle, "https://other.example")
            check("jose snippet refuses another issuer", result.returncode == 1, result.stdout)
            for case, token in hostile.items():
                result = run(["node", str(node)], token)
                check(f"jose snippet refuses {case}", result.returncode == 1, result.stdout + result.stderr)
        for case, token in hostile.items():
            path = Path(scratch) / "hostile.jwt"
            path.write_text(token)
            result = subprocess.run([binary, "verify", str(path), "--jwks", str(jwks_file), "--json"],
                                    capture_output=True, text=True)
            check(f"gdpr-gateway verify refuses {case}", result.returncode == 1, result.stdout)


def _refuses(call):
    try:
        call()
        return False
    except Exception:  # noqa: BLE001 - any refusal counts
        return True
