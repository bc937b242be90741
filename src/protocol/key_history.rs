//! The key history: every signing key a controller has used, each with its period of use,
//! signed by the key in use when it was written. What a verifier archives beside the
//! bundles and receipts it keeps, to check them years later: after rotations, after the
//! trust list of the day expired, after the gateway itself is gone.

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{Curve, Jwks, SigningKeyPair, b64, strict_json};

/// `typ` of a key history JWS.
pub const TYP: &str = "gdpr-key-history+jwt";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Largest key history read.
pub const MAX_BYTES: usize = 1024 * 1024;

/// The signed claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyHistory {
    /// The controller (an https URL), as in its bundles' `iss`.
    pub iss: String,
    /// When the history was written.
    pub iat: UnixSeconds,
    pub version: u32,
    /// Every signing key, each with `nbf` and, once retired, `exp`.
    pub keys: Jwks,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyHistoryError {
    #[error("key history: {0}")]
    Jws(#[from] JwsError),
    #[error("key history: not a v1 key history: {0}")]
    Invalid(String),
}

impl KeyHistory {
    /// Signs the history with `key`, which must be one of its keys in use at `iat`.
    pub fn sign(&self, key: &SigningKeyPair) -> Result<String, serde_json::Error> {
        Ok(jws::sign(key, TYP, &serde_json::to_vec(self)?))
    }

    /// Reads a history and checks that it is whole: signed by one of the keys it lists, one
    /// in use when it was written. That it is the controller's own is for the verifier to
    /// know from where it came (its own archive, the controller's site, a trust list's
    /// keys of the day), as with any pinned key set.
    pub fn verify(token: &[u8]) -> Result<Self, KeyHistoryError> {
        let text = std::str::from_utf8(token).map_err(|_| JwsError::Malformed("not UTF-8".into()))?.trim();
        let payload = text.split('.').nth(1).ok_or_else(|| JwsError::Malformed("not a compact JWS".into()))?;
        let payload = b64::decode(payload).map_err(|e| JwsError::Malformed(format!("payload: {e}")))?;
        let claimed: Self = parse(&payload)?;
        let verified = jws::verify(text.as_bytes(), &claimed.keys, Policy { typ: TYP, max_bytes: MAX_BYTES })?;
        let history: Self = parse(&verified.payload)?;
        if history.version != VERSION {
            return Err(KeyHistoryError::Invalid(format!("version {} is not {VERSION}", history.version)));
        }
        if history.iss.is_empty() || history.keys.keys.is_empty() {
            return Err(KeyHistoryError::Invalid("it names its controller and at least one key".into()));
        }
        let mut kids: Vec<&str> = history.keys.keys.iter().map(|k| k.kid.as_str()).collect();
        kids.sort_unstable();
        if let Some(pair) = kids.windows(2).find(|w| w[0] == w[1]) {
            return Err(KeyHistoryError::Invalid(format!("key {:?} is listed twice", pair[0])));
        }
        if let Some(key) = history.keys.keys.iter().find(|k| k.crv != Curve::Ed25519) {
            return Err(KeyHistoryError::Invalid(format!("key {:?} is not a signing key", key.kid)));
        }
        if !history.keys.find(&verified.kid).is_some_and(|k| k.was_in_use_at(history.iat)) {
            return Err(KeyHistoryError::Invalid(format!(
                "signed by {}, a key not in use when it was written",
                verified.kid
            )));
        }
        Ok(history)
    }
}

fn parse(payload: &[u8]) -> Result<KeyHistory, KeyHistoryError> {
    let value = strict_json::parse(payload).map_err(JwsError::from)?;
    serde_json::from_value(value).map_err(|e| KeyHistoryError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(keys: &[(&SigningKeyPair, u64, Option<u64>)], iat: u64) -> KeyHistory {
        let keys = keys
            .iter()
            .map(|(pair, nbf, exp)| {
                let mut jwk = pair.public_jwk().clone();
                (jwk.nbf, jwk.exp) = (Some(*nbf), *exp);
                jwk
            })
            .collect();
        KeyHistory { iss: "https://a.example".into(), iat, version: VERSION, keys: Jwks { keys } }
    }

    #[test]
    fn a_history_verifies_only_signed_by_a_listed_key_in_use() {
        let (old, new) = (SigningKeyPair::generate(), SigningKeyPair::generate());
        let written = history(&[(&new, 300, None), (&old, 100, Some(400))], 500);
        let token = written.sign(&new).unwrap();
        assert_eq!(KeyHistory::verify(token.as_bytes()).unwrap(), written);
        // The retired key no longer vouches for a history written after it retired.
        let late = written.sign(&old).unwrap();
        assert!(
            matches!(KeyHistory::verify(late.as_bytes()), Err(KeyHistoryError::Invalid(m)) if m.contains("not in use"))
        );
        // A key outside the history cannot sign it.
        let stranger = written.sign(&SigningKeyPair::generate()).unwrap();
        assert!(matches!(KeyHistory::verify(stranger.as_bytes()), Err(KeyHistoryError::Jws(JwsError::UnknownKid(_)))));
        // Changing a period after signing breaks the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut changed = written.clone();
        changed.keys.keys[1].exp = Some(10_000);
        let forged = format!("{}.{}.{}", parts[0], b64::encode(serde_json::to_vec(&changed).unwrap()), parts[2]);
        assert!(matches!(KeyHistory::verify(forged.as_bytes()), Err(KeyHistoryError::Jws(JwsError::SignatureInvalid))));
        let bundle = jws::sign(&new, "gdpr-bundle+jwt", &serde_json::to_vec(&written).unwrap());
        assert!(matches!(KeyHistory::verify(bundle.as_bytes()), Err(KeyHistoryError::Jws(JwsError::WrongTyp { .. }))));
    }
}
