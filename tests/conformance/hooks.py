"""Schemathesis hooks for the conformance job (loaded through SCHEMATHESIS_HOOKS by run.py).

Credentials are set per case by one auth provider, so Schemathesis knows them and its
`ignored_auth` check can still remove or spoil them:
- portal operations get the demo portal token, staff operations the demo admin's token
  (with a `request_id` of the valid form pointed at a request filed before the run);
- relay operations get a DPoP proof (docs/protocol.md §4) for the exact method and URL,
  signed by whoever may call them: the controller (the demo gateway's own signing key)
  for connect-tokens and the inbox, a fresh wallet key for opening connections, and the
  wallet of a real connection for everything under /v1/connections/{cid}.

A generated `connection_id` of the valid form is replaced by a real connection's, so the
operations run past ownership; an invalid one is left for the server to refuse. Positive
bodies that the server could only accept with real keys or tokens get them: a fresh X25519
key, a live connect token, a signed and sealed message. Long-poll waits are capped at 1 s
to bound the run. Everything else Schemathesis generates goes through as generated."""

import json
import os
import re
import time

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from schemathesis.core.parameters import ParameterLocation

from relay_client import call, dpop_proof, encryption_jwk, seal, signed_message, unb64

STATE = json.loads(open(os.environ["CONFORMANCE_STATE"]).read())
BASE = STATE["base"]
CONTROLLER_KEY = Ed25519PrivateKey.from_private_bytes(unb64(STATE["controller_key"]))
CONNECTIONS = {
    name: {"id": c["id"], "key": Ed25519PrivateKey.from_private_bytes(unb64(c["key"]))}
    for name, c in STATE["connections"].items()
}
# Which real connection an operation's {connection_id} names: revoking gets its own, and
# the event stream one already revoked (an open stream would last its full 300 s).
CONNECTION_FOR = {"revoke_relay_connection": "to_revoke", "stream_messages": "revoked"}
CONTROLLER_OPERATIONS = {"register_connect_token", "poll_inbox"}
FRESH_WALLET_OPERATIONS = {"redeem_connect_token", "open_connection"}
RELAY_ID = re.compile(r"^[0-9a-f]{32}$")
# A subject reference of the valid form (docs/protocol.md).
REFERENCE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
RECEIPT_OPERATIONS = {"get_receipt", "get_subject_receipt"}
MAX_WAIT_SECS = 1


@schemathesis.serializer("application/jose")
def compact_jose(ctx, value):
    """Envelopes are compact JWE text (docs/protocol.md §5.6)."""
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def document_bytes(ctx, value):
    """A written request's document is its bytes as they are (docs/requests.md)."""
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode()


for media_type in ("application/pdf", "image/png", "image/jpeg", "image/tiff", "message/rfc822", "text/plain"):
    schemathesis.serializer(media_type)(document_bytes)


@schemathesis.deserializer("application/jwt")
def compact_jws(ctx, response):
    """The trust list is a compact JWS: the schema describes it as a string."""
    return response.content.decode()


def operation_id(case) -> str:
    return case.operation.definition.raw.get("operationId", "")


def schemes(case) -> set:
    return {name for requirement in case.operation.definition.raw.get("security", []) for name in requirement}


def positive(case, location) -> bool:
    return case.meta is None or not case.meta.is_negative_at(location)


@schemathesis.auth()
class Credentials:
    """Sets the portal token or a DPoP proof, after pointing the path at a real connection
    (the proof signs the URL, so the path must be final first)."""

    def get(self, case, context):
        return STATE["portal_token"] if schemes(case) else None

    def set(self, case, portal_token, context):
        if case.headers is None:
            case.headers = {}
        params = case.path_parameters or {}
        # A receipt exists once a request ended: its routes read the closed one.
        request = STATE["closed_request_id"] if operation_id(case) in RECEIPT_OPERATIONS else STATE["request_id"]
        if "portal_token" in schemes(case):
            case.headers["Authorization"] = f"Bearer {portal_token}"
            if operation_id(case) in RECEIPT_OPERATIONS and RELAY_ID.match(str(params.get("request_id", ""))):
                params["request_id"] = request
                if REFERENCE.match(str(params.get("subject_ref", ""))):
                    params["subject_ref"] = "conformance"
            return
        if "staff_token" in schemes(case):
            case.headers["Authorization"] = f"Bearer {STATE['staff_token']}"
            if RELAY_ID.match(str(params.get("request_id", ""))):
                params["request_id"] = request
            return
        op = operation_id(case)
        if op in CONTROLLER_OPERATIONS:
            signer = CONTROLLER_KEY
        elif op in FRESH_WALLET_OPERATIONS:
            signer = Ed25519PrivateKey.generate()
        else:
            connection = CONNECTIONS[CONNECTION_FOR.get(op, "main")]
            params = case.path_parameters or {}
            if RELAY_ID.match(str(params.get("connection_id", ""))):
                params["connection_id"] = connection["id"]
                for name in ("blob_id", "message_id"):
                    if RELAY_ID.match(str(params.get(name, ""))):
                        params[name] = STATE[name]
            signer = connection["key"]
        case.headers["DPoP"] = dpop_proof(signer, case.method, BASE + case.formatted_path)


