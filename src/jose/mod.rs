//! JOSE building blocks over ed25519-dalek and x25519-dalek: OKP JWKs, RFC 7638
//! thumbprints, key pairs, strict compact JWS, the JWE envelope and request proofs.

pub mod b64;
pub mod danger;
pub mod dpop;
pub mod jwe;
pub(crate) mod jwk;
pub mod jws;
mod keypair;
pub(crate) mod strict_json;

#[cfg(feature = "server")]
pub(crate) use jwk::example_jwks;
pub use jwk::{Curve, Jwks, KeyUse, OkpPublicJwk, PrivateOkpJwk, thumbprint};
pub use keypair::{EncryptionKeyPair, KeyError, SigningKeyPair};
