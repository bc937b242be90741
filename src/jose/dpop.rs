//! Request proofs in the shape of RFC 9449 (DPoP): a compact JWS, signed by the sender's
//! Ed25519 key and carrying that public key in its header, that binds one HTTP request
//! (`htm`, `htu`) to a moment (`iat`) and a one-time id (`jti`). The relay authenticates
//! every caller by the key that signed its proof; the replay check on `jti` is the
//! caller's job, because only it holds the store.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::b64;
use super::jwk::{Curve, OkpPublicJwk};
use super::jws::{self, JwsError};
use super::keypair::SigningKeyPair;
use super::strict_json;

/// The proof's `typ` (RFC 9449 §4.2).
pub const TYP: &str = "dpop+jwt";
/// The HTTP header a proof travels in.
pub const HEADER: &str = "DPoP";
/// Largest proof accepted, checked before decoding.
pub const MAX_PROOF_BYTES: usize = 2048;
/// How far `iat` may lie from the verifier's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 128;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("malformed proof: {0}")]
    Malformed(String),
    #[error("the proof's signature does not verify")]
    SignatureInvalid,
    #[error("the proof is for {found:?}, this request is {expected:?}")]
    WrongRequest { expected: String, found: String },
    #[error("the proof's iat is more than {MAX_CLOCK_SKEW_SECS} s from the server's clock")]
    Stale,
}

#[derive(Serialize)]
struct Header<'a> {
    typ: &'a str,
    alg: &'a str,
    jwk: ProofJwk<'a>,
}

#[derive(Serialize, Deserialize)]
struct ProofJwk<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
}

/// Signs a proof for `htm htu` at `iat` with a fresh random `jti`.
pub fn sign(key: &SigningKeyPair, htm: &str, htu: &str, iat: u64) -> String {
    let jwk = key.public_jwk();
    let header = Header { typ: TYP, alg: jws::ALG, jwk: ProofJwk { kty: "OKP", crv: jwk.crv.as_str(), x: &jwk.x } };
    let claims = Claims { jti: random_jti(), htm: htm.to_owned(), htu: request_uri(htu).to_owned(), iat };
    // Serializing strings and integers cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(&claims).unwrap_or_default();
    jws::sign_with_header(key.signing_key(), &header, &claims)
}

/// A proof that verified: who signed it, and its one-time id for the replay check.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// The signer's public key; its `kid` is the RFC 7638 thumbprint (`jkt`).
    pub key: OkpPublicJwk,
    pub jti: String,
    pub iat: u64,
}

/// Verifies `proof` for the request `htm htu` at time `now` (seconds).
pub fn verify(proof: &[u8], htm: &str, htu: &str, now: u64) -> Result<VerifiedProof, ProofError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed(format!("longer than {MAX_PROOF_BYTES} bytes")));
    }
    let text = std::str::from_utf8(proof).map_err(|_| ProofError::Malformed("not ASCII".into()))?;
    let mut parts = text.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed("a compact JWS has exactly three parts".into()));
    };
    let header = strict_json::parse_object(&decode(header_b64)?).map_err(|e| ProofError::Malformed(e.to_string()))?;
    if header.len() != 3 {
        return Err(ProofError::Malformed("the header must hold exactly typ, alg and jwk".into()));
    }
    if header.get("typ").and_then(Value::as_str) != Some(TYP) {
        return Err(ProofError::Malformed(format!("typ must be {TYP:?}")));
    }
    if header.get("alg").and_then(Value::as_str) != Some(jws::ALG) {
        return Err(ProofError::Malformed("alg must be EdDSA".into()));
    }
    let jwk: ProofJwk<'_> = header
        .get("jwk")
        .and_then(|v| ProofJwk::deserialize(v).ok())
        .filter(|k| k.kty == "OKP" && k.crv == "Ed25519")
        .ok_or_else(|| ProofError::Malformed("jwk must be a public OKP Ed25519 key".into()))?;
    let public = b64::decode_array::<32>(jwk.x).ok_or_else(|| ProofError::Malformed("jwk.x is not 32 bytes".into()))?;
    let signature = b64::decode_array::<64>(signature_b64)
        .ok_or_else(|| ProofError::Malformed("the signature is not 64 bytes of base64url".into()))?;
    let signing_input = &text[..header_b64.len() + 1 + claims_b64.len()];
    jws::verify_ed25519(&public, signing_input.as_bytes(), &signature).map_err(|e| match e {
        JwsError::SignatureInvalid => ProofError::SignatureInvalid,
        other => ProofError::Malformed(other.to_string()),
    })?;
    let claims: Claims = strict_json::parse(&decode(claims_b64)?)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| ProofError::Malformed("claims must be exactly jti, htm, htu and iat".into()))?;
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN || !claims.jti.bytes().all(base64url) {
        return Err(ProofError::Malformed(format!("jti must be 1 to {MAX_JTI_LEN} base64url characters")));
    }
    if claims.htm != htm || request_uri(&claims.htu) != request_uri(htu) {
        return Err(ProofError::WrongRequest {
            expected: format!("{htm} {}", request_uri(htu)),
            found: format!("{} {}", claims.htm, claims.htu),
        });
    }
    if claims.iat.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
        return Err(ProofError::Stale);
    }
    Ok(VerifiedProof { key: OkpPublicJwk::new(Curve::Ed25519, &public), jti: claims.jti, iat: claims.iat })
}

/// The URI a proof covers: the request URI without query and fragment (RFC 9449 §4.3).
pub fn request_uri(uri: &str) -> &str {
    uri.split(['?', '#']).next().unwrap_or(uri)
}

fn decode(part: &str) -> Result<Vec<u8>, ProofError> {
    b64::decode(part).map_err(|_| ProofError::Malformed("a part is not unpadded base64url".into()))
}

fn random_jti() -> String {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    b64::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://relay.example/v1/connect";

    #[test]
    fn signs_and_verifies() {
        let key = SigningKeyPair::generate();
        let proof = sign(&key, "POST", URL, 1000);
        let ok = verify(proof.as_bytes(), "POST", &format!("{URL}?x=1"), 1030).unwrap();
        assert_eq!(ok.key.kid, key.kid());
        assert_eq!(ok.iat, 1000);
    }

    #[test]
    fn refuses_other_requests_times_and_keys() {
        let key = SigningKeyPair::generate();
        let proof = sign(&key, "POST", URL, 1000);
        assert!(matches!(verify(proof.as_bytes(), "GET", URL, 1000), Err(ProofError::WrongRequest { .. })));
        let other = "https://relay.example/v1/connections";
        assert!(matches!(verify(proof.as_bytes(), "POST", other, 1000), Err(ProofError::WrongRequest { .. })));
        assert_eq!(verify(proof.as_bytes(), "POST", URL, 1061).unwrap_err(), ProofError::Stale);
        assert_eq!(verify(proof.as_bytes(), "POST", URL, 939).unwrap_err(), ProofError::Stale);
        let (head, rest) = proof.split_once('.').unwrap();
        let intruder = SigningKeyPair::generate();
        let swapped = String::from_utf8(b64::decode(head).unwrap())
            .unwrap()
            .replace(&key.public_jwk().x, &intruder.public_jwk().x);
        let forged = format!("{}.{rest}", b64::encode(swapped));
        assert_eq!(verify(forged.as_bytes(), "POST", URL, 1000).unwrap_err(), ProofError::SignatureInvalid);
    }
}
