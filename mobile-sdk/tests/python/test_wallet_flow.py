"""The whole wallet flow through the generated Python binding, against real gateways
(`gdpr-gateway demo --serve`: two organisations and a relay): a key store written in
Python, pairing with the code typed into the portal API, the catalogue, a bundle
downloaded through the relay and checked with PyJWT (an independent JOSE library), a
rights request filed and acknowledged, its extension by staff told to the wallet, a
rectification of the address built from the downloaded bundle, taken through by staff,
carried out by the gateway at the source, its signed receipt verified in the wallet and
acknowledged to the register, the correction seen in a fresh bundle (its digest recomputed
here), a tampered bundle refused, the bundle forwarded to the
second organisation and found in its import register, an unknown organisation refused,
revocation.

Usage: python3 test_wallet_flow.py <python bindings dir> <path to gdpr-gateway>
"""

import asyncio
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import jwt

WAIT_SECONDS = datetime.timedelta(seconds=20)
BINARY = None
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


def start_framework(binary, workdir):
    """Starts the relay and both organisations; returns them as the demo describes them."""
    process = subprocess.Popen([binary, "demo", "--serve"], cwd=workdir, stdout=subprocess.PIPE, text=True,
                               env={"PATH": "/usr/bin:/bin"})
    line = process.stdout.readline()
    if not line.startswith("{"):
        process.kill()
        sys.exit(f"the demo framework did not start: {line!r}")
    return process, json.loads(line)


async def flow(wallet_module, framework):
    holder, receiver = framework["organisations"]
    base, token = holder["url"], holder["portal_token"]
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
    created = wallet.connections()[0].created_at
    check("times arrive as datetimes", isinstance(created, datetime.datetime)
          and abs(created.timestamp() - datetime.datetime.now().timestamp()) < 600, created)

    catalogue = await wallet.catalogue(pending.connection_id, WAIT_SECONDS)
    check("the catalogue names the organisation's categories and why",
          catalogue.controller_id == holder["id"] and any(
              c.id == "medical_priority" and c.special_category and "consent" in c.legal_basis
              for c in catalogue.categories), catalogue)

    await rights_request(wallet_module, wallet, pending.connection_id, holder, catalogue)

    bundle = await wallet.request_export(pending.connection_id, wallet_module.ExportPurpose.ACCESS, None, WAIT_SECONDS)
    check("the bundle comes from the organisation", bundle.issuer == pending.controller_id, bundle.issuer)
    jwks = json.loads(urllib.request.urlopen(f"{base}/.well-known/jwks.json", timeout=10).read())
    keys = jwt.PyJWKSet.from_dict(jwks)
    kid = jwt.get_unverified_header(bundle.token)["kid"]
    claims = jwt.decode(bundle.token, keys[kid].key, algorithms=["EdDSA"])
    check("pyjwt verifies the bundle with the published JWKS", claims["sub"] == "alice" and claims["jti"] == bundle.bundle_id)
    check("every category came", sorted(c["id"] for c in claims["bundle"]["categories"]) == sorted(bundle.categories))

    await rectification(wallet_module, wallet, pending.connection_id, holder, claims)

    package_path = str(Path(tempfile.mkdtemp()) / "alice.zip")
    package = await wallet.download_package(pending.connection_id, wallet_module.ExportPurpose.PORTABILITY, None,
                                            package_path, WAIT_SECONDS)
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
    check("the zip package lands in the file, verified", package.subject == "alice" and "signature.jwt" in names
          and "bagit.txt" in names, names)
    verified = subprocess.run([BINARY, "verify", package.path, "--jwks", f"{base}/.well-known/jwks.json"],
                              capture_output=True, text=True)
    check("the gateway's own verifier accepts the package", verified.returncode == 0, verified.stderr)

    tampered = bundle.token[:-4] + ("AAAA" if not bundle.token.endswith("AAAA") else "BBBB")
    try:
        wallet.verify(pending.connection_id, tampered)
        check("a tampered bundle is refused", False)
    except wallet_module.WalletError as error:
        check("a tampered bundle is refused", isinstance(error, wallet_module.WalletError.BadBundle)
              and error.error_code() == "bad_bundle", repr(error))

    try:
        await wallet.forward(tampered, receiver["id"], WAIT_SECONDS)
        check("a tampered bundle is not forwarded", False)
    except wallet_module.WalletError.BadBundle as error:
        check("a tampered bundle is not forwarded", error.error_code() == "bad_bundle", repr(error))
    try:
        await wallet.forward(bundle.token, "https://nobody.example", WAIT_SECONDS)
        check("an organisation outside the trust list is refused", False)
    except wallet_module.WalletError.UnknownController as error:
        check("an organisation outside the trust list is refused", error.controller_id == "https://nobody.example",
              repr(error))
    receipt = await wallet.forward(bundle.token, receiver["id"], WAIT_SECONDS)
    check("the second organisation acknowledges the import", receipt.controller_id == receiver["id"], receipt)
    imports = portal(receiver["url"], receiver["portal_token"], "GET", "/v1/imports")["imports"]
    check("its portal lists the import", [i["import_id"] for i in imports] == [receipt.import_id], imports)
    stored = portal(receiver["url"], receiver["portal_token"], "GET", f"/v1/imports/{receipt.import_id}")
    check("the import is the bundle byte for byte", stored["bundle"] == bundle.token)

    events = await wallet.events()
    check("nothing the relay delivered was refused", all(e.kind != wallet_module.EventKind.REFUSED for e in events),
          events)

    await breach_notice(wallet_module, wallet, holder, keys)

    await wallet.revoke(pending.connection_id)
    try:
        await wallet.request_export(pending.connection_id, wallet_module.ExportPurpose.ACCESS, None, WAIT_SECONDS)
        check("a revoked connection can do nothing", False)
    except wallet_module.WalletError.Revoked as error:
        check("a revoked connection can do nothing", error.error_code() == "revoked", repr(error))
    for _ in range(100):
        listed = portal(base, token, "GET", "/v1/subjects/alice/connections")
        if listed["connections"][0]["state"] == "revoked":
            break
        await asyncio.sleep(0.05)
    check("the organisation learns of the revocation", listed["connections"][0]["state"] == "revoked", listed)


