//! Primitives that skip the policy the rest of `jose` enforces, for test vectors and
//! interop checks only (rustls's `danger` convention): signing an arbitrary protected
//! header, and the bare X25519 agreement. Product code never needs them.

use ed25519_dalek::SigningKey;

use super::jwe::JweError;

/// Signs `payload` under exactly `header_json`, byte for byte, whatever it says (RFC 8037
/// A.4 uses `{"alg":"EdDSA"}`; negative tests need forbidden members).
pub fn sign_with_header(key: &SigningKey, header_json: &[u8], payload: &[u8]) -> String {
    super::jws::sign_with_header(key, header_json, payload)
}

/// X25519 as JWE decryption does it: the shared secret, or an error for a low-order key.
pub fn agree(private: &[u8; 32], public: &[u8; 32]) -> Result<[u8; 32], JweError> {
    super::jwe::agree(private, public)
}
