//! The trust list: the controllers of the trust framework and their keys, signed by the
//! operator. Verifiers take a bundle issuer's keys only from here (or from a JWKS they pinned
//! themselves); nothing named in a bundle is ever fetched.

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{Jwks, SigningKeyPair, strict_json};

/// `typ` of a trust list JWS.
pub const TYP: &str = "gdpr-trust-list+jwt";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Largest trust list read.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The signed claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    /// The operator's id (an https URL).
    pub iss: String,
    pub iat: UnixSeconds,
    /// After this the list is stale and refused; operators re-sign well before.
    pub exp: UnixSeconds,
    pub version: u32,
    pub controllers: Vec<Entry>,
}

/// One controller of the framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Controller id (an https URL), as in bundles' `iss`.
    pub id: String,
    pub name: String,
    /// Keys that sign its bundles and receipts.
    pub jwks: Jwks,
    /// Keys wallets encrypt to.
    pub encryption_jwks: Jwks,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Whom people contact about their data there (its data protection officer): where
    /// another organisation refers a request that concerns data this one holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListError {
    #[error("trust list: {0}")]
    Jws(#[from] JwsError),
    #[error("trust list: not a v1 trust list: {0}")]
    Invalid(String),
    #[error("trust list expired at {}", crate::clock::rfc3339(*.0))]
    Expired(UnixSeconds),
    #[error("{0:?} is not in the trust list")]
    UnknownController(String),
    #[error("the signing key {kid} belongs to {owner:?}, not to the issuer {issuer:?}")]
    IssuerMismatch { kid: String, owner: String, issuer: String },
}

impl TrustList {
    /// Signs the list with the operator's key.
    pub fn sign(&self, operator: &SigningKeyPair) -> Result<String, serde_json::Error> {
        Ok(jws::sign(operator, TYP, &serde_json::to_vec(self)?))
    }

    /// Verifies a signed list against the operator's pinned keys and the time `now`.
    pub fn verify(token: &[u8], operator_keys: &Jwks, now: UnixSeconds) -> Result<Self, TrustListError> {
        let verified = jws::verify(token, operator_keys, Policy { typ: TYP, max_bytes: MAX_BYTES })?;
        let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
        let list: Self = serde_json::from_value(value).map_err(|e| TrustListError::Invalid(e.to_string()))?;
        if list.version != VERSION {
            return Err(TrustListError::Invalid(format!("version {} is not {VERSION}", list.version)));
        }
        if now >= list.exp {
            return Err(TrustListError::Expired(list.exp));
        }
        let mut ids: Vec<&str> = list.controllers.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(TrustListError::Invalid(format!("controller {:?} is listed twice", pair[0])));
        }
        let mut kids: Vec<&str> =
            list.controllers.iter().flat_map(|c| c.jwks.keys.iter().map(|k| k.kid.as_str())).collect();
        kids.sort_unstable();
        if let Some(pair) = kids.windows(2).find(|w| w[0] == w[1]) {
            return Err(TrustListError::Invalid(format!("signing key {:?} is listed twice", pair[0])));
        }
        Ok(list)
    }

    /// Every listed signing key, to verify a bundle with; then [`TrustList::check_issuer`].
    pub fn signing_keys(&self) -> Jwks {
        Jwks { keys: self.controllers.iter().flat_map(|c| c.jwks.keys.iter().cloned()).collect() }
    }

    /// A bundle verified with `kid` may only claim the issuer that key is listed under.
    pub fn check_issuer(&self, kid: &str, issuer: &str) -> Result<(), TrustListError> {
        let owner = self
            .controllers
            .iter()
            .find(|c| c.jwks.find(kid).is_some())
            .ok_or_else(|| TrustListError::UnknownController(issuer.to_owned()))?;
        if owner.id == issuer {
            Ok(())
        } else {
            Err(TrustListError::IssuerMismatch {
                kid: kid.to_owned(),
                owner: owner.id.clone(),
                issuer: issuer.to_owned(),
            })
        }
    }

    /// The entry of controller `id`.
    pub fn controller(&self, id: &str) -> Result<&Entry, TrustListError> {
        self.controllers.iter().find(|c| c.id == id).ok_or_else(|| TrustListError::UnknownController(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(controller: &SigningKeyPair) -> TrustList {
        TrustList {
            iss: "https://operator.example".into(),
            iat: 100,
            exp: 200,
            version: VERSION,
            controllers: vec![Entry {
                id: "https://a.example".into(),
                name: "A".into(),
                jwks: Jwks { keys: vec![controller.public_jwk().clone()] },
                encryption_jwks: Jwks::default(),
                import_endpoint: None,
                token_endpoint: None,
                privacy_contact: None,
            }],
        }
    }

    #[test]
    fn signed_list_verifies_only_under_the_operator_key_and_in_time() {
        let operator = SigningKeyPair::generate();
        let controller = SigningKeyPair::generate();
        let pinned = Jwks { keys: vec![operator.public_jwk().clone()] };
        let token = list(&controller).sign(&operator).unwrap();
        let verified = TrustList::verify(token.as_bytes(), &pinned, 150).unwrap();
        assert_eq!(verified.controller("https://a.example").unwrap().jwks.keys[0].kid, controller.kid());
        assert_eq!(
            verified.controller("https://b.example").unwrap_err(),
            TrustListError::UnknownController("https://b.example".into())
        );
        assert_eq!(TrustList::verify(token.as_bytes(), &pinned, 200).unwrap_err(), TrustListError::Expired(200));
        // Signed by a controller instead of the operator: refused.
        let forged = list(&controller).sign(&controller).unwrap();
        assert!(matches!(
            TrustList::verify(forged.as_bytes(), &pinned, 150),
            Err(TrustListError::Jws(JwsError::UnknownKid(_)))
        ));
        // A bundle JWS is not a trust list.
        let bundle = jws::sign(&operator, "gdpr-bundle+jwt", b"{}");
        assert!(matches!(
            TrustList::verify(bundle.as_bytes(), &pinned, 150),
            Err(TrustListError::Jws(JwsError::WrongTyp { .. }))
        ));
        assert_eq!(verified.check_issuer(controller.kid(), "https://a.example"), Ok(()));
        assert!(matches!(
            verified.check_issuer(controller.kid(), "https://b.example"),
            Err(TrustListError::IssuerMismatch { .. })
        ));
        let mut twice = list(&controller);
        twice.controllers.push(twice.controllers[0].clone());
        let token = twice.sign(&operator).unwrap();
        assert!(matches!(TrustList::verify(token.as_bytes(), &pinned, 150), Err(TrustListError::Invalid(_))));
    }
}
