//! The one flat error bindings see: the core wallet's error, variant for variant.

use gdpr_gateway::wallet::WalletError as CoreError;

/// Bindings see it as one exception type whose message is the `Display` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum WalletError {
    #[error("not a connect URI: {0}")]
    InvalidUri(String),
    #[error("the relay refused ({code}): {detail}")]
    Relay { code: String, detail: String },
    #[error("the relay cannot be reached: {0}")]
    Unreachable(String),
    #[error("the organisation refused ({code}): {detail}")]
    Refused { code: String, detail: String },
    #[error("the organisation has not confirmed this connection yet")]
    NotConfirmed,
    #[error("the organisation broke the protocol: {0}")]
    Protocol(String),
    #[error("the pairing ended: {0}")]
    PairingCancelled(String),
    #[error("the connection was revoked")]
    Revoked,
    #[error("no connection {0}")]
    UnknownConnection(String),
    #[error("{0} is not an organisation of the trust framework")]
    UnknownController(String),
    #[error("the relay cannot be trusted: {0}")]
    UntrustedRelay(String),
    #[error("no answer in time")]
    Timeout,
    #[error("the bundle does not verify: {0}")]
    BadBundle(String),
    #[error("key store: {0}")]
    Storage(String),
    #[error("{0}")]
    InvalidInput(String),
}

impl From<CoreError> for WalletError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidUri(m) => Self::InvalidUri(m),
            CoreError::Relay { code, detail } => Self::Relay { code: code.to_string(), detail },
            CoreError::Unreachable(m) => Self::Unreachable(m),
            CoreError::Refused { code, detail } => Self::Refused { code: code.to_string(), detail },
            CoreError::NotConfirmed => Self::NotConfirmed,
            CoreError::Protocol(m) => Self::Protocol(m),
            CoreError::PairingCancelled(m) => Self::PairingCancelled(m),
            CoreError::Revoked => Self::Revoked,
            CoreError::UnknownConnection(m) => Self::UnknownConnection(m),
            CoreError::UnknownController(m) => Self::UnknownController(m),
            CoreError::UntrustedRelay(m) => Self::UntrustedRelay(m),
            CoreError::Timeout => Self::Timeout,
            CoreError::BadBundle(m) => Self::BadBundle(m),
            CoreError::Storage(m) => Self::Storage(m),
            CoreError::InvalidInput(m) => Self::InvalidInput(m),
        }
    }
}

/// What an app's key store failed with reaches the core as a storage error.
impl From<WalletError> for CoreError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Storage(m) => Self::Storage(m),
            other => Self::Storage(other.to_string()),
        }
    }
}
