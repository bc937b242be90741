//! The identity provider's signing keys, read from its JWKS: each usable key becomes one
//! (kid, algorithm, public key), so a token's `alg` must match the key's type exactly and
//! no key can be used with an algorithm it was not published for.

use ed25519_dalek::VerifyingKey as Ed25519Key;
use p256::ecdsa::VerifyingKey as P256Key;
use rsa::pkcs1v15::VerifyingKey as RsaKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

use crate::jose::b64;

/// Most keys a provider's JWKS may hold; providers publish a handful.
pub(crate) const MAX_JWKS_KEYS: usize = 100;
/// Smallest RSA modulus accepted (NIST SP 800-131A: 2048 bits).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Longest `kid` accepted, in the JWKS and in tokens.
pub(crate) const MAX_KID_LEN: usize = 256;

/// The signature algorithms we accept from an identity provider, and nothing else: no
/// `none`, no HMAC (a shared secret would let anyone holding it mint staff tokens, and
/// mixing it up with a public key is the classic algorithm-confusion attack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: what most providers sign with by default.
    Rs256,
    /// ECDSA with P-256 and SHA-256.
    Es256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl Alg {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

#[derive(Debug, Clone)]
enum PublicKey {
    Rsa(Box<RsaKey<Sha256>>),
    Es256(Box<P256Key>),
    Ed25519(Box<Ed25519Key>),
}

/// One signing key of the provider.
#[derive(Debug, Clone)]
pub(crate) struct ProviderKey {
    pub kid: String,
    pub alg: Alg,
    key: PublicKey,
    /// The RSA modulus length in bytes: an RS256 signature has exactly this length.
    rsa_len: usize,
}

impl ProviderKey {
    /// True when `signature` over `message` verifies under this key with its algorithm.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            PublicKey::Rsa(key) => {
                signature.len() == self.rsa_len
                    && rsa::pkcs1v15::Signature::try_from(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
            }
            PublicKey::Es256(key) => {
                // JWS carries r || s, 32 bytes each (RFC 7518 §3.4), not DER.
                signature.len() == 64
                    && p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
            }
            PublicKey::Ed25519(key) => crate::jose::jws::verify_ed25519(key.as_bytes(), message, signature).is_ok(),
        }
    }
}

/// A provider's key set as fetched, without the keys we cannot or may not use.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProviderKeys {
    keys: Vec<ProviderKey>,
}

