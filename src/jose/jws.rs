//! Compact JWS with EdDSA (RFC 7515, RFC 8037), signed with ed25519-dalek and verified
//! with `verify_strict`. The verifier is deliberately narrow: one algorithm, compact
//! serialization only, pinned keys, no header member that could fetch, embed or
//! reinterpret a key or the payload.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::{Map, Value};

use super::b64;
use super::jwk::{Curve, Jwks};
use super::keypair::SigningKeyPair;
use super::strict_json::{self, StrictJsonError};

/// The only algorithm we sign with or accept.
pub const ALG: &str = "EdDSA";
/// Header members a verifier must refuse: each would let the token choose how it is
/// verified (`jku`, `x5u`, `x5c`, `jwk`), change what is signed (`b64`, `zip`), or demand
/// semantics we do not implement (`crit`).
pub const FORBIDDEN_HEADER_MEMBERS: &[&str] = &["crit", "b64", "jku", "x5u", "x5c", "jwk", "zip"];
/// Longest encoded protected header accepted.
pub const MAX_HEADER_B64_LEN: usize = 1024;

/// Why a JWS was refused. Each variant is a stable reason callers map to an error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    #[error("the JWS is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("malformed JWS: {0}")]
    Malformed(String),
    #[error("duplicate member {0:?} in the JWS header or payload")]
    DuplicateMember(String),
    #[error("header member {0:?} is not allowed")]
    ForbiddenHeader(String),
    #[error("algorithm {0:?} is not allowed; only EdDSA is")]
    AlgNotAllowed(String),
    #[error("the header has no \"typ\"")]
    MissingTyp,
    #[error("\"typ\" is {found:?}, expected {expected:?}")]
    WrongTyp { expected: String, found: String },
    #[error("the header has no \"kid\"")]
    MissingKid,
    #[error("no trusted Ed25519 key has kid {0:?}")]
    UnknownKid(String),
    #[error("the signature does not verify")]
    SignatureInvalid,
}

impl From<StrictJsonError> for JwsError {
    fn from(e: StrictJsonError) -> Self {
        match e {
            StrictJsonError::DuplicateMember(name) => Self::DuplicateMember(name),
            StrictJsonError::Invalid(m) => Self::Malformed(m),
        }
    }
}

/// The protected header we write: exactly these members, in this order.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// Signs `payload` with header `{"alg":"EdDSA","kid":<kid>,"typ":<typ>}`.
pub fn sign(key: &SigningKeyPair, typ: &str, payload: &[u8]) -> String {
    let header = Header { alg: ALG, kid: key.kid(), typ };
    // Serializing three string fields cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    sign_with_header(key.signing_key(), &header, payload)
}

/// Signs with an exact protected header, byte for byte; outside the crate only through
/// `jose::danger`, since it signs whatever header it is given.
pub(crate) fn sign_with_header(key: &SigningKey, header_json: &[u8], payload: &[u8]) -> String {
    let mut out = String::with_capacity((header_json.len() + payload.len()) * 4 / 3 + 100);
    out.push_str(&b64::encode(header_json));
    out.push('.');
    out.push_str(&b64::encode(payload));
    let signature = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64::encode(signature.to_bytes()));
    out
}

/// What a caller pins before verifying.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Required `typ` (compared case-insensitively, with or without `application/`).
    pub typ: &'a str,
    /// Largest compact JWS accepted, checked before any decoding.
    pub max_bytes: usize,
}

/// A JWS whose signature verified under a pinned key.
#[derive(Debug, Clone)]
pub struct Verified {
    pub kid: String,
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
}

/// Verifies a compact JWS against `keys` under `policy`.
pub fn verify(token: &[u8], keys: &Jwks, policy: Policy<'_>) -> Result<Verified, JwsError> {
    if token.len() > policy.max_bytes {
        return Err(JwsError::TooLarge { limit: policy.max_bytes });
    }
    let token = std::str::from_utf8(token).map_err(|_| JwsError::Malformed("not ASCII".into()))?;
    let token = token.strip_suffix('\n').unwrap_or(token);
    if token.starts_with('{') {
        return Err(JwsError::Malformed("only the compact serialization is accepted".into()));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("a compact JWS has exactly three parts".into()));
    };
    if header_b64.len() > MAX_HEADER_B64_LEN {
        return Err(JwsError::Malformed(format!("the header is longer than {MAX_HEADER_B64_LEN} characters")));
    }
    let header_json = decode_part(header_b64, "header")?;
    let header = strict_json::parse_object(&header_json)?;
    check_header(&header, policy.typ)?;
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => kid.clone(),
        Some(_) => return Err(JwsError::Malformed("\"kid\" must be a string".into())),
        None => return Err(JwsError::MissingKid),
    };
    let key = trusted_key(keys, &kid)?;
    let signature = b64::decode_array::<64>(signature_b64)
        .ok_or_else(|| JwsError::Malformed("the signature is not 64 bytes of unpadded base64url".into()))?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    verify_ed25519(&key, signing_input.as_bytes(), &signature)?;
    let payload = decode_part(payload_b64, "payload")?;
    Ok(Verified { kid, header, payload })
}

