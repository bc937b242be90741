//! Blobs: content too large for a mailbox message (a bundle over the envelope cap) travels
//! as ciphertext stored at the relay, named by a message that carries its key and hash
//! (`docs/protocol.md` § Blobs). Encryption is chunked AES-256-GCM in the STREAM
//! construction, RustCrypto's `aead::stream` (`StreamBE32`): each chunk is sealed under a
//! nonce of a random prefix, the chunk counter and a last-chunk flag, so chunks cannot be
//! reordered, dropped or cut off unnoticed, and neither side ever holds more than a chunk of
//! ciphertext. `tests/vectors/blob_stream.json`, computed from the spec by Python's
//! `cryptography`, pins the bytes.

use aead::KeyInit;
use aead::generic_array::GenericArray;
use aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::Aes256Gcm;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::jose::b64;

/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// GCM tag bytes added to every chunk.
pub const TAG_BYTES: usize = 16;
/// Ciphertext bytes of every chunk but the last.
pub const SEALED_CHUNK_BYTES: usize = CHUNK_BYTES + TAG_BYTES;
/// Media type of a blob upload and download.
pub const MEDIA_TYPE: &str = "application/octet-stream";
const PREFIX_BYTES: usize = 7;

/// What the message carries about a blob: where it is, how to check it, how to open it.
/// `Debug` leaves the key out, so a logged message never opens its blob.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    pub blob_id: String,
    /// Ciphertext bytes at the relay.
    pub size: u64,
    /// SHA-256 of the ciphertext, lowercase hex: checked before anything is opened.
    pub sha256: String,
    /// The AES-256 key, base64url; it travels only inside the JWE message.
    pub key: String,
    /// The nonce prefix, base64url (7 bytes).
    pub nonce_prefix: String,
}

impl std::fmt::Debug for BlobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobRef")
            .field("blob_id", &self.blob_id)
            .field("size", &self.size)
            .field("sha256", &self.sha256)
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Why a blob was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("the blob reference is malformed: {0}")]
    Malformed(&'static str),
    #[error("the blob does not decrypt: it was altered, reordered or cut off")]
    Corrupt,
    #[error("the blob is {found} bytes, not the {expected} its message names")]
    WrongSize { expected: u64, found: u64 },
    #[error("the blob's SHA-256 is not the one its message names")]
    HashMismatch,
    #[error("the blob holds more than {0} bytes")]
    TooLarge(u64),
}

/// A fresh key and nonce prefix for one blob.
#[derive(Clone)]
pub struct BlobKey {
    key: [u8; 32],
    prefix: [u8; PREFIX_BYTES],
}

impl BlobKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        let mut prefix = [0u8; PREFIX_BYTES];
        OsRng.fill_bytes(&mut key);
        OsRng.fill_bytes(&mut prefix);
        Self { key, prefix }
    }

    pub fn sealer(&self) -> Sealer {
        let cipher = Aes256Gcm::new(&self.key.into());
        Sealer { stream: Some(EncryptorBE32::from_aead(cipher, GenericArray::from_slice(&self.prefix))) }
    }

    /// The reference for the blob sealed under this key and stored as `blob_id`.
    pub fn reference(&self, blob_id: String, size: u64, sha256: String) -> BlobRef {
        BlobRef { blob_id, size, sha256, key: b64::encode(self.key), nonce_prefix: b64::encode(self.prefix) }
    }
}

/// Seals chunks in order under one [`BlobKey`].
pub struct Sealer {
    /// `None` once the last chunk is sealed.
    stream: Option<EncryptorBE32<Aes256Gcm>>,
}

impl Sealer {
    /// Seals the next chunk of at most [`CHUNK_BYTES`]; `last` for the final one (which
    /// may be empty). `None` after the last chunk, or past 2^32 chunks (256 TiB).
    pub fn seal(&mut self, chunk: &[u8], last: bool) -> Option<Vec<u8>> {
        debug_assert!(chunk.len() <= CHUNK_BYTES);
        if last {
            return self.stream.take()?.encrypt_last(chunk).ok();
        }
        self.stream.as_mut()?.encrypt_next(chunk).ok()
    }
}

/// The sealed form of `plaintext`, chunk by chunk, computed as it is read.
pub fn sealed_chunks(plaintext: Vec<u8>, mut sealer: Sealer) -> impl Iterator<Item = Vec<u8>> {
    let count = plaintext.len().div_ceil(CHUNK_BYTES).max(1);
    (0..count).map_while(move |i| {
        let end = ((i + 1) * CHUNK_BYTES).min(plaintext.len());
        sealer.seal(&plaintext[i * CHUNK_BYTES..end], i + 1 == count)
    })
}