async def rights_request(wallet_module, wallet, connection_id, holder, catalogue):
    """A request filed from the wallet, acknowledged at once, and its extension told."""
    base, token = holder["url"], holder["portal_token"]
    form = wallet_module.RequestForm(kind=wallet_module.RequestKind.ERASURE, categories=["contact"],
                                     details="please erase my contact details", proposed_json=None)
    filed = await wallet.submit_request(connection_id, form, WAIT_SECONDS)
    check("a rights request is acknowledged with its number, due date and contact",
          re.fullmatch(r"\d{4}-\d{6}", filed.number) is not None
          and filed.update == wallet_module.RequestUpdate.ACKNOWLEDGED
          and filed.state == wallet_module.RequestState.OPEN
          and filed.contact == catalogue.dpo_contact and re.fullmatch(r"\d{4}-\d{2}-\d{2}", filed.due_on), filed)
    listed = portal(base, token, "GET", "/v1/subjects/alice/requests")["requests"]
    check("the portal lists it, filed from the wallet", [(r["number"], r["channel"]) for r in listed]
          == [(filed.number, "wallet")], listed)
    unknown = wallet_module.RequestForm(kind=wallet_module.RequestKind.ACCESS, categories=["nope"], details=None,
                                        proposed_json=None)
    try:
        await wallet.submit_request(connection_id, unknown, WAIT_SECONDS)
        check("a request for an unknown category is refused", False)
    except wallet_module.WalletError.Refused as error:
        check("a request for an unknown category is refused", error.code == "category_not_found"
              and error.error_code() == "category_not_found", repr(error))

    handler = holder["staff_tokens"]["handler"]
    portal(base, handler, "POST", f"/v1/requests/{listed[0]['id']}/extension",
           {"months": 2, "reason": "three archives to search"})
    told = []
    for _ in range(100):
        told += [e for e in await wallet.events() if e.kind == wallet_module.EventKind.REQUEST]
        if told:
            break
        await asyncio.sleep(0.05)
    tracked = wallet.requests()
    check("the extension reaches the wallet with its reason",
          len(told) == 1 and [(r.number, r.update, r.detail) for r in tracked]
          == [(filed.number, wallet_module.RequestUpdate.EXTENDED, "three archives to search")]
          and tracked[0].due_on > filed.due_on, (told, tracked))


