//! The secret that keys the pseudonyms a forgotten person's reference is replaced by in
//! the registers. Kept apart from the signing keys so that deleting it, and nothing else,
//! makes every pseudonym already written unlinkable to the reference it replaced, also
//! for whoever holds the signing key; a rotation of the signing key leaves it alone.

use std::path::Path;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::KeyringError;
use super::private_file::{self, PrivateFileError};

/// The secret's file in the key directory; not a `.json` key file, so never read as one.
pub(crate) const FILE: &str = "pseudonym.secret";
/// Bytes of secret: an HMAC-SHA256 key of the hash's own size.
const SECRET_BYTES: usize = 32;

/// The secret, kept out of `Debug` output.
pub(crate) struct PseudonymSecret(Zeroizing<[u8; SECRET_BYTES]>);

/// What a pseudonym starts with: no subject reference can.
pub(crate) const PSEUDONYM_PREFIX: &str = "~";

impl PseudonymSecret {
    /// `~` and the first 16 bytes (hex) of HMAC-SHA256(secret, `subject_ref`): the keyed
    /// hash a person appears under in the audit trail, and that replaces their reference
    /// in the registers when they are forgotten.
    pub(crate) fn pseudonym(&self, subject_ref: &str) -> String {
        use hmac::Mac as _;
        let digest: [u8; 32] = match <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(self.0.as_slice()) {
            Ok(mut mac) => {
                mac.update(subject_ref.as_bytes());
                mac.finalize().into_bytes().into()
            }
            // HMAC takes keys of any length; were that to change, a keyed SHA-256 still keeps
            // the pseudonym from being recomputed without the secret.
            Err(_) => {
                use sha2::Digest as _;
                sha2::Sha256::new().chain_update(self.0.as_slice()).chain_update(subject_ref).finalize().into()
            }
        };
        format!("{PSEUDONYM_PREFIX}{}", hex::encode(&digest[..16]))
    }
}

impl std::fmt::Debug for PseudonymSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymSecret(..)")
    }
}

/// Reads the secret in `dir`, `None` when there is none.
pub(crate) fn read(dir: &Path) -> Result<Option<PseudonymSecret>, KeyringError> {
    let path = dir.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let text = Zeroizing::new(private_file::read(&path, 2 * SECRET_BYTES as u64 + 1)?);
    let malformed = || KeyringError::Malformed {
        path: path.clone(),
        message: format!("not {SECRET_BYTES} bytes in hex; delete it to have a new one made"),
    };
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    hex::decode_to_slice(text.trim_ascii(), secret.as_mut_slice()).map_err(|_| malformed())?;
    Ok(Some(PseudonymSecret(secret)))
}

/// Reads the secret in `dir`, making one when there is none. Two processes making one at
/// once agree on the first: the file is linked into place only where none exists.
pub(crate) fn open_or_create(dir: &Path) -> Result<PseudonymSecret, KeyringError> {
    if let Some(secret) = read(dir)? {
        return Ok(secret);
    }
    let mut secret = Zeroizing::new([0u8; SECRET_BYTES]);
    OsRng.fill_bytes(secret.as_mut_slice());
    let unique = dir.join(format!("{FILE}.{}.{}", std::process::id(), OsRng.next_u64()));
    private_file::write(&unique, Zeroizing::new(hex::encode(secret.as_slice())).as_bytes())?;
    let linked = std::fs::hard_link(&unique, dir.join(FILE));
    let _ = std::fs::remove_file(&unique);
    match linked {
        Ok(()) => Ok(PseudonymSecret(secret)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(dir)?.ok_or_else(|| KeyringError::Malformed { path: dir.join(FILE), message: "vanished".into() })
        }
        Err(source) => Err(PrivateFileError::Write { path: dir.join(FILE), source }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_read_back_and_kept_out_of_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(dir.path()).unwrap().is_none());
        let made = open_or_create(dir.path()).unwrap();
        let again = open_or_create(dir.path()).unwrap();
        assert_eq!(made.0.as_slice(), again.0.as_slice());
        assert_eq!(format!("{made:?}"), "PseudonymSecret(..)");
        let pseudonym = made.pseudonym("alice");
        assert!(pseudonym.starts_with('~') && pseudonym.len() == 33, "{pseudonym}");
        assert_eq!(pseudonym, again.pseudonym("alice"));
        assert_ne!(pseudonym, made.pseudonym("bob"));
        // Only the secret is left in the directory: no temporary file.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [FILE]);
    }

    #[test]
    fn a_damaged_secret_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        private_file::write(&dir.path().join(FILE), b"not hex").unwrap();
        let err = open_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("delete it"), "{err}");
    }
}
