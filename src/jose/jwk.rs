//! OKP JSON Web Keys (RFC 8037) and their RFC 7638 thumbprints, which are our `kid`s.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::b64;

/// The two OKP curves we use: Ed25519 to sign, X25519 to agree keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum Curve {
    Ed25519,
    X25519,
}

impl Curve {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::X25519 => "X25519",
        }
    }
}

/// What a key is for (RFC 7517 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyUse {
    Sig,
    Enc,
}

/// Clock difference allowed between the host that made a key and one that signs with it.
pub(crate) const KEY_PERIOD_SKEW_SECS: u64 = 300;

/// A public OKP key as published in a JWKS. There is no `d` member, so a private key
/// cannot be serialized through this type by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OkpPublicJwk {
    /// Always `OKP`.
    #[cfg_attr(feature = "server", schema(example = "OKP"))]
    pub kty: String,
    pub crv: Curve,
    /// The public key, base64url.
    pub x: String,
    /// RFC 7638 thumbprint of this key.
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: KeyUse,
    /// `EdDSA` for signing keys, `ECDH-ES` for encryption keys.
    pub alg: String,
    /// When the key came into use (Unix seconds): a token it signed is not older.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// When the key was retired (Unix seconds): a token it signed is not newer. Absent
    /// while the key is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

impl OkpPublicJwk {
    pub fn new(crv: Curve, public: &[u8; 32]) -> Self {
        let x = b64::encode(public);
        let (key_use, alg) = match crv {
            Curve::Ed25519 => (KeyUse::Sig, "EdDSA"),
            Curve::X25519 => (KeyUse::Enc, "ECDH-ES"),
        };
        let kid = thumbprint(crv, &x);
        Self { kty: "OKP".to_owned(), crv, kid, x, key_use, alg: alg.to_owned(), nbf: None, exp: None }
    }

    /// Whether a token this key signed at `iat` falls within the key's period of use; the
    /// start allows [`KEY_PERIOD_SKEW_SECS`] for a signer whose clock is behind the host
    /// that made the key (the end already has a week's grace).
    pub fn was_in_use_at(&self, iat: u64) -> bool {
        self.nbf.is_none_or(|nbf| iat.saturating_add(KEY_PERIOD_SKEW_SECS) >= nbf)
            && self.exp.is_none_or(|exp| iat <= exp)
    }
}

/// A JSON Web Key Set of public keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", schema(example = example_jwks))]
pub struct Jwks {
    pub keys: Vec<OkpPublicJwk>,
}

impl Jwks {
    pub fn find(&self, kid: &str) -> Option<&OkpPublicJwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// A private OKP JWK (with `d`), as kept in key files. Zeroized on drop; `Debug` hides `d`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct PrivateOkpJwk {
    #[zeroize(skip)]
    pub kty: String,
    #[zeroize(skip)]
    pub crv: Curve,
    #[zeroize(skip)]
    pub x: String,
    pub d: String,
}

impl std::fmt::Debug for PrivateOkpJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateOkpJwk").field("crv", &self.crv).field("x", &self.x).field("d", &"[redacted]").finish()
    }
}

/// RFC 7638 thumbprint of an OKP key: SHA-256 over the required members in
/// lexicographic order with no whitespace, base64url.
pub fn thumbprint(crv: Curve, x: &str) -> String {
    // serde_json escapes the base64url alphabet to itself, and `crv` is a fixed name, so
    // formatting by hand yields exactly the canonical form RFC 7638 §3 asks for.
    let canonical = format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, crv.as_str(), x);
    b64::encode(Sha256::digest(canonical.as_bytes()))
}

/// A JWKS for the OpenAPI document: a real Ed25519 key whose `kid` is its RFC 7638
/// thumbprint.
#[cfg(feature = "server")]
pub(crate) fn example_jwks() -> serde_json::Value {
    serde_json::json!({ "keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": "7IcjFmHLtLOs605UaoWCe6yCv9D_WnlHnfudxx1tzN8",
        "kid": "7MWc8hBWeIA-iJcjr5Q7lax5q4oInIpWHkOB8BXadM0", "use": "sig", "alg": "EdDSA", "nbf": 1795996800
    }] })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3.
    #[test]
    fn rfc8037_thumbprint() {
        assert_eq!(
            thumbprint(Curve::Ed25519, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn private_jwk_debug_hides_d() {
        let jwk = PrivateOkpJwk { kty: "OKP".into(), crv: Curve::Ed25519, x: "x".into(), d: "super-secret".into() };
        assert!(!format!("{jwk:?}").contains("super-secret"));
    }
}
