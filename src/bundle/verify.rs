//! Bundle verification: the JWS rules of `jose::jws`, then the claims of format v1.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{Art15, Claims, MAX_JWT_BYTES, Purpose, RECEIPT_TYP, TYP, VERSION};
use crate::clock::{UnixSeconds, rfc3339};
use crate::jose::jws::{self, JwsError, MAX_HEADER_B64_LEN, Policy};
use crate::jose::{Jwks, b64, strict_json};
use crate::protocol::ErrorCode;
use crate::protocol::notice::NoticeCategory;

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("the claims are not a v1 bundle: {0}")]
    InvalidClaims(String),
    #[error("{0} does not match its manifest digest")]
    DigestMismatch(String),
    /// A zip package whose entries, names or manifests break the format.
    #[error("malformed package: {0}")]
    Package(String),
    /// A zip file that stops before its end (its central directory): an interrupted
    /// download, not a forgery. Nothing could be checked.
    #[error("the package is truncated: {0}")]
    PackageTruncated(String),
    /// Neither a zip package nor a compact JWS: nothing could be checked.
    #[error("not a package: {0}")]
    NotAPackage(String),
    /// Signed at a time outside the signing key's period of use (`nbf`/`exp` in the key
    /// set): before the key existed, or after it was retired.
    #[error("the key {kid} was not in use at {}, when this says it was signed", rfc3339(*.iat))]
    KeyNotInUse { kid: String, iat: UnixSeconds },
}

impl BundleError {
    /// The stable code of this refusal, as the HTTP API, the `verify` command's JSON and
    /// receiving gateways report it.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Jws(jws) => match jws {
                JwsError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
                JwsError::DuplicateMember(_) => ErrorCode::DuplicateMember,
                JwsError::ForbiddenHeader(_) => ErrorCode::ForbiddenHeader,
                JwsError::AlgNotAllowed(_) => ErrorCode::AlgNotAllowed,
                JwsError::MissingTyp | JwsError::WrongTyp { .. } => ErrorCode::WrongTyp,
                JwsError::UnknownKid(_) => ErrorCode::UnknownKid,
                JwsError::SignatureInvalid => ErrorCode::SignatureInvalid,
                JwsError::Malformed(_) | JwsError::MissingKid => ErrorCode::Malformed,
            },
            Self::InvalidClaims(_) => ErrorCode::InvalidClaims,
            Self::DigestMismatch(_) => ErrorCode::DigestMismatch,
            Self::Package(_) => ErrorCode::Malformed,
            Self::PackageTruncated(_) => ErrorCode::PackageTruncated,
            Self::NotAPackage(_) => ErrorCode::NotAPackage,
            Self::KeyNotInUse { .. } => ErrorCode::KeyNotInUse,
        }
    }

    /// Whether the input could not be checked at all (an incomplete or foreign file), as
    /// opposed to checked and found invalid: `verify` exits 2 for these, 1 for the rest.
    pub fn is_unchecked(&self) -> bool {
        matches!(self, Self::PackageTruncated(_) | Self::NotAPackage(_))
    }
}

/// One category of a verified bundle, as reported to whoever verifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CategorySummary {
    pub id: String,
    pub name: String,
    pub records: usize,
}

/// A bundle whose signature and claims verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    pub kid: String,
    pub claims: Claims,
}

impl VerifiedBundle {
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    pub fn issued_at(&self) -> UnixSeconds {
        self.claims.iat
    }

    pub fn categories(&self) -> Vec<CategorySummary> {
        self.claims
            .bundle
            .categories
            .iter()
            .map(|c| CategorySummary { id: c.info.id.clone(), name: c.info.name.clone(), records: c.records.len() })
            .collect()
    }
}

/// What a wallet or a receiving gateway needs of a verified bundle, without its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSummary {
    pub kid: String,
    pub iss: String,
    pub sub: String,
    pub iat: UnixSeconds,
    pub jti: String,
    pub purpose: Purpose,
    pub categories: Vec<CategorySummary>,
}

/// The claims as [`Claims`] reads them, but each category's records only checked to be
/// objects and counted: verifying a large bundle then costs the payload, not a tree of it.
#[derive(Deserialize)]
struct SummaryClaims {
    iss: String,
    sub: String,
    iat: UnixSeconds,
    jti: String,
    bundle: SummaryBundle,
}

#[derive(Deserialize)]
struct SummaryBundle {
    version: u32,
    purpose: Purpose,
    categories: Vec<SummaryCategory>,
    #[allow(dead_code)] // read so that a bundle without it is refused, as `Claims` would
    art15: Art15,
}

#[derive(Deserialize)]
struct SummaryCategory {
    #[serde(flatten)]
    info: NoticeCategory,
    records: RecordCount,
}

