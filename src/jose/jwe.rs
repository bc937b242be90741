//! Compact JWE with direct key agreement, ECDH-ES over X25519 and A256GCM (RFC 7516,
//! RFC 7518 §4.6, RFC 8037): the envelope every wallet↔gateway message travels in, so
//! the relay holds only ciphertext. Like the JWS verifier it is deliberately narrow:
//! one `alg`, one `enc`, no compression, no key-fetching header members.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use x25519_dalek::{EphemeralSecret, PublicKey, SharedSecret};
use zeroize::Zeroizing;

use super::b64;
use super::jwk::{Curve, OkpPublicJwk};
use super::keypair::EncryptionKeyPair;
use super::strict_json::{self, StrictJsonError};

pub const ALG: &str = "ECDH-ES";
pub const ENC: &str = "A256GCM";
/// Longest encoded protected header accepted (it carries one ephemeral key).
pub const MAX_HEADER_B64_LEN: usize = 1024;
/// Header members a decrypter refuses: compression (`zip`, a decompression bomb), key
/// material it would have to fetch or trust from the token, and unknown critical semantics.
pub const FORBIDDEN_HEADER_MEMBERS: &[&str] = &["zip", "crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"];

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a JWE was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    #[error("the JWE is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("malformed JWE: {0}")]
    Malformed(String),
    #[error("header member {0:?} is not allowed")]
    ForbiddenHeader(String),
    #[error("only alg ECDH-ES with enc A256GCM is accepted, found alg {alg:?} enc {enc:?}")]
    Unsupported { alg: String, enc: String },
    #[error("the JWE is for key {0:?}, which is not ours")]
    UnknownKid(String),
    #[error("the ephemeral public key is not a usable X25519 key")]
    BadEphemeralKey,
    #[error("the JWE does not decrypt: wrong key or altered ciphertext")]
    DecryptionFailed,
}

impl From<StrictJsonError> for JweError {
    fn from(e: StrictJsonError) -> Self {
        Self::Malformed(e.to_string())
    }
}

#[derive(Serialize)]
struct Epk<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    enc: &'a str,
    kid: &'a str,
    cty: &'a str,
    epk: Epk<'a>,
}

/// Encrypts `plaintext` to `recipient` (an X25519 JWK). `cty` names what is inside.
pub fn encrypt(recipient: &OkpPublicJwk, cty: &str, plaintext: &[u8]) -> Result<String, JweError> {
    let recipient_key = x25519_public(recipient)?;
    let ephemeral = EphemeralSecret::random_from_rng(OsRng);
    let epk_x = b64::encode(PublicKey::from(&ephemeral).as_bytes());
    let shared = ephemeral.diffie_hellman(&recipient_key);
    let cek = content_key(&shared)?;
    let header = Header {
        alg: ALG,
        enc: ENC,
        kid: &recipient.kid,
        cty,
        epk: Epk { kty: "OKP", crv: Curve::X25519.as_str(), x: &epk_x },
    };
    // Serializing strings cannot fail.
    let header_b64 = b64::encode(serde_json::to_vec(&header).unwrap_or_default());
    let mut iv = [0u8; IV_LEN];
    OsRng.fill_bytes(&mut iv);
    let cipher = Aes256Gcm::new((&*cek).into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&iv), Payload { msg: plaintext, aad: header_b64.as_bytes() })
        .map_err(|_| JweError::Malformed("plaintext too large for AES-GCM".into()))?;
    let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
    Ok(format!("{header_b64}..{}.{}.{}", b64::encode(iv), b64::encode(ciphertext), b64::encode(tag)))
}

