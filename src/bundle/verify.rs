//! Bundle verification: the JWS rules of `jose::jws`, then the claims of format v1.

use serde::{Deserialize, Serialize};

use super::{Claims, MAX_JWT_BYTES, TYP, VERSION};
use crate::clock::UnixSeconds;
use crate::jose::Jwks;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::strict_json;

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
        }
    }
}
