"""Checks a running gdpr-gateway with independent implementations, so we never only
agree with ourselves: jwcrypto and PyJWT read our JWKS, recompute every kid as an
RFC 7638 thumbprint, and verify a bundle downloaded through the portal API; our own
verifier (command and HTTP) accepts a bundle that jwcrypto signed with the key on disk;
PyJWT and jwcrypto verify a receipt our signer made (tests/vectors/receipt.json) with its
JWKS alone, and our verifier accepts a receipt jwcrypto signed; bagit-python validates an unzipped package; openapi-spec-validator validates the
generated OpenAPI document; zxing-cpp decodes a pairing's QR code to its connect URI;
the Standard Webhooks reference library verifies a webhook the gateway signed.

Usage: python3 tests/interop/gateway_interop.py path/to/gdpr-gateway
"""

import base64
import http.server
import hashlib
import json
import time
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import bagit
import jwt
import standardwebhooks
import zxingcpp
from PIL import Image
from jwcrypto import jwk, jws
from openapi_spec_validator import validate

import verifier_snippets  # beside this file

STARTUP_SECONDS = 30
results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok   {name}")
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("content-type"), json.loads(response.read())


def start_receiver():
    """A webhook endpoint on loopback: every POST (headers, body) goes to the queue."""
    received = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def start_gateway(binary, workdir, webhook_url, webhook_secret):
    hooks = f'[{{id = "interop", url = "{webhook_url}", secret = "{webhook_secret}"}}]'
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0"],
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
        env={"GDPR_GATEWAY_LOG": "info", "PATH": "/usr/bin:/bin", "GDPR_GATEWAY_WEBHOOKS": hooks},
    )
    for line in process.stderr:
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    sys.exit("gateway did not start")


