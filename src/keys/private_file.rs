//! Files that hold secrets: created 0600 atomically, refused when others can read them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateFileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is readable by group or others (mode {mode:04o}); refusing to use it. Fix with: chmod 600 {path}")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("{path} is larger than {limit} bytes; it is not a file we wrote")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error(
        "{path} is writable by group or others (mode {mode:04o}); refusing to keep keys and data in it. Fix with: chmod 700 {path}"
    )]
    DirTooOpen { path: PathBuf, mode: u32 },
}

/// Reads a secret file of at most `limit` bytes after checking that only its owner can read it.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, PrivateFileError> {
    check_mode(path)?;
    let err = |source| PrivateFileError::Read { path: path.to_owned(), source };
    let mut bytes = Vec::new();
    std::fs::File::open(path).map_err(err)?.take(limit + 1).read_to_end(&mut bytes).map_err(err)?;
    if bytes.len() as u64 > limit {
        return Err(PrivateFileError::TooLarge { path: path.to_owned(), limit });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| PrivateFileError::Read { path: path.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateFileError::TooOpen { path: path.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), PrivateFileError> {
    Ok(())
}

/// Writes `bytes` to `path` with mode 0600 via a temporary file and a rename, so a crash
/// never leaves a half-written key and the file is never briefly world-readable.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), PrivateFileError> {
    let err = |source| PrivateFileError::Write { path: path.to_owned(), source };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

/// Creates `dir` (and parents) with mode 0700 when it does not exist, and refuses one that
/// others may write to: they could swap the files the gateway trusts.
pub(crate) fn create_dir(dir: &Path) -> Result<(), PrivateFileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| PrivateFileError::Write { path: dir.to_owned(), source })?;
    check_dir_mode(dir)
}

#[cfg(unix)]
fn check_dir_mode(dir: &Path) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(dir).map_err(|source| PrivateFileError::Read { path: dir.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o7777;
    // Sticky shared dirs such as /tmp are writable by all too: refused alike.
    if mode & 0o022 != 0 {
        return Err(PrivateFileError::DirTooOpen { path: dir.to_owned(), mode });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_dir_mode(_dir: &Path) -> Result<(), PrivateFileError> {
    Ok(())
}
