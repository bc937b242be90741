//! The controller's keys on disk: Ed25519 to sign bundles and receipts, X25519 to decrypt
//! wallet messages. Each key is a private JWK in its own 0600 file under `<data_dir>/keys`;
//! the newest of each kind is active, older ones stay published as verify-only.

pub(crate) mod private_file;
mod pseudonym_secret;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::UnixSeconds;
use crate::jose::{Curve, EncryptionKeyPair, Jwks, KeyError, PrivateOkpJwk, SigningKeyPair};
pub(crate) use private_file::PrivateFileError;
pub(crate) use pseudonym_secret::{PSEUDONYM_PREFIX, PseudonymSecret};

/// How long a signing key stays valid after its successor was created: `keys rotate` only
/// writes the new key, and each instance signs with the old one until it restarts, which
/// the operator must do within this time.
pub(crate) const RETIREMENT_GRACE_SECS: UnixSeconds = 7 * 24 * 3600;
/// Most key files a keyring reads; rotation beyond this needs old keys pruned.
pub(crate) const MAX_KEYS: usize = 256;
/// Largest key file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    #[error(transparent)]
    File(#[from] PrivateFileError),
    #[error("cannot list key directory {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a key file: {message}")]
    Malformed { path: PathBuf, message: String },
    #[error("key directory {0} holds more than {MAX_KEYS} keys")]
    TooMany(PathBuf),
    #[error("no keys in {0}; start the gateway once to create them")]
    Empty(PathBuf),
}

/// A key file's content.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    /// Orders keys of one kind; the highest is active.
    generation: u32,
    created_at: UnixSeconds,
    jwk: PrivateOkpJwk,
}

/// One key with its place in the rotation history.
#[derive(Debug)]
pub(crate) struct Stored<K> {
    pub pair: K,
    pub generation: u32,
    pub created_at: UnixSeconds,
}

/// What `keys list` shows about a key; no private material.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub curve: Curve,
    pub created_at: UnixSeconds,
    pub active: bool,
}

/// All keys of this controller, newest first within each kind.
#[derive(Debug)]
pub struct Keyring {
    dir: PathBuf,
    signing: Vec<Stored<SigningKeyPair>>,
    encryption: Vec<Stored<EncryptionKeyPair>>,
    /// Keys forgotten people's pseudonyms; made when the gateway opens the ring.
    pseudonym: Option<PseudonymSecret>,
}

impl Keyring {
    /// Opens the keyring in `dir`, generating the first key of each kind when missing.
    /// Returns whether keys were created.
    pub fn open_or_create(dir: &Path, now: UnixSeconds) -> Result<(Self, bool), KeyringError> {
        private_file::create_dir(dir)?;
        let mut ring = Self::read(dir)?;
        let created = ring.signing.is_empty() || ring.encryption.is_empty();
        if ring.signing.is_empty() {
            ring.add_signing(SigningKeyPair::generate(), now)?;
        }
        if ring.encryption.is_empty() {
            ring.add_encryption(EncryptionKeyPair::generate(), now)?;
        }
        if ring.pseudonym.is_none() {
            ring.pseudonym = Some(pseudonym_secret::open_or_create(dir)?);
        }
        Ok((ring, created))
    }

    /// Opens an existing keyring; an empty or missing one is an error.
    pub fn open(dir: &Path) -> Result<Self, KeyringError> {
        if !dir.is_dir() {
            return Err(KeyringError::Empty(dir.to_owned()));
        }
        let ring = Self::read(dir)?;
        if ring.signing.is_empty() || ring.encryption.is_empty() {
            return Err(KeyringError::Empty(dir.to_owned()));
        }
        Ok(ring)
    }

    fn read(dir: &Path) -> Result<Self, KeyringError> {
        let dir_err = |source| KeyringError::Dir { path: dir.to_owned(), source };
        let pseudonym = pseudonym_secret::read(dir)?;
        let mut ring = Self { dir: dir.to_owned(), signing: Vec::new(), encryption: Vec::new(), pseudonym };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(dir_err)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(dir_err)?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
        if paths.len() > MAX_KEYS {
            return Err(KeyringError::TooMany(dir.to_owned()));
        }
        for path in paths {
            let malformed = |message: String| KeyringError::Malformed { path: path.clone(), message };
            let bytes = zeroize::Zeroizing::new(private_file::read(&path, MAX_KEY_FILE_BYTES)?);
            let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
            let key_err = |e: KeyError| malformed(e.to_string());
            match file.jwk.crv {
                Curve::Ed25519 => ring.signing.push(Stored {
                    pair: SigningKeyPair::from_jwk(&file.jwk).map_err(key_err)?,
                    generation: file.generation,
                    created_at: file.created_at,
                }),
                Curve::X25519 => ring.encryption.push(Stored {
                    pair: EncryptionKeyPair::from_jwk(&file.jwk).map_err(key_err)?,
                    generation: file.generation,
                    created_at: file.created_at,
                }),
            }
        }
        ring.signing.sort_by_key(|k| std::cmp::Reverse(k.generation));
        ring.encryption.sort_by_key(|k| std::cmp::Reverse(k.generation));
        Ok(ring)
    }

