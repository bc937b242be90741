//! Where a wallet keeps each connection's keys and state. Apps implement [`KeyStore`] over
//! the platform's secure storage; [`FileKeyStore`] serves the CLI and tests.

use std::path::PathBuf;

use super::WalletError;

/// Most bytes one entry may hold.
pub const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Opaque named entries, one per connection. Names are lowercase hex connection ids. Apps
/// implement it in Kotlin, Swift or Python over the platform's secure storage.
pub trait KeyStore: Send + Sync {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, WalletError>;
    fn save(&self, name: String, value: Vec<u8>) -> Result<(), WalletError>;
    fn delete(&self, name: String) -> Result<(), WalletError>;
    fn names(&self) -> Result<Vec<String>, WalletError>;
}

/// Entries as files `<dir>/<name>.json`, readable by their owner only.
#[derive(Debug, Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
}

impl FileKeyStore {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, WalletError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| storage(&dir, e))?;
        Ok(Self { dir })
    }

    fn path(&self, name: &str) -> Result<PathBuf, WalletError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(WalletError::Storage(format!("{name:?} is not an entry name")));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }
}

fn storage(path: &std::path::Path, e: std::io::Error) -> WalletError {
    WalletError::Storage(format!("{}: {e}", path.display()))
}

impl KeyStore for FileKeyStore {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, WalletError> {
        let path = self.path(&name)?;
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(storage(&path, e)),
            Ok(meta) if meta.len() > MAX_ENTRY_BYTES => {
                return Err(WalletError::Storage(format!("{} is larger than {MAX_ENTRY_BYTES} bytes", path.display())));
            }
            Ok(_) => {}
        }
        std::fs::read(&path).map(Some).map_err(|e| storage(&path, e))
    }

    fn save(&self, name: String, value: Vec<u8>) -> Result<(), WalletError> {
        use std::io::Write;
        let path = self.path(&name)?;
        let temporary = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary).map_err(|e| storage(&temporary, e))?;
        file.write_all(&value).and_then(|()| file.sync_all()).map_err(|e| storage(&temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| storage(&path, e))
    }

    fn delete(&self, name: String) -> Result<(), WalletError> {
        let path = self.path(&name)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(storage(&path, e)),
            _ => Ok(()),
        }
    }

    fn names(&self) -> Result<Vec<String>, WalletError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| storage(&self.dir, e))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }
}
