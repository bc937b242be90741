"""Verify a gdpr-gateway bundle (compact JWS) with PyJWT, as docs/bundle-format.md asks.

    python3 verify_pyjwt.py BUNDLE.jwt JWKS.json ISSUER     # exit 0 valid, 1 refused
"""
import base64
import json
import sys

import jwt  # PyJWT[crypto] >= 2.8

FORBIDDEN_HEADER = {"crit", "b64", "jku", "x5u", "x5c", "jwk", "zip"}


def no_duplicates(pairs):
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("a member name appears twice")
    return dict(pairs)


def verify_bundle(token, jwks, issuer):
    """The bundle's claims, or ValueError / jwt.PyJWTError when it is not a valid bundle."""
    part = token.split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)), object_pairs_hook=no_duplicates)
    if str(header.get("typ", "")).lower().removeprefix("application/") != "gdpr-bundle+jwt":
        raise ValueError("not a gdpr-bundle+jwt")
    if FORBIDDEN_HEADER & set(header):
        raise ValueError("the header names keys or processing of its own")  # keys come only from jwks
    entry = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if entry is None:
        raise ValueError("unknown kid")
    payload = jwt.api_jws.decode_complete(token, jwt.PyJWK(entry).key, algorithms=["EdDSA"])["payload"]
    claims = json.loads(payload, object_pairs_hook=no_duplicates)
    if claims.get("iss") != issuer:
        raise ValueError("issued by someone else")
    if not all(name in claims for name in ("sub", "iat", "jti", "bundle")) or claims["bundle"].get("version") != 1:
        raise ValueError("not a v1 bundle")
    if not entry.get("nbf", claims["iat"]) <= claims["iat"] <= entry.get("exp", claims["iat"]):
        raise ValueError("signed outside the key's period of use")
    return claims


if __name__ == "__main__":
    token = open(sys.argv[1]).read().strip()
    try:
        claims = verify_bundle(token, json.load(open(sys.argv[2])), sys.argv[3])
    except (ValueError, jwt.PyJWTError) as error:
        sys.exit(f"refused: {error}")
    print(claims["iss"], claims["sub"], [c["id"] for c in claims["bundle"]["categories"]])