async def rectification(wallet_module, wallet, connection_id, holder, claims):
    """Alice corrects her address from the bundle; staff take it through, the gateway carries
    it out at the source, and the wallet verifies and acknowledges the signed receipt."""
    base = holder["url"]
    handler, approver = holder["staff_tokens"]["handler"], holder["staff_tokens"]["approver"]
    record = next(c for c in claims["bundle"]["categories"] if c["id"] == "contact")["records"][0]
    changes = json.dumps({"address.street": "Kerkstraat 2"})
    form = wallet_module.rectification_form("contact", json.dumps(record), "id", changes)
    check("the rectification names the record by its id and the corrected field",
          form.kind == wallet_module.RequestKind.RECTIFICATION and json.loads(form.proposed_json)
          == {"contact": {"id": record["id"], "address.street": "Kerkstraat 2"}}, form)
    try:
        wallet_module.rectification_form("contact", json.dumps(record), "id", json.dumps({"id": "C-2"}))
        check("a rectification of the record's id is refused in the wallet", False)
    except wallet_module.WalletError.InvalidInput as error:
        check("a rectification of the record's id is refused in the wallet", "never changes" in error.detail,
              repr(error))
    filed = await wallet.submit_request(connection_id, form, WAIT_SECONDS)
    check("the rectification is acknowledged, with no receipt yet",
          filed.update == wallet_module.RequestUpdate.ACKNOWLEDGED and filed.receipt is None
          and not filed.receipt_verified and filed.outcomes == [], filed)

    request_id = next(r["id"] for r in portal(base, handler, "GET", "/v1/requests")["requests"]
                      if r["number"] == filed.number)
    path = f"/v1/requests/{request_id}"

    def step(token, name, body):
        return portal(base, token, "POST", f"{path}/{name}", body)

    step(handler, "advance", {})
    for criterion in ("scope_determined", "legal_holds_checked"):
        step(handler, "criteria", {"criterion": criterion, "note": f"checked {criterion}"})
    step(handler, "advance", {})
    step(approver, "advance", {})
    # In execution the gateway corrects the record at its source by itself.
    for _ in range(200):
        detail = portal(base, handler, "GET", path)
        if any(c["id"] == "carried_out" and c["met"] for c in detail["workflow"]["criteria"]):
            break
        await asyncio.sleep(0.05)
    check("the gateway corrects the address at the source",
          [(o["category"], o["operation"], o["status"]) for o in detail["operations"]]
          == [("contact", "rectify", "done")], detail["operations"])
    step(handler, "advance", {"note": "your address is corrected"})

    unexpected, acknowledged = [], []
    for _ in range(100):
        unexpected += [e for e in await wallet.events() if e.kind == wallet_module.EventKind.UNEXPECTED]
        acknowledged = [h for h in portal(base, handler, "GET", path)["history"]
                        if h["action"] == "receipt acknowledged"]
        if acknowledged:
            break
        await asyncio.sleep(0.05)
    closed = next(r for r in wallet.requests() if r.number == filed.number)
    check("the wallet receives the closing status with the signed receipt",
          closed.state == wallet_module.RequestState.CLOSED and closed.receipt is not None
          and jwt.get_unverified_header(closed.receipt)["typ"] == "gdpr-receipt+jwt", closed)
    check("the receipt verifies in the wallet, nothing unexpected",
          closed.receipt_verified and closed.receipt_problem is None and unexpected == [], (closed, unexpected))
    outcomes = [(o.category, o.operation, o.result, len(o.record_digests)) for o in closed.outcomes]
    check("the receipt says the contact record was corrected, with its digest",
          outcomes == [("contact", "rectify", "done", 1)], closed.outcomes)
    check("the wallet acknowledged the receipt once, as the connection",
          closed.receipt_acknowledged and [h["actor"] for h in acknowledged] == [f"connection:{connection_id}"],
          (closed, acknowledged))
    receipt_claims = jwt.decode(closed.receipt, options={"verify_signature": False})
    check("the receipt is the request's", receipt_claims["jti"] == request_id
          and receipt_claims["receipt"]["request_number"] == filed.number, receipt_claims)

    proof = await wallet.confirm_correction(connection_id, filed.number, WAIT_SECONDS)
    check("a fresh bundle shows the corrected record the receipt names",
          proof.confirmed and [(r.category, r.shown) for r in proof.records] == [("contact", True)], proof)
    # The digest recomputed here, from the spec in docs/receipt-format.md, not by the SDK.
    fresh = jwt.decode(proof.bundle.token, options={"verify_signature": False})
    records = [r for c in fresh["bundle"]["categories"] if c["id"] == "contact" for r in c["records"]]
    digests = ["sha256:" + hashlib.sha256(json.dumps(r, sort_keys=True, separators=(",", ":"),
                                                     ensure_ascii=False).encode()).hexdigest() for r in records]
    check("Python's own digest of the fresh record is the receipt's",
          closed.outcomes[0].record_digests[0] in digests
          and records[0]["address"]["street"] == "Kerkstraat 2", (digests, closed.outcomes))