/// Ed25519 under our policy: `verify_strict` (RFC 8032 with canonical encodings and no
/// small-order keys or R). The one signature check behind every verification, so the
/// Wycheproof and CCTV vectors test exactly what bundles rely on.
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
    let key = <[u8; 32]>::try_from(public_key).map_err(|_| JwsError::SignatureInvalid)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| JwsError::SignatureInvalid)?;
    let signature = <[u8; 64]>::try_from(signature).map_err(|_| JwsError::SignatureInvalid)?;
    key.verify_strict(message, &Signature::from_bytes(&signature)).map_err(|_| JwsError::SignatureInvalid)
}

fn decode_part(text: &str, what: &str) -> Result<Vec<u8>, JwsError> {
    b64::decode(text).map_err(|_| JwsError::Malformed(format!("the {what} is not unpadded base64url")))
}

fn check_header(header: &Map<String, Value>, typ: &str) -> Result<(), JwsError> {
    if let Some(name) = FORBIDDEN_HEADER_MEMBERS.iter().find(|m| header.contains_key(**m)) {
        return Err(JwsError::ForbiddenHeader((*name).to_owned()));
    }
    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG => {}
        Some(Value::String(alg)) => return Err(JwsError::AlgNotAllowed(alg.clone())),
        Some(other) => return Err(JwsError::AlgNotAllowed(other.to_string())),
        None => return Err(JwsError::AlgNotAllowed(String::new())),
    }
    match header.get("typ") {
        None => Err(JwsError::MissingTyp),
        Some(Value::String(found)) if same_typ(found, typ) => Ok(()),
        Some(found) => Err(JwsError::WrongTyp {
            expected: typ.to_owned(),
            found: found.as_str().map_or_else(|| found.to_string(), str::to_owned),
        }),
    }
}

/// RFC 7515 §4.1.9: `typ` is a media type, case-insensitive, `application/` optional.
fn same_typ(found: &str, expected: &str) -> bool {
    let strip = |t: &str| {
        let lower = t.to_ascii_lowercase();
        lower.strip_prefix("application/").map(str::to_owned).unwrap_or(lower)
    };
    strip(found) == strip(expected)
}

