//! How the domain's refusals answer over HTTP: each domain error to its `ApiError`, so
//! handlers only write `?` and the domain knows nothing of HTTP.

use crate::gateway::ExportError;
use crate::gateway::PairingError;
use crate::http::ApiError;
use crate::protocol::ErrorCode;
use crate::protocol::subject::InvalidSubjectRef;

impl From<InvalidSubjectRef> for ApiError {
    fn from(e: InvalidSubjectRef) -> Self {
        Self::new(ErrorCode::InvalidParameter, e.to_string())
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match (e.error_code(), e) {
            (Some(code), e) => Self::new(code, e.to_string()),
            (None, e) => Self::internal(e.failure_code(), &e),
        }
    }
}

impl From<PairingError> for ApiError {
    fn from(e: PairingError) -> Self {
        match e {
            PairingError::NotFound => Self::bare(ErrorCode::PairingNotFound),
            PairingError::StatusTokenRefused => Self::new(ErrorCode::InvalidBearerToken, e.to_string()),
            PairingError::NotScanned => Self::new(ErrorCode::PairingNotScanned, e.to_string()),
            PairingError::Closed(_) => Self::new(ErrorCode::PairingClosed, e.to_string()),
            PairingError::WrongCode { .. } => Self::new(ErrorCode::WrongCode, e.to_string()),
            PairingError::MalformedCode => Self::new(ErrorCode::InvalidParameter, e.to_string()),
            PairingError::Relay(relay) => Self::internal(ErrorCode::RelayUnavailable, &relay),
            PairingError::Store(store) => store.into(),
            PairingError::Internal(message) => Self::internal(ErrorCode::Internal, &message),
        }
    }
}