async def breach_notice(wallet_module, wallet, holder, keys):
    """Staff record a breach, the procedure says to tell the people, an approver does: the
    wallet shows the signed notice, and PyJWT verifies it with the published keys."""
    base = holder["url"]
    handler, approver = holder["staff_tokens"]["handler"], holder["staff_tokens"]["approver"]
    breach = portal(base, handler, "POST", "/v1/breaches", {
        "nature": "A box of printed invoices was lost in the post", "categories": ["contact", "payments"],
        "likely_consequences": "Someone may know your address and what you owe.",
        "measures": "We asked the post to trace the box; letters now go in sealed bags.",
        "answers": {"personal_data": True, "role": "controller", "damaged": False, "lost": True,
                    "sensitive_data": True, "high_risk_to_people": True}})
    check("the procedure calls for telling the people", breach["outcome"] == "notify_authority_and_people", breach)
    told = portal(base, approver, "POST", f"/v1/breaches/{breach['id']}/people-notification",
                  {"version": breach["version"], "subject_refs": ["alice"]})
    check("alice's wallet is told", told == {"people": 1, "wallets": 1, "without_wallet": [],
                                             "version": breach["version"] + 1}, told)
    events = []
    for _ in range(100):
        events += [e for e in await wallet.events() if e.kind == wallet_module.EventKind.BREACH]
        if events:
            break
        await asyncio.sleep(0.05)
    notices = wallet.breach_notices()
    check("the wallet shows the breach notice", len(events) == 1 and [n.breach_id for n in notices] == [breach["id"]]
          and notices[0].categories == ["Contact details", "Invoices and payments"]
          and notices[0].measures.startswith("We asked the post"), (events, notices))
    header = jwt.get_unverified_header(notices[0].token)
    claims = jwt.decode(notices[0].token, keys[header["kid"]].key, algorithms=["EdDSA"])
    check("pyjwt verifies the notice", header["typ"] == "gdpr-breach-notice+jwt" and claims["sub"] == "alice"
          and claims["breach"]["nature"] == breach["facts"]["nature"], claims)


def main():
    global BINARY
    bindings, binary = sys.argv[1], str(Path(sys.argv[2]).resolve())
    BINARY = binary
    sys.path.insert(0, bindings)
    import gdpr_wallet

    with tempfile.TemporaryDirectory() as workdir:
        process, framework = start_framework(binary, workdir)
        try:
            asyncio.run(flow(gdpr_wallet, framework))
        finally:
            process.terminate()
            process.wait(timeout=10)
    print(f"python binding: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
