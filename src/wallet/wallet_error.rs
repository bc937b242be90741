//! One flat error for every wallet call, so bindings map it to a single error type.

use crate::protocol::{ErrorCode, RemoteErrorCode};
use crate::relay_client::RelayError;

/// Why a wallet call failed. Deliberately exhaustive: the SDK maps every variant to its
/// binding error, so adding one must fail its build until it is mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("not a connect URI: {0}")]
    InvalidUri(String),
    #[error("the relay refused ({code}): {detail}")]
    Relay { code: RemoteErrorCode, detail: String },
    #[error("the relay cannot be reached: {0}")]
    Unreachable(String),
    #[error("the organisation refused ({code}): {detail}")]
    Refused { code: RemoteErrorCode, detail: String },
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

impl From<RelayError> for WalletError {
    fn from(e: RelayError) -> Self {
        match e {
            RelayError::Refused { error_code, .. } if error_code.is(ErrorCode::ConnectionRevoked) => Self::Revoked,
            RelayError::Refused { error_code, detail, .. } => Self::Relay { code: error_code, detail },
            other => Self::Unreachable(other.to_string()),
        }
    }
}
