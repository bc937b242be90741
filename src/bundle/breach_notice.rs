//! The signed breach notice (art. 34 GDPR): what the controller tells a person whose data
//! a breach touched, signed like a receipt so the person can keep it and show it to
//! anyone. The gateway signs it; the wallet SDK verifies it against the organisation's
//! pinned keys before showing it.

use serde::{Deserialize, Serialize};

use super::BundleError;
use crate::clock::UnixSeconds;
use crate::jose::jws::{self, JwsError, Policy};
use crate::jose::{Jwks, SigningKeyPair, strict_json};

/// `typ` of a breach notice JWS.
pub const BREACH_NOTICE_TYP: &str = "gdpr-breach-notice+jwt";
/// Largest breach notice accepted.
pub const MAX_BREACH_NOTICE_BYTES: usize = 64 * 1024;

/// The claims of a breach notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachNoticeClaims {
    /// The controller id.
    pub iss: String,
    /// The person's subject reference at the controller.
    pub sub: String,
    pub iat: UnixSeconds,
    /// Unique per breach and person: the breach id, `:`, and a digest of the person.
    pub jti: String,
    pub breach: BreachNotice,
}

/// Art. 34(2) with art. 33(3)(b)–(d): nature, contact, consequences, measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachNotice {
    pub breach_id: String,
    pub controller: String,
    /// What happened, in plain language.
    pub nature: String,
    /// The person's kinds of data involved, by name.
    pub categories: Vec<String>,
    pub likely_consequences: String,
    /// What the controller did or proposes, including what limits the harm, and what the
    /// person can do.
    pub measures: String,
    /// The data protection officer or other contact point.
    pub contact: String,
    /// When the controller became aware of the breach.
    pub aware_at: UnixSeconds,
}

/// Signs `claims` as a compact JWS.
pub fn sign_breach_notice(key: &SigningKeyPair, claims: &BreachNoticeClaims) -> String {
    // Plain strings, numbers and lists: serializing cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    jws::sign(key, BREACH_NOTICE_TYP, &payload)
}

/// Verifies a breach notice against `keys` and reads its claims; duplicate members and
/// empty texts are refused.
pub fn verify_breach_notice(token: &[u8], keys: &Jwks) -> Result<BreachNoticeClaims, BundleError> {
    let verified = jws::verify(token, keys, Policy { typ: BREACH_NOTICE_TYP, max_bytes: MAX_BREACH_NOTICE_BYTES })?;
    let value = strict_json::parse(&verified.payload).map_err(JwsError::from)?;
    let claims: BreachNoticeClaims =
        serde_json::from_value(value).map_err(|e| BundleError::InvalidClaims(e.to_string()))?;
    let b = &claims.breach;
    let texts = [
        &claims.iss,
        &claims.sub,
        &claims.jti,
        &b.breach_id,
        &b.nature,
        &b.likely_consequences,
        &b.measures,
        &b.contact,
    ];
    if texts.iter().any(|t| t.trim().is_empty()) {
        return Err(BundleError::InvalidClaims("a breach notice states every member".into()));
    }
    super::verify::check_key_in_use(keys, &verified.kid, claims.iat)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::SigningKeyPair;

    fn keys(key: &SigningKeyPair) -> Jwks {
        Jwks { keys: vec![key.public_jwk().clone()] }
    }

    fn claims() -> BreachNoticeClaims {
        BreachNoticeClaims {
            iss: "https://org.example".into(),
            sub: "alice".into(),
            iat: 1_800_000_000,
            jti: "b1:x".into(),
            breach: BreachNotice {
                breach_id: "b1".into(),
                controller: "Org".into(),
                nature: "A laptop was stolen".into(),
                categories: vec!["Contact details".into()],
                likely_consequences: "Phishing".into(),
                measures: "Disk encryption; be wary of e-mail".into(),
                contact: "dpo@org.example".into(),
                aware_at: 1_799_990_000,
            },
        }
    }

    #[test]
    fn signs_and_verifies_and_refuses_another_key_or_an_empty_member() {
        let key = SigningKeyPair::generate();
        let token = sign_breach_notice(&key, &claims());
        assert_eq!(verify_breach_notice(token.as_bytes(), &keys(&key)).unwrap(), claims());
        let other = SigningKeyPair::generate();
        assert!(verify_breach_notice(token.as_bytes(), &keys(&other)).is_err());
        let mut empty = claims();
        empty.breach.measures = " ".into();
        let token = sign_breach_notice(&key, &empty);
        assert!(matches!(verify_breach_notice(token.as_bytes(), &keys(&key)), Err(BundleError::InvalidClaims(_))));
    }
}
