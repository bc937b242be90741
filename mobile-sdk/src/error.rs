//! The one error bindings see: the core wallet's error, variant for variant, with named
//! fields and a stable code, so apps branch on a type (a sealed class in Kotlin, an enum in
//! Swift) instead of parsing a message.

use gdpr_gateway::wallet::WalletError as CoreError;

/// Why a wallet call failed. Each variant is its own exception class in Kotlin
/// (`WalletException.BadBundle`, …) and case in Swift; `errorCode()` (`error_code()` in
/// Python) names it as a stable string, and its text (`toString()` in Kotlin,
/// `description` in Swift) says it to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
#[non_exhaustive]
pub enum WalletError {
    /// The scanned text is not a connect URI of this protocol.
    #[error("not a connect URI: {detail}")]
    InvalidUri { detail: String },
    /// The relay refused the call; `code` is its `error_code`.
    #[error("the relay refused ({code}): {detail}")]
    Relay { code: String, detail: String },
    /// The relay could not be reached (no network, refused, timed out): try again later.
    #[error("the relay cannot be reached: {detail}")]
    Unreachable { detail: String },
    /// The organisation refused the request; `code` is its `error_code`
    /// (`category_not_found`, …), as listed in its API documentation.
    #[error("the organisation refused ({code}): {detail}")]
    Refused { code: String, detail: String },
    /// The person has not yet typed the code into the organisation's portal.
    #[error("the organisation has not confirmed this connection yet")]
    NotConfirmed,
    /// The organisation sent something the protocol does not allow.
    #[error("the organisation broke the protocol: {detail}")]
    Protocol { detail: String },
    /// The organisation cancelled the pairing, or it expired.
    #[error("the pairing ended: {detail}")]
    PairingCancelled { detail: String },
    /// The connection was ended, by the person or the organisation.
    #[error("the connection was revoked")]
    Revoked,
    /// The wallet holds no connection with this id.
    #[error("no connection {connection_id}")]
    UnknownConnection { connection_id: String },
    /// The organisation is not on the trust framework's list.
    #[error("{controller_id} is not an organisation of the trust framework")]
    UnknownController { controller_id: String },
    /// The relay named in the connect URI is not on the trust list, or its list is stale.
    #[error("the relay cannot be trusted: {detail}")]
    UntrustedRelay { detail: String },
    /// No answer within the call's timeout; the wallet stays usable.
    #[error("no answer in time")]
    Timeout,
    /// A bundle or package did not verify: do not trust or forward it.
    #[error("the bundle does not verify: {detail}")]
    BadBundle { detail: String },
    /// The key store failed; an app's store throws this (or any exception, which arrives
    /// as this) when the platform's secure storage does.
    #[error("key store: {detail}")]
    Storage { detail: String },
    /// An argument is not acceptable (an empty list, a malformed JSON text, …).
    #[error("{detail}")]
    InvalidInput { detail: String },
}

#[uniffi::export]
impl WalletError {
    /// A stable code for the failure: the refusing party's `error_code` for `Relay` and
    /// `Refused`, else the wallet's own (`invalid_uri`, `unreachable`, `not_confirmed`,
    /// `protocol`, `pairing_cancelled`, `revoked`, `unknown_connection`,
    /// `unknown_controller`, `untrusted_relay`, `timeout`, `bad_bundle`, `storage`,
    /// `invalid_input`).
    pub fn error_code(&self) -> String {
        match self {
            Self::Relay { code, .. } | Self::Refused { code, .. } => return code.clone(),
            Self::InvalidUri { .. } => "invalid_uri",
            Self::Unreachable { .. } => "unreachable",
            Self::NotConfirmed => "not_confirmed",
            Self::Protocol { .. } => "protocol",
            Self::PairingCancelled { .. } => "pairing_cancelled",
            Self::Revoked => "revoked",
            Self::UnknownConnection { .. } => "unknown_connection",
            Self::UnknownController { .. } => "unknown_controller",
            Self::UntrustedRelay { .. } => "untrusted_relay",
            Self::Timeout => "timeout",
            Self::BadBundle { .. } => "bad_bundle",
            Self::Storage { .. } => "storage",
            Self::InvalidInput { .. } => "invalid_input",
        }
        .to_owned()
    }
}

impl From<CoreError> for WalletError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidUri(detail) => Self::InvalidUri { detail },
            CoreError::Relay { code, detail } => Self::Relay { code: code.to_string(), detail },
            CoreError::Unreachable(detail) => Self::Unreachable { detail },
            CoreError::Refused { code, detail } => Self::Refused { code: code.to_string(), detail },
            CoreError::NotConfirmed => Self::NotConfirmed,
            CoreError::Protocol(detail) => Self::Protocol { detail },
            CoreError::PairingCancelled(detail) => Self::PairingCancelled { detail },
            CoreError::Revoked => Self::Revoked,
            CoreError::UnknownConnection(connection_id) => Self::UnknownConnection { connection_id },
            CoreError::UnknownController(controller_id) => Self::UnknownController { controller_id },
            CoreError::UntrustedRelay(detail) => Self::UntrustedRelay { detail },
            CoreError::Timeout => Self::Timeout,
            CoreError::BadBundle(detail) => Self::BadBundle { detail },
            CoreError::Storage(detail) => Self::Storage { detail },
            CoreError::InvalidInput(detail) => Self::InvalidInput { detail },
        }
    }
}

/// What an app's key store failed with reaches the core as a storage error.
impl From<WalletError> for CoreError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::Storage { detail } => Self::Storage(detail),
            other => Self::Storage(other.to_string()),
        }
    }
}

/// An app's key store that throws something other than a `WalletError` (an
/// `IOException`, a `KeyStoreException`): a storage failure, never a crash.
impl From<uniffi::UnexpectedUniFFICallbackError> for WalletError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Storage { detail: e.reason }
    }
}
