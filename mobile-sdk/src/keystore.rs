//! The key store as bindings see it: a callback interface the app implements over the
//! platform's secure storage, and the file store of the core for the CLI and tests.

use std::sync::Arc;

use gdpr_gateway::wallet as core;

use crate::WalletError;

/// Where the wallet keeps its connections: named entries, one per connection, that the app
/// implements in Kotlin, Swift or Python. Names are connection ids (32 lowercase hex
/// characters); values are opaque bytes, at most 64 KiB, holding the connection's state
/// with its private keys: secret key material. Keep them in the platform's secure
/// storage: the iOS Keychain; on Android, encrypted under an Android Keystore key (as
/// EncryptedSharedPreferences does).
///
/// Methods may be called from any thread, also at once. Throwing `WalletError.Storage`
/// (`WalletException.Storage` in Kotlin), or any exception, which arrives as `Storage`,
/// fails the wallet call; but calls over all connections (`events`, `requests`,
/// `breach_notices`, `forward`) skip an entry that fails to load, and `events` reports a
/// failed save as an `Unreachable` event.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// The value saved under `name`, or `None` when there is none (not an error).
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, WalletError>;
    /// Stores `value` under `name`, replacing any earlier value whole and atomically: after
    /// a crash, `load` returns the old value or the new one, never a mix.
    fn save(&self, name: String, value: Vec<u8>) -> Result<(), WalletError>;
    /// Removes the entry `name`; succeeds when there is none. (The wallet keeps revoked
    /// connections and does not call this today.)
    fn delete(&self, name: String) -> Result<(), WalletError>;
    /// Every name that holds a value, in any order, and nothing else: the wallet loads
    /// each one, and one that does not load fails `connections`.
    fn names(&self) -> Result<Vec<String>, WalletError>;
}

/// The core's key store over files, for Rust users (the CLI, tests); not exported to apps,
/// which implement `KeyStore`. Entries are files `<dir>/<name>.json`, created readable by
/// their owner only (mode 0600 on Unix), replaced atomically (a synced temporary file
/// renamed), and not encrypted. `names` lists every `*.json` file in `dir`, sorted.
#[derive(Debug, Clone)]
pub struct FileKeyStore(core::FileKeyStore);

impl FileKeyStore {
    /// A store in `dir`, created with its parents when missing; `WalletError::Storage` when
    /// that fails.
    pub fn new(dir: impl Into<std::path::PathBuf>) -> Result<Self, WalletError> {
        Ok(Self(core::FileKeyStore::new(dir)?))
    }
}

impl KeyStore for FileKeyStore {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, WalletError> {
        Ok(core::KeyStore::load(&self.0, name)?)
    }
    fn save(&self, name: String, value: Vec<u8>) -> Result<(), WalletError> {
        Ok(core::KeyStore::save(&self.0, name, value)?)
    }
    fn delete(&self, name: String) -> Result<(), WalletError> {
        Ok(core::KeyStore::delete(&self.0, name)?)
    }
    fn names(&self) -> Result<Vec<String>, WalletError> {
        Ok(core::KeyStore::names(&self.0)?)
    }
}

/// The app's store, as the core wallet calls it.
pub(crate) struct Bridge(pub Arc<dyn KeyStore>);

impl core::KeyStore for Bridge {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, core::WalletError> {
        Ok(self.0.load(name)?)
    }
    fn save(&self, name: String, value: Vec<u8>) -> Result<(), core::WalletError> {
        Ok(self.0.save(name, value)?)
    }
    fn delete(&self, name: String) -> Result<(), core::WalletError> {
        Ok(self.0.delete(name)?)
    }
    fn names(&self) -> Result<Vec<String>, core::WalletError> {
        Ok(self.0.names()?)
    }
}