/// A JSON array of objects, counted and dropped.
struct RecordCount(usize);

impl<'de> Deserialize<'de> for RecordCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counter;
        impl<'de> serde::de::Visitor<'de> for Counter {
            type Value = RecordCount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of JSON objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RecordCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<ObjectShape>()?.is_some() {
                    n += 1;
                }
                Ok(RecordCount(n))
            }
        }
        d.deserialize_seq(Counter)
    }
}

/// Any JSON object, not kept.
struct ObjectShape;

impl<'de> Deserialize<'de> for ObjectShape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = ObjectShape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ObjectShape, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(ObjectShape)
            }
        }
        d.deserialize_map(Shape)
    }
}

/// Verifies a compact JWS bundle as [`verify_jwt`] does (signature, strict JSON, v1
/// claims) but keeps only its summary: what wallets and receivers of forwards use, so a
/// 64 MiB bundle costs them its payload rather than a tree of every record.
pub fn verify_jwt_summary(token: &[u8], keys: &Jwks) -> Result<VerifiedSummary, BundleError> {
    let verified = jws::verify(token, keys, Policy { typ: TYP, max_bytes: MAX_JWT_BYTES })?;
    strict_json::check(&verified.payload).map_err(JwsError::from)?;
    let claims: SummaryClaims =
        serde_json::from_slice(&verified.payload).map_err(|e| BundleError::InvalidClaims(e.to_string()))?;
    if claims.bundle.version != VERSION {
        return Err(BundleError::InvalidClaims(format!("version {} is not {VERSION}", claims.bundle.version)));
    }
    check_key_in_use(keys, &verified.kid, claims.iat)?;
    Ok(VerifiedSummary {
        kid: verified.kid,
        iss: claims.iss,
        sub: claims.sub,
        iat: claims.iat,
        jti: claims.jti,
        purpose: claims.bundle.purpose,
        categories: claims
            .bundle
            .categories
            .into_iter()
            .map(|c| CategorySummary { id: c.info.id, name: c.info.name, records: c.records.0 })
            .collect(),
    })
}

/// The signed documents a verifier takes, told apart by the `typ` of their header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedKind {
    /// `gdpr-bundle+jwt`: [`verify_jwt`], [`verify_jwt_summary`].
    Bundle,
    /// `gdpr-receipt+jwt`: [`super::verify_receipt`].
    Receipt,
}

impl SignedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bundle => "bundle",
            Self::Receipt => "receipt",
        }
    }
}

/// Which verifier a compact JWS is for, from its protected header's `typ` alone: nothing
/// is verified here, and the chosen verifier checks everything again, `typ` included. A
/// token whose header cannot be read or has no string `typ` goes to the bundle verifier,
/// which refuses it for the reason it always has; a `typ` that is neither is `wrong_typ`.
pub fn signed_kind(token: &[u8]) -> Result<SignedKind, BundleError> {
    let Some(typ) = peek_typ(token) else { return Ok(SignedKind::Bundle) };
    if same_typ(&typ, TYP) {
        Ok(SignedKind::Bundle)
    } else if same_typ(&typ, RECEIPT_TYP) {
        Ok(SignedKind::Receipt)
    } else {
        Err(JwsError::WrongTyp { expected: format!("{TYP} or {RECEIPT_TYP}"), found: typ }.into())
    }
}

/// The `typ` of a compact JWS's protected header, read as `jws::verify` reads headers
/// (at most [`MAX_HEADER_B64_LEN`] characters, strict JSON); `None` when it cannot be.
fn peek_typ(token: &[u8]) -> Option<String> {
    let end = token.iter().take(MAX_HEADER_B64_LEN + 1).position(|b| *b == b'.')?;
    let header = b64::decode(std::str::from_utf8(&token[..end]).ok()?).ok()?;
    match strict_json::parse_object(&header).ok()?.remove("typ")? {
        Value::String(typ) => Some(typ),
        _ => None,
    }
}

/// `typ` as `jws::verify` compares it (RFC 7515 §4.1.9): case-insensitive, `application/`
/// optional.
fn same_typ(found: &str, expected: &str) -> bool {
    let found = found.to_ascii_lowercase();
    found.strip_prefix("application/").unwrap_or(&found) == expected
}

/// A token must fall within the period of use of the key that signed it, where the key set
/// gives one (`nbf`/`exp`, as the gateway publishes them): a retired key signs nothing new.
pub(crate) fn check_key_in_use(keys: &Jwks, kid: &str, iat: UnixSeconds) -> Result<(), BundleError> {
    match keys.find(kid) {
        Some(key) if !key.was_in_use_at(iat) => Err(BundleError::KeyNotInUse { kid: kid.to_owned(), iat }),
        _ => Ok(()),
    }
}