impl ProviderKeys {
    /// Reads a JWKS document. Keys for encryption, of other types or algorithms, or
    /// malformed are skipped and named in the second value (for the log); a `kid` two
    /// usable keys share is ambiguous, so both are skipped.
    pub(crate) fn parse(json: &[u8]) -> Result<(Self, Vec<String>), String> {
        let doc: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
        let entries = doc.get("keys").and_then(Value::as_array).ok_or("no \"keys\" array")?;
        if entries.len() > MAX_JWKS_KEYS {
            return Err(format!("more than {MAX_JWKS_KEYS} keys"));
        }
        let mut skipped = Vec::new();
        let mut keys: Vec<ProviderKey> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match key_from_jwk(entry) {
                Ok(key) => keys.push(key),
                Err(why) => skipped.push(format!("keys[{i}]: {why}")),
            }
        }
        let mut shared: Vec<String> =
            keys.iter().filter(|k| keys.iter().filter(|o| o.kid == k.kid).count() > 1).map(|k| k.kid.clone()).collect();
        shared.sort();
        shared.dedup();
        keys.retain(|k| !shared.contains(&k.kid));
        skipped.extend(shared.into_iter().map(|kid| format!("kid {kid:?} is on more than one key")));
        Ok((Self { keys }, skipped))
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&ProviderKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

fn key_from_jwk(jwk: &Value) -> Result<ProviderKey, String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = text("kid").filter(|k| !k.is_empty() && k.len() <= MAX_KID_LEN).ok_or("no usable \"kid\"")?;
    if text("use").is_some_and(|u| u != "sig") {
        return Err("not a signing key (\"use\")".into());
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array) {
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return Err("not a verification key (\"key_ops\")".into());
        }
    }
    let param = |name: &str| text(name).and_then(|v| b64::decode(v).ok()).ok_or(format!("no base64url \"{name}\""));
    let (alg, key, rsa_len) = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => {
            let public = RsaPublicKey::new(BigUint::from_bytes_be(&param("n")?), BigUint::from_bytes_be(&param("e")?))
                .map_err(|e| format!("not an RSA public key: {e}"))?;
            if public.size() * 8 < MIN_RSA_BITS {
                return Err(format!("RSA key under {MIN_RSA_BITS} bits"));
            }
            let len = public.size();
            (Alg::Rs256, PublicKey::Rsa(Box::new(RsaKey::new(public))), len)
        }
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (param("x")?, param("y")?);
            let (Ok(x), Ok(y)) = (<[u8; 32]>::try_from(x), <[u8; 32]>::try_from(y)) else {
                return Err("P-256 coordinates must be 32 bytes".into());
            };
            let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let key = P256Key::from_encoded_point(&point).map_err(|_| "not a P-256 point")?;
            (Alg::Es256, PublicKey::Es256(Box::new(key)), 0)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let x = b64::decode_array::<32>(text("x").unwrap_or_default()).ok_or("no 32-byte \"x\"")?;
            let key = Ed25519Key::from_bytes(&x).map_err(|_| "not an Ed25519 point")?;
            (Alg::EdDsa, PublicKey::Ed25519(Box::new(key)), 0)
        }
        (kty, crv) => return Err(format!("unsupported key type {kty:?} / curve {crv:?}")),
    };
    // A published `alg` must be the one its type implies (an RSA key marked RS512 or PS256
    // is for another algorithm, which we do not accept).
    if let Some(published) = text("alg") {
        if published != alg.as_str() {
            return Err(format!("\"alg\" {published:?} is not accepted for this key type"));
        }
    }
    Ok(ProviderKey { kid: kid.to_owned(), alg, key, rsa_len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ed_jwk(kid: &str) -> Value {
        let pair = crate::jose::SigningKeyPair::generate();
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": pair.public_jwk().x})
    }

    #[test]
    fn skips_what_it_cannot_use_and_ambiguous_kids() {
        let mut enc = ed_jwk("enc");
        enc["use"] = json!("enc");
        let mut hs = ed_jwk("wrong-alg");
        hs["alg"] = json!("HS256");
        let doc = json!({"keys": [
            ed_jwk("a"), ed_jwk("dup"), ed_jwk("dup"), enc, hs,
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "small", "n": b64::encode([0xc5u8; 128]), "e": "AQAB"},
            {"kty": "EC", "crv": "P-256", "kid": "off-curve", "x": b64::encode([1u8; 32]), "y": b64::encode([2u8; 32])},
            {"kty": "OKP", "crv": "Ed25519"},
        ]});
        let (keys, skipped) = ProviderKeys::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1, "{skipped:?}");
        assert_eq!(keys.find("a").map(|k| k.alg), Some(Alg::EdDsa));
        assert_eq!(skipped.len(), 7, "{skipped:?}");
        for bad in [&b"[]"[..], b"{}", b"not json", br#"{"keys": {}}"#] {
            assert!(ProviderKeys::parse(bad).is_err());
        }
        let many = json!({"keys": vec![ed_jwk("x"); MAX_JWKS_KEYS + 1]});
        assert!(ProviderKeys::parse(many.to_string().as_bytes()).is_err());
    }

    #[test]
    fn only_three_algorithms_exist() {
        for name in ["RS256", "ES256", "EdDSA"] {
            assert_eq!(Alg::parse(name).map(Alg::as_str), Some(name));
        }
        for name in ["none", "HS256", "RS512", "PS256", "ES384", "rs256", ""] {
            assert_eq!(Alg::parse(name), None, "{name}");
        }
    }
}