def main():
    binary = str(Path(sys.argv[1]).resolve())
    receiver, received = start_receiver()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    with tempfile.TemporaryDirectory() as workdir:
        process, base = start_gateway(binary, workdir, url, secret)
        try:
            run_checks(binary, base, Path(workdir) / "gdpr-gateway-data")
            check_webhook(base, Path(workdir) / "gdpr-gateway-data", received, secret)
            # After the webhook check, whose first notice must be its own request's.
            check_live_receipt(base, Path(workdir) / "gdpr-gateway-data")
            check_audit_chain(base, Path(workdir) / "gdpr-gateway-data")
        finally:
            process.terminate()
            process.wait(timeout=10)
            receiver.shutdown()
    print(f"interop: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


def check_webhook(base, data_dir, received, secret):
    """A rights request filed through the portal reaches the endpoint signed per Standard
    Webhooks; the reference library verifies it, and refuses it once altered."""
    token = (data_dir / "demo-portal-token").read_text().strip()
    status, _, body = post(f"{base}/v1/subjects/alice/requests", json.dumps({"type": "access"}).encode(),
                           {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    check("a rights request is filed", status == 201, body[:200])
    number = json.loads(body)["number"] if status == 201 else None
    try:
        headers, payload = received.get(timeout=30)
    except queue.Empty:
        check("the webhook arrives", False, "nothing within 30 s")
        return
    verified = standardwebhooks.Webhook(secret).verify(payload, headers)
    check("standardwebhooks verifies the signature",
          verified["type"] == "request.acknowledged" and verified["data"]["number"] == number, verified)
    try:
        standardwebhooks.Webhook(secret).verify(payload.replace(b"access", b"erasur"), headers)
        check("standardwebhooks refuses an altered body", False)
    except standardwebhooks.WebhookVerificationError:
        check("standardwebhooks refuses an altered body", True)


def run_checks(binary, base, data_dir):
    content_type, jwks_doc = get_json(f"{base}/.well-known/jwks.json")
    check("jwks content type", content_type == "application/jwk-set+json", content_type)

    # jwcrypto: parse the set, recompute each kid, make sure nothing private is published.
    key_set = jwk.JWKSet.from_json(json.dumps(jwks_doc))
    for key in key_set:
        check("jwcrypto: kid is the RFC 7638 thumbprint", key.thumbprint() == key.get("kid"), key.get("kid"))
        check("jwcrypto: published key is public", not key.has_private)
        check("jwcrypto: Ed25519 OKP", key.get("kty") == "OKP" and key.get("crv") == "Ed25519")

    # PyJWT: load the same set.
    pyjwt_set = jwt.PyJWKSet.from_dict(jwks_doc)
    kids = [k.key_id for k in pyjwt_set.keys]
    check("pyjwt: loads every key", kids == [k["kid"] for k in jwks_doc["keys"]], kids)

    # The published key matches the private key on disk: sign with the file, verify with
    # the JWKS, in both libraries.
    active_kid = jwks_doc["keys"][0]["kid"]
    key_file = next((data_dir / "keys").glob(f"signing-*-{active_kid}.json"))
    private = jwk.JWK(**json.loads(key_file.read_text())["jwk"])
    token = jwt.encode({"sub": "interop"}, private.export_to_pem(private_key=True, password=None),
                       algorithm="EdDSA", headers={"kid": active_kid})
    claims = jwt.decode(token, pyjwt_set[active_kid].key, algorithms=["EdDSA"])
    check("pyjwt: signature from the key file verifies with the served JWKS", claims == {"sub": "interop"})
    verifier = jws.JWS()
    verifier.deserialize(token)
    verifier.verify(key_set.get_key(active_kid))
    check("jwcrypto: same signature verifies", json.loads(verifier.payload) == {"sub": "interop"})

    _, discovery = get_json(f"{base}/.well-known/gdpr-gateway")
    enc_keys = jwk.JWKSet.from_json(json.dumps(discovery["encryption_jwks"]))
    for key in enc_keys:
        check("jwcrypto: encryption kid is the thumbprint", key.thumbprint() == key.get("kid"))
        check("jwcrypto: X25519 OKP", key.get("crv") == "X25519" and not key.has_private)
    check("discovery names the JWKS", discovery["endpoints"]["jwks_uri"] == f"{base}/.well-known/jwks.json")

    check_bundles(binary, base, data_dir, jwks_doc, key_set, pyjwt_set, private)
    check_receipts(binary, base, active_kid, private)
    check_pairing_qr(base, (data_dir / "demo-portal-token").read_text().strip())

    spec = json.loads(subprocess.run([binary, "openapi"], check=True, capture_output=True, text=True).stdout)
    try:
        validate(spec)
        check("openapi-spec-validator: generated spec is valid", True)
    except Exception as error:  # noqa: BLE001 - report any validation failure
        check("openapi-spec-validator: generated spec is valid", False, str(error)[:500])
    committed = json.loads(Path(__file__).resolve().parents[2].joinpath("openapi/gateway.json").read_text())
    check("committed openapi/gateway.json equals the binary's", committed == spec)


def check_bundles(binary, base, data_dir, jwks_doc, key_set, pyjwt_set, private):
    token = (data_dir / "demo-portal-token").read_text().strip()
    status, headers, body = post(
        f"{base}/v1/subjects/alice/exports",
        json.dumps({"format": "jwt", "purpose": "access"}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check("portal export answers a JWT", status == 200 and headers["content-type"] == "application/jwt", status)
    bundle = body.decode()
    header = jwt.get_unverified_header(bundle)
    kid = jwks_doc["keys"][0]["kid"]
    check("bundle header is exactly alg, kid, typ", header == {"alg": "EdDSA", "kid": kid, "typ": "gdpr-bundle+jwt"}, header)

    claims = jwt.decode(bundle, pyjwt_set[header["kid"]].key, algorithms=["EdDSA"])
    categories = {c["id"]: len(c["records"]) for c in claims["bundle"]["categories"]}
    check("pyjwt: bundle verifies with only the JWKS", claims["sub"] == "alice" and categories["meter_readings"] == 5, categories)
    verifier = jws.JWS()
    verifier.deserialize(bundle)
    verifier.verify(key_set.get_key(header["kid"]), alg="EdDSA")
    check("jwcrypto: bundle verifies with only the JWKS", json.loads(verifier.payload)["iss"] == claims["iss"])
    tampered = bundle[:-10] + ("A" if bundle[-10] != "A" else "B") + bundle[-9:]
    try:
        jwt.decode(tampered, pyjwt_set[header["kid"]].key, algorithms=["EdDSA"])
        check("pyjwt: tampered bundle is refused", False)
    except jwt.InvalidSignatureError:
        check("pyjwt: tampered bundle is refused", True)

    # The other direction: jwcrypto signs, our verifier accepts.
    claims["jti"] = "signed-by-jwcrypto"
    foreign = jws.JWS(json.dumps(claims).encode())
    foreign.add_signature(private, alg="EdDSA", protected=json.dumps({"alg": "EdDSA", "kid": kid, "typ": "gdpr-bundle+jwt"}))
    foreign_token = foreign.serialize(compact=True)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "jwcrypto.jwt"
        path.write_text(foreign_token)
        result = subprocess.run([binary, "verify", str(path), "--jwks", f"{base}/.well-known/jwks.json", "--json"],
                                capture_output=True, text=True)
    report = json.loads(result.stdout or "{}")
    check("our verify command accepts a jwcrypto-signed bundle", result.returncode == 0 and report.get("bundle_id") == "signed-by-jwcrypto",
          result.stderr)
    status, _, body = post(f"{base}/v1/verify", foreign_token.encode(), {"Content-Type": "application/jwt"})
    check("POST /v1/verify accepts a jwcrypto-signed bundle", status == 200 and json.loads(body)["valid"] is True, body[:300])

    # The documented verifier snippets, against the real bundle and four hostile tokens.
    verifier_snippets.check_snippets(check, binary, bundle, jwks_doc, private, kid)
    verifier_snippets.check_trust_list(check, base, data_dir)

    # The zip package is a BagIt bag any BagIt tool validates.
    status, headers, body = post(
        f"{base}/v1/subjects/alice/exports",
        json.dumps({"format": "zip", "purpose": "access"}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check("portal export answers a zip", status == 200 and headers["content-type"] == "application/zip", status)
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(scratch) / "alice.zip"
        package.write_bytes(body)
        with zipfile.ZipFile(package) as archive:
            archive.extractall(Path(scratch) / "bag")
        bag = bagit.Bag(str(Path(scratch) / "bag"))
        try:
            bag.validate()
            check("bagit: unzipped package is a valid bag", bag.is_valid())
        except bagit.BagValidationError as error:
            check("bagit: unzipped package is a valid bag", False, str(error))
        (Path(scratch) / "bag" / "data" / "contact.json").write_text("{}")
        check("bagit: an edited file makes the bag invalid", not bagit.Bag(str(Path(scratch) / "bag")).is_valid())
        result = subprocess.run([binary, "verify", str(package), "--jwks", f"{base}/.well-known/jwks.json"],
                                capture_output=True, text=True)
        check("our verify command accepts the package", result.returncode == 0, result.stderr)


def verify_with_command(binary, base, token):
    """Our `verify --json` on `token` with the gateway's JWKS URL: (exit code, report)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "token.jwt"
        path.write_text(token)
        result = subprocess.run([binary, "verify", str(path), "--jwks", f"{base}/.well-known/jwks.json", "--json"],
                                capture_output=True, text=True)
    return result.returncode, json.loads(result.stdout or "{}")


def check_receipts(binary, base, kid, private):
    """A receipt our signer made (the committed vector, which a Rust test reproduces byte
    for byte with sign_receipt) verifies in PyJWT and jwcrypto with only its JWKS; a receipt
    jwcrypto signs with the gateway's key verifies in our command and POST /v1/verify."""
    vector = json.loads(Path(__file__).resolve().parents[2].joinpath("tests/vectors/receipt.json").read_text())
    receipt = vector["token"]
    header = jwt.get_unverified_header(receipt)
    check("receipt header is exactly alg, kid, typ",
          sorted(header) == ["alg", "kid", "typ"] and header["alg"] == "EdDSA"
          and header["typ"].lower().removeprefix("application/") == "gdpr-receipt+jwt", header)
    key = next(k for k in vector["jwks"]["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(receipt, jwt.PyJWK(key), algorithms=["EdDSA"], options={"verify_aud": False})
    check("pyjwt: receipt verifies with only the JWKS", claims == vector["claims"], claims)
    verifier = jws.JWS()
    verifier.deserialize(receipt)
    verifier.verify(jwk.JWK(**key), alg="EdDSA")
    check("jwcrypto: receipt verifies with only the JWKS", json.loads(verifier.payload) == vector["claims"])
    tampered = receipt[:-10] + ("A" if receipt[-10] != "A" else "B") + receipt[-9:]
    try:
        jwt.decode(tampered, jwt.PyJWK(key), algorithms=["EdDSA"], options={"verify_aud": False})
        check("pyjwt: tampered receipt is refused", False)
    except jwt.InvalidSignatureError:
        check("pyjwt: tampered receipt is refused", True)

    # The other direction: jwcrypto signs with the gateway's key, our verifiers accept.
    def sign(claims):
        signed = jws.JWS(json.dumps(claims).encode())
        signed.add_signature(private, alg="EdDSA",
                             protected=json.dumps({"alg": "EdDSA", "kid": kid, "typ": "gdpr-receipt+jwt"}))
        return signed.serialize(compact=True)

    # Signed now: the gateway's key was not in use at the vector's date, so a receipt dated
    # then is refused (key_not_in_use), as any signed before the key existed must be.
    ours = dict(vector["claims"], jti="signed-by-jwcrypto", iat=int(time.time()))
    token = sign(ours)
    code, report = verify_with_command(binary, base, token)
    check("our verify command accepts a jwcrypto-signed receipt",
          code == 0 and report.get("kind") == "receipt" and report.get("receipt") == ours["receipt"]
          and report.get("jti") == "signed-by-jwcrypto", report)
    status, _, body = post(f"{base}/v1/verify", token.encode(), {"Content-Type": "application/jwt"})
    check("POST /v1/verify answers as the command does", status == 200 and json.loads(body) == report, body[:300])
    still_open = sign(dict(ours, receipt=dict(ours["receipt"], state="open")))
    code, report = verify_with_command(binary, base, still_open)
    status, _, body = post(f"{base}/v1/verify", still_open.encode(), {"Content-Type": "application/jwt"})
    check("an open request's receipt is refused by both",
          code == 1 and report.get("error_code") == "invalid_claims" and status == 422
          and json.loads(body)["error_code"] == "invalid_claims", (report, body[:300]))


def check_live_receipt(base, data_dir):
    """An information request is answered at once; the receipt the running gateway signed
    for it, downloaded by the portal, verifies in PyJWT with only the served JWKS."""
    pyjwt_set = jwt.PyJWKSet.from_dict(get_json(f"{base}/.well-known/jwks.json")[1])
    token = (data_dir / "demo-portal-token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = post(f"{base}/v1/subjects/alice/requests", json.dumps({"type": "information"}).encode(),
                           dict(auth, **{"Content-Type": "application/json"}))
    filed = json.loads(body) if status == 201 else {}
    check("an information request is closed at once", filed.get("state") == "closed", body[:200])
    request = urllib.request.Request(f"{base}/v1/subjects/alice/requests/{filed.get('id')}/receipt", headers=auth)
    with urllib.request.urlopen(request, timeout=10) as response:
        content_type, receipt = response.headers["Content-Type"], response.read().decode()
    check("the receipt is application/jwt", content_type == "application/jwt", content_type)
    header = jwt.get_unverified_header(receipt)
    check("pyjwt: the served receipt's header", header == {"alg": "EdDSA", "kid": header.get("kid"),
                                                          "typ": "gdpr-receipt+jwt"}, header)
    claims = jwt.decode(receipt, pyjwt_set[header["kid"]].key, algorithms=["EdDSA"], options={"verify_aud": False})
    check("pyjwt: the served receipt verifies with only the JWKS",
          claims["jti"] == filed.get("id") and claims["receipt"]["request_number"] == filed.get("number")
          and claims["receipt"]["type"] == "information" and claims["receipt"]["state"] == "closed", claims)


def check_audit_chain(base, data_dir):
    """The audit trail the running gateway wrote, read as JSON Lines by an auditor: every
    hash recomputed here from docs/audit.md alone, every entry chained to the one before."""
    token = (data_dir / "demo-staff-auditor-token").read_text().strip()
    request = urllib.request.Request(f"{base}/v1/audit.jsonl", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        entries = [json.loads(line) for line in response.read().decode().splitlines()]
    check("the audit trail holds what the checks above did", len(entries) >= 5
          and entries[0]["action"] == "gateway.started", [e["action"] for e in entries])
    previous = "0" * 64
    for entry in entries:
        canonical = [entry["seq"], entry["at"], entry["actor"], entry["action"], entry["objects"],
                     entry["subject"], entry["detail"], entry["prev"]]
        digest = hashlib.sha256(json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        if digest != entry["hash"] or entry["prev"] != previous:
            check("every audit entry's hash, recomputed in Python, chains", False, entry)
            return
        previous = entry["hash"]
    check("every audit entry's hash, recomputed in Python, chains", True)
    check("the person is in the trail only as a keyed hash",
          all("alice" not in json.dumps(e) for e in entries), [e["subject"] for e in entries])


def check_pairing_qr(base, token):
    status, _, body = post(
        f"{base}/v1/pairings",
        json.dumps({"subject_ref": "alice"}).encode(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    check("portal creates a pairing", status == 201, status)
    pairing = json.loads(body)
    request = urllib.request.Request(pairing["qr_png_url"], headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        png = response.read()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "qr.png"
        path.write_bytes(png)
        found = zxingcpp.read_barcodes(Image.open(path).convert("L"))
    texts = [barcode.text for barcode in found]
    check("zxing-cpp: the QR PNG decodes to exactly connect_uri", texts == [pairing["connect_uri"]], texts)
    levels = [barcode.ec_level for barcode in found]
    check("zxing-cpp: error correction level Q", levels == ["Q"], levels)


if __name__ == "__main__":
    main()