/// A decrypted JWE.
#[derive(Debug)]
pub struct Decrypted {
    pub header: Map<String, Value>,
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// Decrypts a compact JWE addressed (by `kid`) to one of `keys`, refusing anything larger
/// than `max_bytes` before decoding.
pub fn decrypt(token: &[u8], keys: &[&EncryptionKeyPair], max_bytes: usize) -> Result<Decrypted, JweError> {
    let parts = split(token, max_bytes)?;
    let header_json = decode(parts.header, "header")?;
    let header = strict_json::parse_object(&header_json)?;
    if let Some(name) = FORBIDDEN_HEADER_MEMBERS.iter().find(|m| header.contains_key(**m)) {
        return Err(JweError::ForbiddenHeader((*name).to_owned()));
    }
    let (alg, enc) = (string_member(&header, "alg")?, string_member(&header, "enc")?);
    if alg != ALG || enc != ENC {
        return Err(JweError::Unsupported { alg: alg.to_owned(), enc: enc.to_owned() });
    }
    let kid = string_member(&header, "kid")?;
    let key = keys.iter().find(|k| k.kid() == kid).ok_or_else(|| JweError::UnknownKid(kid.to_owned()))?;
    let epk = ephemeral_key(&header)?;
    if !parts.encrypted_key.is_empty() {
        return Err(JweError::Malformed("ECDH-ES direct agreement has an empty encrypted key".into()));
    }
    let iv = b64::decode_array::<IV_LEN>(parts.iv)
        .ok_or_else(|| JweError::Malformed("the IV is not 96 bits of base64url".into()))?;
    let tag = b64::decode_array::<TAG_LEN>(parts.tag)
        .ok_or_else(|| JweError::Malformed("the tag is not 128 bits of base64url".into()))?;
    let mut sealed = decode(parts.ciphertext, "ciphertext")?;
    sealed.extend_from_slice(&tag);
    let cek = content_key(&key.secret().diffie_hellman(&epk))?;
    let cipher = Aes256Gcm::new((&*cek).into());
    let plaintext = cipher
        .decrypt(Nonce::from_slice(&iv), Payload { msg: &sealed, aad: parts.header.as_bytes() })
        .map_err(|_| JweError::DecryptionFailed)?;
    Ok(Decrypted { header, plaintext: Zeroizing::new(plaintext) })
}

/// The five parts of a compact JWE.
struct Parts<'a> {
    header: &'a str,
    encrypted_key: &'a str,
    iv: &'a str,
    ciphertext: &'a str,
    tag: &'a str,
}

/// Checks the shape of a compact JWE without decrypting it: five base64url parts, a
/// protected header naming ECDH-ES/A256GCM. The relay uses this to refuse anything that
/// is not an envelope, without holding a key.
pub fn check_shape(token: &[u8], max_bytes: usize) -> Result<(), JweError> {
    let parts = split(token, max_bytes)?;
    let header = strict_json::parse_object(&decode(parts.header, "header")?)?;
    let (alg, enc) = (string_member(&header, "alg")?, string_member(&header, "enc")?);
    if alg != ALG || enc != ENC {
        return Err(JweError::Unsupported { alg: alg.to_owned(), enc: enc.to_owned() });
    }
    if let Some(name) = FORBIDDEN_HEADER_MEMBERS.iter().find(|m| header.contains_key(**m)) {
        return Err(JweError::ForbiddenHeader((*name).to_owned()));
    }
    ephemeral_key(&header)?;
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !parts.encrypted_key.is_empty() || parts.iv.len() != 16 || parts.tag.len() != 22 || !base64url(parts.ciphertext)
    {
        return Err(JweError::Malformed("not an ECDH-ES/A256GCM compact JWE".into()));
    }
    Ok(())
}

fn split(token: &[u8], max_bytes: usize) -> Result<Parts<'_>, JweError> {
    if token.len() > max_bytes {
        return Err(JweError::TooLarge { limit: max_bytes });
    }
    let token = std::str::from_utf8(token).map_err(|_| JweError::Malformed("not ASCII".into()))?;
    let mut it = token.split('.');
    let (Some(header), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) =
        (it.next(), it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(JweError::Malformed("a compact JWE has exactly five parts".into()));
    };
    if header.len() > MAX_HEADER_B64_LEN {
        return Err(JweError::Malformed(format!("the header is longer than {MAX_HEADER_B64_LEN} characters")));
    }
    Ok(Parts { header, encrypted_key, iv, ciphertext, tag })
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, JweError> {
    b64::decode(text).map_err(|_| JweError::Malformed(format!("the {what} is not unpadded base64url")))
}

fn string_member<'a>(header: &'a Map<String, Value>, name: &str) -> Result<&'a str, JweError> {
    match header.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(JweError::Malformed(format!("{name:?} must be a string"))),
        None => Err(JweError::Malformed(format!("the header has no {name:?}"))),
    }
}

fn ephemeral_key(header: &Map<String, Value>) -> Result<PublicKey, JweError> {
    let Some(Value::Object(epk)) = header.get("epk") else {
        return Err(JweError::Malformed("the header has no \"epk\" object".into()));
    };
    let member = |name| epk.get(name).and_then(Value::as_str);
    if member("kty") != Some("OKP") || member("crv") != Some("X25519") || epk.contains_key("d") {
        return Err(JweError::BadEphemeralKey);
    }
    let x = member("x").and_then(b64::decode_array::<32>).ok_or(JweError::BadEphemeralKey)?;
    Ok(PublicKey::from(x))
}

/// An X25519 public key from a JWK, refusing any other key type.
pub fn x25519_public(jwk: &OkpPublicJwk) -> Result<PublicKey, JweError> {
    if jwk.kty != "OKP" || jwk.crv != Curve::X25519 {
        return Err(JweError::BadEphemeralKey);
    }
    b64::decode_array::<32>(&jwk.x).map(PublicKey::from).ok_or(JweError::BadEphemeralKey)
}