    /// Makes a new signing and a new encryption key active; the old ones stay published
    /// (verify-only, decrypt-only) so bundles and messages in flight remain valid.
    pub fn rotate(&mut self, now: UnixSeconds) -> Result<(), KeyringError> {
        if self.signing.len() + self.encryption.len() + 2 > MAX_KEYS {
            return Err(KeyringError::TooMany(self.dir.clone()));
        }
        self.add_signing(SigningKeyPair::generate(), now)?;
        self.add_encryption(EncryptionKeyPair::generate(), now)
    }

    fn add_signing(&mut self, pair: SigningKeyPair, now: UnixSeconds) -> Result<(), KeyringError> {
        let generation = self.signing.first().map_or(1, |k| k.generation + 1);
        self.write("signing", generation, now, pair.to_jwk(), pair.kid())?;
        self.signing.insert(0, Stored { pair, generation, created_at: now });
        Ok(())
    }

    fn add_encryption(&mut self, pair: EncryptionKeyPair, now: UnixSeconds) -> Result<(), KeyringError> {
        let generation = self.encryption.first().map_or(1, |k| k.generation + 1);
        self.write("encryption", generation, now, pair.to_jwk(), pair.kid())?;
        self.encryption.insert(0, Stored { pair, generation, created_at: now });
        Ok(())
    }