/// Verifies a compact JWS bundle against pinned keys.
pub fn verify_jwt(token: &[u8], keys: &Jwks) -> Result<VerifiedBundle, BundleError> {
    let verified = jws::verify(token, keys, Policy { typ: TYP, max_bytes: MAX_JWT_BYTES })?;
    // Duplicate members in the payload are refused like those in the header: a reader must
    // never see other values than the verifier did.
    let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
    let claims: Claims = serde_json::from_value(value).map_err(|e| BundleError::InvalidClaims(e.to_string()))?;
    if claims.bundle.version != VERSION {
        return Err(BundleError::InvalidClaims(format!("version {} is not {VERSION}", claims.bundle.version)));
    }
    check_key_in_use(keys, &verified.kid, claims.iat)?;
    Ok(VerifiedBundle { kid: verified.kid, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::SigningKeyPair;
    use crate::jose::jws::sign_with_header;

    /// Whether an error is the one a case expects.
    type Expect = fn(&BundleError) -> bool;

    /// Correctly signed payloads that are still not a bundle: each refused, none panics.
    #[test]
    fn signed_but_hostile_payloads_are_refused() {
        let key = SigningKeyPair::generate();
        let keys = Jwks { keys: vec![key.public_jwk().clone()] };
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"{TYP}"}}"#, key.kid());
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let cases: Vec<(Vec<u8>, Expect)> = vec![
            (b"\xff\xfe not utf-8".to_vec(), |e| matches!(e, BundleError::Jws(JwsError::Malformed(_)))),
            (deep.into_bytes(), |e| matches!(e, BundleError::Jws(JwsError::Malformed(_)))),
            (br#"{"iss":"a","iss":"b"}"#.to_vec(), |e| matches!(e, BundleError::Jws(JwsError::DuplicateMember(_)))),
            (br#"{"iss":"a"}"#.to_vec(), |e| matches!(e, BundleError::InvalidClaims(_))),
            (b"[]".to_vec(), |e| matches!(e, BundleError::InvalidClaims(_))),
        ];
        for (payload, expected) in cases {
            let token = sign_with_header(key.signing_key(), header.as_bytes(), &payload);
            let err = verify_jwt(token.as_bytes(), &keys).unwrap_err();
            assert!(expected(&err), "{err:?}");
            let err = verify_jwt_summary(token.as_bytes(), &keys).unwrap_err();
            assert!(expected(&err), "summary: {err:?}");
        }
    }

    #[test]
    fn the_summary_reads_what_the_full_verification_reads() {
        let key = SigningKeyPair::generate();
        let keys = Jwks { keys: vec![key.public_jwk().clone()] };
        let header = format!(r#"{{"alg":"EdDSA","kid":"{}","typ":"{TYP}"}}"#, key.kid());
        let category = r#"{"id":"c","name":"C","purposes":["p"],"legal_basis":"contract",
            "legal_basis_article":"Art. 6(1)(b) GDPR","legal_basis_text":"contract","special_category":false,
            "retention":"P1Y","retention_text":"1 year","recipients":[],"source":"s","portable":true,"records":RECORDS}"#;
        let art15 = r#"{"controller":{"id":"https://a.example","name":"A","dpo_contact":"d",
            "supervisory_authority":{"name":"AP","url":"https://ap.example"}},"rights":[]}"#;
        let claims = |records: &str| {
            format!(
                r#"{{"iss":"https://a.example","sub":"alice","iat":1,"jti":"j","bundle":{{"version":1,
                "purpose":"access","categories":[{}],"art15":{art15}}}}}"#,
                category.replace("RECORDS", records)
            )
        };
        let sign = |payload: String| sign_with_header(key.signing_key(), header.as_bytes(), payload.as_bytes());
        let good = sign(claims(r#"[{"a":1},{"b":[2]}]"#));
        let full = verify_jwt(good.as_bytes(), &keys).unwrap();
        let summary = verify_jwt_summary(good.as_bytes(), &keys).unwrap();
        assert_eq!(
            (summary.iss.as_str(), summary.sub.as_str(), summary.jti.as_str()),
            ("https://a.example", "alice", "j")
        );
        assert_eq!(summary.categories, full.categories());
        for records in [r#"[{"a":1,"a":2}]"#, "[1]", r#"{"a":1}"#] {
            let bad = sign(claims(records));
            assert!(verify_jwt(bad.as_bytes(), &keys).is_err(), "{records}");
            assert!(verify_jwt_summary(bad.as_bytes(), &keys).is_err(), "summary {records}");
        }
    }
}