/// The content encryption key: Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) over the
/// shared secret, with AlgorithmID = `enc` (direct agreement), empty `apu`/`apv`. A
/// low-order peer key yields an all-zero secret; refusing it (RFC 7748 §6.1) stops an
/// attacker from forcing a known key.
fn content_key(shared: &SharedSecret) -> Result<Zeroizing<[u8; 32]>, JweError> {
    if !shared.was_contributory() {
        return Err(JweError::BadEphemeralKey);
    }
    Ok(concat_kdf(shared.as_bytes()))
}

/// One round of the Concat KDF for a 256-bit key.
fn concat_kdf(z: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut hash = Sha256::new();
    hash.update(1u32.to_be_bytes());
    hash.update(z);
    for field in [ENC.as_bytes(), b"", b""] {
        hash.update((field.len() as u32).to_be_bytes());
        hash.update(field);
    }
    hash.update(256u32.to_be_bytes());
    Zeroizing::new(hash.finalize().into())
}

/// X25519 under our JWE policy: the shared secret, or an error for a low-order key. The
/// Wycheproof vectors test it through `jose::danger::agree`.
pub(crate) fn agree(private: &[u8; 32], public: &[u8; 32]) -> Result<[u8; 32], JweError> {
    let shared = x25519_dalek::StaticSecret::from(*private).diffie_hellman(&PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(JweError::BadEphemeralKey);
    }
    Ok(shared.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> EncryptionKeyPair {
        EncryptionKeyPair::generate()
    }

    #[test]
    fn round_trip() {
        let key = recipient();
        let jwe = encrypt(key.public_jwk(), "JWT", b"hello").unwrap();
        check_shape(jwe.as_bytes(), 1 << 20).unwrap();
        let out = decrypt(jwe.as_bytes(), &[&key], 1 << 20).unwrap();
        assert_eq!(&*out.plaintext, b"hello");
        assert_eq!(out.header["cty"], "JWT");
    }

    #[test]
    fn wrong_key_and_tampering_fail() {
        let (key, other) = (recipient(), recipient());
        let jwe = encrypt(key.public_jwk(), "JWT", b"hello").unwrap();
        assert!(matches!(decrypt(jwe.as_bytes(), &[&other], 1 << 20), Err(JweError::UnknownKid(_))));
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        parts[3] = b64::encode(b"jello");
        let tampered = parts.join(".");
        assert_eq!(decrypt(tampered.as_bytes(), &[&key], 1 << 20).unwrap_err(), JweError::DecryptionFailed);
    }

    #[test]
    fn header_rules() {
        let key = recipient();
        let jwe = encrypt(key.public_jwk(), "JWT", b"x").unwrap();
        let rest = jwe.split_once('.').unwrap().1;
        let with_header = |h: &str| format!("{}.{rest}", b64::encode(h));
        let epk = format!(r#"{{"kty":"OKP","crv":"X25519","x":"{}"}}"#, b64::encode([9u8; 32]));
        for (header, expected) in [
            (format!(r#"{{"alg":"ECDH-ES","enc":"A256GCM","kid":"{}","epk":{epk},"zip":"DEF"}}"#, key.kid()), "zip"),
            (format!(r#"{{"alg":"RSA1_5","enc":"A256GCM","kid":"{}","epk":{epk}}}"#, key.kid()), "Unsupported"),
            (format!(r#"{{"alg":"ECDH-ES","enc":"A128CBC-HS256","kid":"{}","epk":{epk}}}"#, key.kid()), "Unsupported"),
            (
                format!(r#"{{"alg":"ECDH-ES","alg":"ECDH-ES","enc":"A256GCM","kid":"{}","epk":{epk}}}"#, key.kid()),
                "Malformed",
            ),
        ] {
            let err = decrypt(with_header(&header).as_bytes(), &[&key], 1 << 20).unwrap_err();
            assert!(format!("{err:?}").contains(expected), "{header}: {err:?}");
        }
        assert!(matches!(decrypt(jwe.as_bytes(), &[&key], 10), Err(JweError::TooLarge { limit: 10 })));
    }

    #[test]
    fn low_order_ephemeral_key_is_refused() {
        let key = recipient();
        let jwe = encrypt(key.public_jwk(), "JWT", b"x").unwrap();
        let rest = jwe.split_once('.').unwrap().1;
        let header = format!(
            r#"{{"alg":"ECDH-ES","enc":"A256GCM","kid":"{}","epk":{{"kty":"OKP","crv":"X25519","x":"{}"}}}}"#,
            key.kid(),
            b64::encode([0u8; 32])
        );
        let forged = format!("{}.{rest}", b64::encode(header));
        assert_eq!(decrypt(forged.as_bytes(), &[&key], 1 << 20).unwrap_err(), JweError::BadEphemeralKey);
    }
}
