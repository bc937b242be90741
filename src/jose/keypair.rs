//! Ed25519 signing and X25519 encryption key pairs, convertible to and from private JWKs.

use ed25519_dalek::SigningKey;
use rand_core::{CryptoRngCore, OsRng};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::b64;
use super::jwk::{Curve, OkpPublicJwk, PrivateOkpJwk};

/// Why a private JWK cannot become a key pair.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    #[error("kty must be \"OKP\", found {0:?}")]
    WrongKty(String),
    #[error("expected a {expected} key, found {found}")]
    WrongCurve { expected: &'static str, found: &'static str },
    #[error("\"d\" is not 32 bytes of base64url")]
    BadPrivate,
    #[error("\"x\" does not match the public key derived from \"d\"")]
    PublicMismatch,
}

/// An Ed25519 key pair with its RFC 7638 `kid`.
#[derive(Clone)]
pub struct SigningKeyPair {
    key: SigningKey,
    public: OkpPublicJwk,
}

impl SigningKeyPair {
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    pub fn generate_with(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_signing_key(SigningKey::generate(rng))
    }

    fn from_signing_key(key: SigningKey) -> Self {
        let public = OkpPublicJwk::new(Curve::Ed25519, key.verifying_key().as_bytes());
        Self { key, public }
    }

    pub fn from_jwk(jwk: &PrivateOkpJwk) -> Result<Self, KeyError> {
        let seed = private_bytes(jwk, Curve::Ed25519)?;
        let pair = Self::from_signing_key(SigningKey::from_bytes(&seed));
        check_public(jwk, &pair.public)?;
        Ok(pair)
    }

    pub fn to_jwk(&self) -> PrivateOkpJwk {
        let seed = Zeroizing::new(self.key.to_bytes());
        private_jwk(&self.public, &seed)
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    pub fn public_jwk(&self) -> &OkpPublicJwk {
        &self.public
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair").field("kid", &self.public.kid).finish()
    }
}

/// An X25519 key pair with its RFC 7638 `kid`.
pub struct EncryptionKeyPair {
    secret: StaticSecret,
    public: OkpPublicJwk,
}

impl EncryptionKeyPair {
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    pub fn generate_with(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = OkpPublicJwk::new(Curve::X25519, PublicKey::from(&secret).as_bytes());
        Self { secret, public }
    }

    pub fn from_jwk(jwk: &PrivateOkpJwk) -> Result<Self, KeyError> {
        let bytes = private_bytes(jwk, Curve::X25519)?;
        let pair = Self::from_secret(StaticSecret::from(*bytes));
        check_public(jwk, &pair.public)?;
        Ok(pair)
    }

    pub fn to_jwk(&self) -> PrivateOkpJwk {
        let bytes = Zeroizing::new(self.secret.to_bytes());
        private_jwk(&self.public, &bytes)
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    pub fn public_jwk(&self) -> &OkpPublicJwk {
        &self.public
    }

    pub fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl std::fmt::Debug for EncryptionKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionKeyPair").field("kid", &self.public.kid).finish()
    }
}

fn private_bytes(jwk: &PrivateOkpJwk, expected: Curve) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    if jwk.kty != "OKP" {
        return Err(KeyError::WrongKty(jwk.kty.clone()));
    }
    if jwk.crv != expected {
        return Err(KeyError::WrongCurve { expected: expected.as_str(), found: jwk.crv.as_str() });
    }
    b64::decode_array::<32>(&jwk.d).map(Zeroizing::new).ok_or(KeyError::BadPrivate)
}

fn check_public(jwk: &PrivateOkpJwk, derived: &OkpPublicJwk) -> Result<(), KeyError> {
    if jwk.x == derived.x { Ok(()) } else { Err(KeyError::PublicMismatch) }
}

fn private_jwk(public: &OkpPublicJwk, private: &[u8; 32]) -> PrivateOkpJwk {
    PrivateOkpJwk { kty: "OKP".to_owned(), crv: public.crv, x: public.x.clone(), d: b64::encode(private) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc8037_key() -> PrivateOkpJwk {
        PrivateOkpJwk {
            kty: "OKP".into(),
            crv: Curve::Ed25519,
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into(),
        }
    }

    #[test]
    fn rfc8037_key_round_trips_with_its_thumbprint() {
        let pair = SigningKeyPair::from_jwk(&rfc8037_key()).unwrap();
        assert_eq!(pair.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(pair.to_jwk(), rfc8037_key());
    }

    #[test]
    fn mismatched_public_key_is_rejected() {
        let mut jwk = rfc8037_key();
        jwk.x = SigningKeyPair::generate().public_jwk().x.clone();
        assert_eq!(SigningKeyPair::from_jwk(&jwk).unwrap_err(), KeyError::PublicMismatch);
    }

    #[test]
    fn wrong_curve_and_bad_d_are_rejected() {
        let enc = EncryptionKeyPair::generate().to_jwk();
        assert!(matches!(SigningKeyPair::from_jwk(&enc), Err(KeyError::WrongCurve { .. })));
        let mut jwk = rfc8037_key();
        jwk.d = "short".into();
        assert_eq!(SigningKeyPair::from_jwk(&jwk).unwrap_err(), KeyError::BadPrivate);
    }

    #[test]
    fn x25519_round_trip() {
        let pair = EncryptionKeyPair::generate();
        let again = EncryptionKeyPair::from_jwk(&pair.to_jwk()).unwrap();
        assert_eq!(again.public_jwk(), pair.public_jwk());
        assert_eq!(pair.public_jwk().key_use, crate::jose::KeyUse::Enc);
    }
}
