//! The key store as bindings see it: a callback interface the app implements over the
//! platform's secure storage, and the file store of the core for the CLI and tests.

use std::sync::Arc;

use gdpr_gateway::wallet as core;

use crate::WalletError;

/// Opaque named entries, one per connection. Names are lowercase hex connection ids. Apps
/// implement it in Kotlin, Swift or Python over the platform's secure storage.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    fn load(&self, name: String) -> Result<Option<Vec<u8>>, WalletError>;
    fn save(&self, name: String, value: Vec<u8>) -> Result<(), WalletError>;
    fn delete(&self, name: String) -> Result<(), WalletError>;
    fn names(&self) -> Result<Vec<String>, WalletError>;
}

/// Entries as files `<dir>/<name>.json`, readable by their owner only.
#[derive(Debug, Clone)]
pub struct FileKeyStore(core::FileKeyStore);

impl FileKeyStore {
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