@schemathesis.hook
def map_query(context, query):
    """Long polls wait at most a second, whatever else the query holds (also in cases a
    check derives from this one without calling the hooks again)."""
    if isinstance(query, dict):
        cap_wait(query)
    return query


def cap_wait(query: dict):
    """A wait of the valid form (0 to 30, as a number or as text) becomes at most 1 s."""
    wait = query.get("wait")
    if isinstance(wait, int) and not isinstance(wait, bool) and 0 <= wait <= 30:
        query["wait"] = min(wait, MAX_WAIT_SECS)
    elif isinstance(wait, str) and wait.isascii() and wait.isdigit() and int(wait) <= 30:
        query["wait"] = str(min(int(wait), MAX_WAIT_SECS))


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Gives positive bodies what only real keys and tokens can make valid, and bounds
    long polls."""
    op = operation_id(case)
    if isinstance(case.query, dict):
        cap_wait(case.query)
    if not positive(case, ParameterLocation.BODY) or case.body is None:
        return
    if op == "register_connect_token" and isinstance(case.body, dict):
        # The window (now, now + 1 day] depends on the clock, which a schema cannot say.
        case.body["expires_at"] = int(time.time()) + 600
    elif op in FRESH_WALLET_OPERATIONS and isinstance(case.body, dict):
        case.body["encryption_jwk"] = encryption_jwk(X25519PrivateKey.generate())
        if op == "open_connection":
            case.body["controller_id"] = STATE["controller_id"]
        else:
            status, pairing = call("POST", BASE + "/v1/pairings", bearer=STATE["portal_token"],
                                   body={"subject_ref": "conformance"})
            if status == 201:
                case.body["token"] = pairing["connect_uri"].rsplit("/c/", 1)[1].split("?", 1)[0]
    elif op == "post_message":
        cid = (case.path_parameters or {}).get("connection_id")
        connection = next((c for c in CONNECTIONS.values() if c["id"] == cid), None)
        if connection is not None:
            message = signed_message(connection["key"], cid, "catalogue.request", {"request_id": "conformance"})
            case.body = seal(STATE["controller_encryption_jwk"], message)


# Failures that are Schemathesis misreading the contract, each with its reason.
EXPECTED_FAILURES = {
    # It takes `application/jwt` (RFC 7519) for JSON; the trust list is a compact JWS,
    # declared as a string.
    ("get_trust_list", "JSON deserialization error"),
    # Likewise for a request's receipt, a compact JWS (docs/receipt-format.md).
    ("get_receipt", "JSON deserialization error"),
    ("get_subject_receipt", "JSON deserialization error"),
    # And for a bundle the portal downloads (docs/bundle-format.md).
    ("create_export", "JSON deserialization error"),
    # Its inferred links from an upload or a post to reading or acknowledging it: a blob or
    # message is stored for the other side of the connection, and the sender is answered
    # 404 by design (docs/protocol.md §§ 5.10, 5.12).
    ("download_blob", "Created resource not found"),
    # A written request has a document only once it is archived (PUT), and a request has a
    # receipt only once it ends: reading either right after filing is 404 by design
    # (docs/requests.md).
    ("get_document", "Created resource not found"),
    ("get_receipt", "Created resource not found"),
    ("get_subject_receipt", "Created resource not found"),
    ("ack_message", "Created resource not found"),
}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return (operation_id(case), failure.title) not in EXPECTED_FAILURES