/// Ciphertext bytes of a plaintext of `len` bytes.
pub const fn sealed_len(len: u64) -> u64 {
    let chunks = len.div_ceil(CHUNK_BYTES as u64);
    let chunks = if chunks == 0 { 1 } else { chunks };
    len + chunks * TAG_BYTES as u64
}

/// Opens a blob as its ciphertext streams in, hashing it on the way, holding at most one
/// chunk; [`Opener::finish`] checks size, hash and that the last chunk was the last.
pub struct Opener {
    /// `None` once the last chunk is opened.
    stream: Option<DecryptorBE32<Aes256Gcm>>,
    pending: Vec<u8>,
    hash: Sha256,
    seen: u64,
    expected_size: u64,
    expected_sha256: String,
    max_plaintext: u64,
    opened: u64,
}

impl Opener {
    /// Refuses blobs whose plaintext would exceed `max_plaintext` bytes before reading them.
    pub fn new(blob: &BlobRef, max_plaintext: u64) -> Result<Self, BlobError> {
        let key: [u8; 32] = b64::decode(&blob.key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or(BlobError::Malformed("key must be 32 bytes, base64url"))?;
        let prefix: [u8; PREFIX_BYTES] = b64::decode(&blob.nonce_prefix)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or(BlobError::Malformed("nonce_prefix must be 7 bytes, base64url"))?;
        if blob.sha256.len() != 64 || !blob.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BlobError::Malformed("sha256 must be 64 lowercase hex digits"));
        }
        if blob.size > sealed_len(max_plaintext) {
            return Err(BlobError::TooLarge(max_plaintext));
        }
        let cipher = Aes256Gcm::new(&key.into());
        Ok(Self {
            stream: Some(DecryptorBE32::from_aead(cipher, GenericArray::from_slice(&prefix))),
            pending: Vec::with_capacity(SEALED_CHUNK_BYTES * 2),
            hash: Sha256::new(),
            seen: 0,
            expected_size: blob.size,
            expected_sha256: blob.sha256.clone(),
            max_plaintext,
            opened: 0,
        })
    }

    /// Takes the next bytes of ciphertext; returns the plaintext of every chunk that is
    /// certainly not the last.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<u8>, BlobError> {
        self.seen += bytes.len() as u64;
        if self.seen > self.expected_size {
            return Err(BlobError::WrongSize { expected: self.expected_size, found: self.seen });
        }
        self.hash.update(bytes);
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        // A full chunk followed by more bytes cannot be the last one.
        let mut at = 0;
        while self.pending.len() - at > SEALED_CHUNK_BYTES {
            let chunk = self.pending[at..at + SEALED_CHUNK_BYTES].to_vec();
            out.extend(self.open(&chunk, false)?);
            at += SEALED_CHUNK_BYTES;
        }
        self.pending.drain(..at);
        Ok(out)
    }

    /// Checks the whole blob and opens its last chunk.
    pub fn finish(mut self) -> Result<Vec<u8>, BlobError> {
        if self.seen != self.expected_size {
            return Err(BlobError::WrongSize { expected: self.expected_size, found: self.seen });
        }
        if hex::encode(self.hash.clone().finalize()) != self.expected_sha256 {
            return Err(BlobError::HashMismatch);
        }
        let last = std::mem::take(&mut self.pending);
        self.open(&last, true)
    }

    fn open(&mut self, chunk: &[u8], last: bool) -> Result<Vec<u8>, BlobError> {
        let plain = if last {
            self.stream.take().ok_or(BlobError::Corrupt)?.decrypt_last(chunk)
        } else {
            self.stream.as_mut().ok_or(BlobError::Corrupt)?.decrypt_next(chunk)
        };
        let plain = plain.map_err(|_| BlobError::Corrupt)?;
        self.opened += plain.len() as u64;
        if self.opened > self.max_plaintext {
            return Err(BlobError::TooLarge(self.max_plaintext));
        }
        Ok(plain)
    }
}