/// The raw public key of the trusted Ed25519 key named `kid`.
fn trusted_key(keys: &Jwks, kid: &str) -> Result<[u8; 32], JwsError> {
    keys.keys
        .iter()
        .find(|k| k.kid == kid && k.crv == Curve::Ed25519 && k.kty == "OKP")
        .and_then(|jwk| b64::decode_array::<32>(&jwk.x))
        .ok_or_else(|| JwsError::UnknownKid(kid.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{OkpPublicJwk, PrivateOkpJwk};

    const POLICY: Policy<'static> = Policy { typ: "gdpr-bundle+jwt", max_bytes: 1 << 20 };

    fn pair() -> SigningKeyPair {
        SigningKeyPair::generate()
    }

    fn jwks(pair: &SigningKeyPair) -> Jwks {
        Jwks { keys: vec![pair.public_jwk().clone()] }
    }

    /// Signs an arbitrary header with `pair`, for header-rule tests.
    fn with_header(pair: &SigningKeyPair, header: &str) -> String {
        sign_with_header(pair.signing_key(), header.as_bytes(), b"{}")
    }

    #[test]
    fn rfc8037_a4_is_reproduced_byte_for_byte() {
        let jwk = PrivateOkpJwk {
            kty: "OKP".into(),
            crv: Curve::Ed25519,
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into(),
        };
        let pair = SigningKeyPair::from_jwk(&jwk).unwrap();
        let jws = sign_with_header(pair.signing_key(), br#"{"alg":"EdDSA"}"#, b"Example of Ed25519 signing");
        assert_eq!(
            jws,
            "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
        // Our verifier rejects it only for the missing typ and kid, which it requires.
        assert_eq!(verify(jws.as_bytes(), &jwks(&pair), POLICY).unwrap_err(), JwsError::MissingTyp);
    }

    #[test]
    fn signs_with_the_exact_header_and_verifies() {
        let pair = pair();
        let jws = sign(&pair, "gdpr-bundle+jwt", br#"{"a":1}"#);
        let header = b64::decode(jws.split('.').next().unwrap()).unwrap();
        assert_eq!(header, format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"gdpr-bundle+jwt"}}"#, pair.kid()).into_bytes());
        let verified = verify(jws.as_bytes(), &jwks(&pair), POLICY).unwrap();
        assert_eq!((verified.kid.as_str(), verified.payload.as_slice()), (pair.kid(), &br#"{"a":1}"#[..]));
        let loose = Policy { typ: "application/GDPR-Bundle+JWT", ..POLICY };
        assert!(verify(jws.as_bytes(), &jwks(&pair), loose).is_ok());
    }

    #[test]
    fn every_header_rule_has_its_rejection() {
        let pair = pair();
        let keys = jwks(&pair);
        let kid = pair.kid();
        let cases: Vec<(String, JwsError)> = vec![
            (
                format!(r#"{{"alg":"none","kid":"{kid}","typ":"gdpr-bundle+jwt"}}"#),
                JwsError::AlgNotAllowed("none".into()),
            ),
            (
                format!(r#"{{"alg":"HS256","kid":"{kid}","typ":"gdpr-bundle+jwt"}}"#),
                JwsError::AlgNotAllowed("HS256".into()),
            ),
            (format!(r#"{{"kid":"{kid}","typ":"gdpr-bundle+jwt"}}"#), JwsError::AlgNotAllowed(String::new())),
            (format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#), JwsError::MissingTyp),
            (
                format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"JWT"}}"#),
                JwsError::WrongTyp { expected: "gdpr-bundle+jwt".into(), found: "JWT".into() },
            ),
            (r#"{"alg":"EdDSA","typ":"gdpr-bundle+jwt"}"#.to_owned(), JwsError::MissingKid),
            (
                r#"{"alg":"EdDSA","kid":"other","typ":"gdpr-bundle+jwt"}"#.to_owned(),
                JwsError::UnknownKid("other".into()),
            ),
            (
                format!(r#"{{"alg":"EdDSA","alg":"EdDSA","kid":"{kid}","typ":"gdpr-bundle+jwt"}}"#),
                JwsError::DuplicateMember("alg".into()),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                verify(with_header(&pair, &header).as_bytes(), &keys, POLICY).unwrap_err(),
                expected,
                "{header}"
            );
        }
        for member in FORBIDDEN_HEADER_MEMBERS {
            let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"gdpr-bundle+jwt","{member}":"x"}}"#);
            let err = verify(with_header(&pair, &header).as_bytes(), &keys, POLICY).unwrap_err();
            assert_eq!(err, JwsError::ForbiddenHeader((*member).into()));
        }
    }

    #[test]
    fn structure_size_and_signature_are_checked() {
        let pair = pair();
        let keys = jwks(&pair);
        let good = sign(&pair, "gdpr-bundle+jwt", b"{}");
        let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
        let malformed = [
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}.extra"),
            format!("{h}=.{p}.{s}"),
            format!("{h}.{p}.{s}=="),
            format!("{h}.{p}.AAAA"),
            format!(r#"{{"payload":"{p}"}}"#),
            format!("{}.{p}.{s}", "A".repeat(MAX_HEADER_B64_LEN + 4)),
        ];
        for token in malformed {
            assert!(matches!(verify(token.as_bytes(), &keys, POLICY), Err(JwsError::Malformed(_))), "{token}");
        }
        assert!(matches!(verify(b"\xff\xfe", &keys, POLICY), Err(JwsError::Malformed(_))));
        let small = Policy { max_bytes: 10, ..POLICY };
        assert_eq!(verify(good.as_bytes(), &keys, small).unwrap_err(), JwsError::TooLarge { limit: 10 });

        // Flip each character of the payload and signature: every change is caught.
        for i in h.len() + 1..good.len() {
            let mut bytes = good.clone().into_bytes();
            if bytes[i] == b'.' {
                continue;
            }
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let err = verify(&bytes, &keys, POLICY).unwrap_err();
            assert!(matches!(err, JwsError::SignatureInvalid | JwsError::Malformed(_)), "{i}: {err:?}");
        }
    }

    #[test]
    fn a_key_of_another_curve_with_the_kid_is_not_trusted() {
        let pair = pair();
        let mut impostor = OkpPublicJwk::new(Curve::X25519, &[9; 32]);
        impostor.kid = pair.kid().to_owned();
        let keys = Jwks { keys: vec![impostor] };
        let jws = sign(&pair, "gdpr-bundle+jwt", b"{}");
        assert_eq!(verify(jws.as_bytes(), &keys, POLICY).unwrap_err(), JwsError::UnknownKid(pair.kid().into()));
    }
}
