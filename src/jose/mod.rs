//! JOSE building blocks over ed25519-dalek and x25519-dalek: OKP JWKs, RFC 7638
//! thumbprints and key pairs. JWS/JWE arrive with the bundle and relay work.

pub mod b64;
pub mod jwk;
pub mod keypair;

pub use jwk::{Curve, Jwks, KeyUse, OkpPublicJwk, PrivateOkpJwk, thumbprint};
pub use keypair::{EncryptionKeyPair, KeyError, SigningKeyPair};