/// SHA-256 of all `chunks`, lowercase hex, and their total length.
pub fn digest<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (String, u64) {
    let mut hash = Sha256::new();
    let mut len = 0u64;
    for chunk in chunks {
        hash.update(chunk);
        len += chunk.len() as u64;
    }
    (hex::encode(hash.finalize()), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
    }

    /// The bytes an independent implementation (Python's `cryptography`, from the spec
    /// alone: `tests/interop/blob_vectors.py`) computes: sealed alike, opened alike.
    #[test]
    fn blobs_match_the_independent_vectors() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/blob_stream.json")).unwrap();
        let mut opened_one = false;
        for case in vectors["vectors"].as_array().unwrap() {
            let field = |name: &str| case[name].as_str().unwrap().to_owned();
            let key = BlobKey {
                key: b64::decode(&field("key")).unwrap().try_into().unwrap(),
                prefix: b64::decode(&field("nonce_prefix")).unwrap().try_into().unwrap(),
            };
            let plaintext = vector_plaintext(case["plaintext_len"].as_u64().unwrap() as usize);
            let chunks: Vec<Vec<u8>> = sealed_chunks(plaintext.clone(), key.sealer()).collect();
            let (sha256, size) = digest(chunks.iter().map(Vec::as_slice));
            assert_eq!((sha256.as_str(), size), (field("sha256").as_str(), case["size"].as_u64().unwrap()));
            if let Some(blob) = case["blob"].as_str() {
                let blob = b64::decode(blob).unwrap();
                assert_eq!(blob, chunks.concat());
                let reference = key.reference("b".into(), size, sha256);
                let mut opener = Opener::new(&reference, plaintext.len() as u64).unwrap();
                let mut opened = opener.push(&blob).unwrap();
                opened.extend(opener.finish().unwrap());
                assert_eq!(opened, plaintext);
                opened_one = true;
            }
        }
        assert!(opened_one && vectors["vectors"].as_array().unwrap().len() >= 5);
    }

    fn sealed(plaintext: &[u8]) -> (BlobRef, Vec<Vec<u8>>) {
        let key = BlobKey::generate();
        let chunks: Vec<Vec<u8>> = sealed_chunks(plaintext.to_vec(), key.sealer()).collect();
        let (sha256, size) = digest(chunks.iter().map(Vec::as_slice));
        (key.reference("b".into(), size, sha256), chunks)
    }

    fn open_all(blob: &BlobRef, chunks: &[Vec<u8>], feed: usize) -> Result<Vec<u8>, BlobError> {
        let mut opener = Opener::new(blob, 1 << 30)?;
        let all: Vec<u8> = chunks.concat();
        let mut out = Vec::new();
        for piece in all.chunks(feed) {
            out.extend(opener.push(piece)?);
        }
        out.extend(opener.finish()?);
        Ok(out)
    }

    #[test]
    fn a_blob_reference_never_shows_its_key() {
        let (blob, _) = sealed(b"x");
        assert!(!format!("{blob:?}").contains(&blob.key));
    }

    #[test]
    fn blobs_round_trip_at_every_size_and_feed() {
        for len in [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (blob, chunks) = sealed(&plaintext);
            assert_eq!(blob.size, sealed_len(len as u64));
            for feed in [1000, SEALED_CHUNK_BYTES, 1 << 20] {
                assert_eq!(open_all(&blob, &chunks, feed).unwrap(), plaintext, "len {len} feed {feed}");
            }
        }
    }

    #[test]
    fn altered_reordered_truncated_or_extended_blobs_are_refused() {
        let plaintext = vec![7u8; 2 * CHUNK_BYTES + 5];
        let (blob, chunks) = sealed(&plaintext);
        // Intact ciphertext under another hash than the message names.
        let other = BlobRef { sha256: "0".repeat(64), ..blob.clone() };
        assert_eq!(open_all(&other, &chunks, 4096), Err(BlobError::HashMismatch));
        // One bit flipped: the chunk fails its tag as it streams in, before the hash is done.
        let mut flipped = chunks.clone();
        flipped[1][3] ^= 1;
        assert_eq!(open_all(&blob, &flipped, 4096), Err(BlobError::Corrupt));
        let (sha256, size) = digest(flipped.iter().map(Vec::as_slice));
        let rehashed = BlobRef { sha256, size, ..blob.clone() };
        assert_eq!(open_all(&rehashed, &flipped, 4096), Err(BlobError::Corrupt));
        let reordered = vec![chunks[1].clone(), chunks[0].clone(), chunks[2].clone()];
        let (sha256, size) = digest(reordered.iter().map(Vec::as_slice));
        assert_eq!(open_all(&BlobRef { sha256, size, ..blob.clone() }, &reordered, 4096), Err(BlobError::Corrupt));
        // Cut after a full chunk: the new last chunk was not sealed as last.
        let cut = chunks[..2].to_vec();
        let (sha256, size) = digest(cut.iter().map(Vec::as_slice));
        assert_eq!(open_all(&BlobRef { sha256, size, ..blob.clone() }, &cut, 4096), Err(BlobError::Corrupt));
        assert!(matches!(
            open_all(&BlobRef { size: blob.size - 1, ..blob.clone() }, &chunks, 4096),
            Err(BlobError::WrongSize { .. })
        ));
        let small = Opener::new(&blob, 10).err();
        assert_eq!(small, Some(BlobError::TooLarge(10)));
    }
}