    fn write(
        &self,
        kind: &str,
        generation: u32,
        now: UnixSeconds,
        jwk: PrivateOkpJwk,
        kid: &str,
    ) -> Result<(), KeyringError> {
        let file = KeyFile { generation, created_at: now, jwk };
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(&file)
                .map_err(|e| KeyringError::Malformed { path: self.dir.clone(), message: e.to_string() })?,
        );
        let path = self.dir.join(format!("{kind}-{generation:04}-{kid}.json"));
        private_file::write(&path, &bytes)?;
        Ok(())
    }

    /// The secret forgotten people's pseudonyms are keyed with; present whenever the ring
    /// was opened by [`Keyring::open_or_create`], as the gateway opens it.
    pub(crate) fn pseudonym_secret(&self) -> Option<&PseudonymSecret> {
        self.pseudonym.as_ref()
    }

    pub fn active_signing(&self) -> &SigningKeyPair {
        // Both constructors guarantee at least one key of each kind.
        &self.signing[0].pair
    }

    pub fn active_encryption(&self) -> &EncryptionKeyPair {
        &self.encryption[0].pair
    }

    /// Public signing keys, active first, each with its period of use (`nbf`: created;
    /// `exp`: its successor's creation plus [`RETIREMENT_GRACE_SECS`]): what
    /// `/.well-known/jwks.json` serves, and what a verifier archives to check bundles years
    /// later, after rotations.
    pub fn jwks(&self) -> Jwks {
        let successors = std::iter::once(None).chain(self.signing.iter().map(|k| Some(k.created_at)));
        let keys = self.signing.iter().zip(successors).map(|(k, successor)| {
            let mut jwk = k.pair.public_jwk().clone();
            jwk.nbf = Some(k.created_at);
            jwk.exp = successor.map(|at| at.saturating_add(RETIREMENT_GRACE_SECS));
            jwk
        });
        Jwks { keys: keys.collect() }
    }

    /// Public encryption keys, active first.
    /// Every encryption key, active first: old ones still open what was sealed to them.
    pub fn encryption_keys(&self) -> impl Iterator<Item = &EncryptionKeyPair> {
        self.encryption.iter().map(|k| &k.pair)
    }

    pub fn encryption_jwks(&self) -> Jwks {
        Jwks { keys: self.encryption.iter().map(|k| k.pair.public_jwk().clone()).collect() }
    }

    pub fn list(&self) -> Vec<KeyInfo> {
        let signing = self.signing.iter().enumerate().map(|(i, k)| (i, k.pair.public_jwk(), k.created_at));
        let encryption = self.encryption.iter().enumerate().map(|(i, k)| (i, k.pair.public_jwk(), k.created_at));
        signing
            .chain(encryption)
            .map(|(i, jwk, created_at)| KeyInfo { kid: jwk.kid.clone(), curve: jwk.crv, created_at, active: i == 0 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_reopens_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let (ring, created) = Keyring::open_or_create(&keys, 10).unwrap();
        assert!(created);
        let kid = ring.active_signing().kid().to_owned();
        let (mut again, created) = Keyring::open_or_create(&keys, 20).unwrap();
        assert!(!created);
        assert_eq!(again.active_signing().kid(), kid);
        again.rotate(30).unwrap();
        let reopened = Keyring::open(&keys).unwrap();
        assert_ne!(reopened.active_signing().kid(), kid);
        let jwks = reopened.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(
            (jwks.keys[1].kid.as_str(), jwks.keys[1].nbf, jwks.keys[1].exp),
            (kid.as_str(), Some(10), Some(30 + RETIREMENT_GRACE_SECS))
        );
        assert_eq!((jwks.keys[0].nbf, jwks.keys[0].exp), (Some(30), None), "the active key has no end yet");
        assert_eq!(reopened.list().iter().filter(|k| k.active).count(), 2);
    }

    /// A bundle signed on 22 November 2026, checked in 2036 after rotations in 2029 and
    /// 2032 with what a verifier archived: the published key set, or the key history.
    #[test]
    fn a_bundle_verifies_ten_years_and_two_rotations_later() {
        use crate::bundle::{BundleError, Claims, sign_jwt, verify_jwt};
        use crate::protocol::key_history::{KeyHistory, VERSION};
        const YEAR: UnixSeconds = 365 * 24 * 3600;
        const SIGNED: UnixSeconds = 1_795_305_600; // 2026-11-22T00:00:00Z
        let dir = tempfile::tempdir().unwrap();
        let (mut ring, _) = Keyring::open_or_create(dir.path(), SIGNED - 3600).unwrap();
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "https://energie.example", "sub": "alice", "iat": SIGNED, "jti": "b-1",
            "bundle": {"version": 1, "purpose": "access", "categories": [], "art15": {
                "controller": {"id": "https://energie.example", "name": "Energie", "dpo_contact": "dpo@energie.example",
                    "supervisory_authority": {"name": "AP", "url": "https://autoriteitpersoonsgegevens.nl"}},
                "rights": []}}
        }))
        .unwrap();
        let token = sign_jwt(&claims, ring.active_signing()).unwrap();
        // The same key, stolen after it was retired, signing something dated later.
        let late = sign_jwt(&Claims { iat: SIGNED + 5 * YEAR, ..claims.clone() }, ring.active_signing()).unwrap();
        ring.rotate(SIGNED + 3 * YEAR).unwrap();
        ring.rotate(SIGNED + 6 * YEAR).unwrap();

        let published = Keyring::open(dir.path()).unwrap().jwks();
        assert_eq!(published.keys.len(), 3);
        assert_eq!(verify_jwt(token.as_bytes(), &published).unwrap().claims, claims);
        let err = verify_jwt(late.as_bytes(), &published).unwrap_err();
        assert!(matches!(err, BundleError::KeyNotInUse { iat, .. } if iat == SIGNED + 5 * YEAR), "{err:?}");

        let ten_years_on = SIGNED + 10 * YEAR;
        let history = KeyHistory { iss: claims.iss.clone(), iat: ten_years_on, version: VERSION, keys: published };
        let archived = history.sign(ring.active_signing()).unwrap();
        let read = KeyHistory::verify(archived.as_bytes()).unwrap();
        assert_eq!(
            verify_jwt(token.as_bytes(), &read.keys).unwrap().kid,
            verify_jwt(token.as_bytes(), &history.keys).unwrap().kid
        );
        assert!(verify_jwt(late.as_bytes(), &read.keys).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_open_ones_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        Keyring::open_or_create(&keys, 1).unwrap();
        assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o700);
        let file = std::fs::read_dir(&keys).unwrap().next().unwrap().unwrap().path();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keyring::open(&keys).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn malformed_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::open_or_create(dir.path(), 1).unwrap();
        let bad = dir.path().join("signing-0009-x.json");
        private_file::write(&bad, b"{not json").unwrap();
        let err = Keyring::open(dir.path()).unwrap_err();
        assert!(matches!(err, KeyringError::Malformed { ref path, .. } if *path == bad), "{err}");
    }
}
