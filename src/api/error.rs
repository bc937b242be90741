//! `ApiError`: the one error type handlers return, answered as an RFC 9457 problem body.
//! Internal causes are logged under the request id, never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::request_id;
use crate::bundle::BundleError;
use crate::connectors::ConnectorError;
use crate::gateway::exports::ExportError;
use crate::jose::jws::JwsError;
use crate::protocol::problem::PROBLEM_CONTENT_TYPE;
use crate::protocol::{ErrorCode, Problem};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: Some(detail.into()), retry_after_secs: None }
    }

    /// Adds a `Retry-After` header (for 429s).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn bare(code: ErrorCode) -> Self {
        Self { code, detail: None, retry_after_secs: None }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// A server-side failure: `cause` goes to the log, the client sees only the code.
    pub fn internal(code: ErrorCode, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(request_id = %request_id::current(), error_code = code.as_str(), "{cause}");
        Self::bare(code)
    }
}

/// The HTTP status of each error code; one table for the whole API.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MissingBearerToken
        | ErrorCode::InvalidBearerToken
        | ErrorCode::InvalidProof
        | ErrorCode::StaleProof
        | ErrorCode::ProofReplayed => StatusCode::UNAUTHORIZED,
        ErrorCode::NotAController => StatusCode::FORBIDDEN,
        ErrorCode::NotFound
        | ErrorCode::SubjectNotFound
        | ErrorCode::CategoryNotFound
        | ErrorCode::ConnectTokenUnknown
        | ErrorCode::ConnectionNotFound
        | ErrorCode::MessageNotFound
        | ErrorCode::PairingNotFound
        | ErrorCode::ControllerNotListed
        | ErrorCode::ImportNotFound => StatusCode::NOT_FOUND,
        ErrorCode::ConnectTokenExpired | ErrorCode::ConnectionRevoked => StatusCode::GONE,
        ErrorCode::ConnectTokenUsed
        | ErrorCode::ConnectTokenExists
        | ErrorCode::PairingNotScanned
        | ErrorCode::PairingClosed => StatusCode::CONFLICT,
        ErrorCode::RateLimited | ErrorCode::MailboxFull => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::CategoryNotPortable
        | ErrorCode::BundleTooLarge
        | ErrorCode::Malformed
        | ErrorCode::DuplicateMember
        | ErrorCode::ForbiddenHeader
        | ErrorCode::AlgNotAllowed
        | ErrorCode::WrongTyp
        | ErrorCode::UnknownKid
        | ErrorCode::SignatureInvalid
        | ErrorCode::IssuerMismatch
        | ErrorCode::InvalidClaims
        | ErrorCode::DigestMismatch
        | ErrorCode::InvalidEnvelope
        | ErrorCode::IssuerNotTrusted
        | ErrorCode::WrongCode => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::MalformedBody | ErrorCode::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::StoreUnavailable | ErrorCode::TrustListUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::UpstreamUnavailable | ErrorCode::RelayUnavailable => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn title(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::MissingBearerToken => "Bearer token required",
        ErrorCode::InvalidBearerToken => "Bearer token not recognised",
        ErrorCode::NotFound => "Not found",
        ErrorCode::MethodNotAllowed => "Method not allowed",
        ErrorCode::PayloadTooLarge => "Request body too large",
        ErrorCode::MalformedBody => "Malformed request body",
        ErrorCode::UnsupportedMediaType => "Unsupported media type",
        ErrorCode::InvalidParameter => "Invalid parameter",
        ErrorCode::SubjectNotFound => "Subject not found",
        ErrorCode::CategoryNotFound => "Category not found",
        ErrorCode::CategoryNotPortable => "Category not portable",
        ErrorCode::BundleTooLarge => "Too large for a compact JWS bundle",
        ErrorCode::Malformed => "Malformed bundle",
        ErrorCode::DuplicateMember => "Duplicate JSON member",
        ErrorCode::ForbiddenHeader => "Forbidden JWS header member",
        ErrorCode::AlgNotAllowed => "Algorithm not allowed",
        ErrorCode::WrongTyp => "Wrong or missing typ",
        ErrorCode::UnknownKid => "Unknown signing key",
        ErrorCode::SignatureInvalid => "Signature invalid",
        ErrorCode::IssuerMismatch => "Key not the issuer's",
        ErrorCode::InvalidClaims => "Invalid bundle claims",
        ErrorCode::ControllerNotListed => "Controller not in the trust list",
        ErrorCode::IssuerNotTrusted => "Issuer not in the trust list",
        ErrorCode::ImportNotFound => "Import not found",
        ErrorCode::DigestMismatch => "Digest mismatch",
        ErrorCode::StoreUnavailable => "Storage unavailable",
        ErrorCode::UpstreamUnavailable => "Source system unavailable",
        ErrorCode::InvalidProof => "Request proof invalid",
        ErrorCode::StaleProof => "Request proof too old or too new",
        ErrorCode::ProofReplayed => "Request proof used before",
        ErrorCode::NotAController => "Key not in the trust list",
        ErrorCode::ConnectTokenUnknown => "Connect token unknown",
        ErrorCode::ConnectTokenExpired => "Connect token expired",
        ErrorCode::ConnectTokenUsed => "Connect token already used",
        ErrorCode::ConnectTokenExists => "Connect token already registered",
        ErrorCode::ConnectionNotFound => "Connection not found",
        ErrorCode::ConnectionRevoked => "Connection revoked",
        ErrorCode::MessageNotFound => "Message not found",
        ErrorCode::InvalidEnvelope => "Not a JWE envelope",
        ErrorCode::MailboxFull => "Mailbox full",
        ErrorCode::RateLimited => "Too many requests",
        ErrorCode::TrustListUnavailable => "Trust list unavailable",
        ErrorCode::PairingNotFound => "Pairing not found",
        ErrorCode::PairingNotScanned => "Pairing not scanned yet",
        ErrorCode::PairingClosed => "Pairing ended",
        ErrorCode::WrongCode => "Wrong confirmation code",
        ErrorCode::RelayUnavailable => "Relay unavailable",
        _ => "Internal error",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(self.code);
        let problem = Problem {
            type_uri: self.code.type_uri(),
            title: title(self.code).to_owned(),
            status: status.as_u16(),
            detail: self.detail,
            error_code: self.code,
            request_id: request_id::current(),
        };
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            let scheme = if matches!(self.code, ErrorCode::MissingBearerToken | ErrorCode::InvalidBearerToken) {
                "Bearer"
            } else {
                "DPoP algs=\"EdDSA\""
            };
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(ErrorCode::StoreUnavailable, &e)
    }
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::SubjectNotFound => Self::bare(ErrorCode::SubjectNotFound),
            other => Self::internal(ErrorCode::UpstreamUnavailable, &other),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match (e.error_code(), e) {
            (Some(code), e) => Self::new(code, e.to_string()),
            (None, ExportError::Signing(m)) => Self::internal(ErrorCode::Internal, &m),
            (None, other) => Self::internal(ErrorCode::UpstreamUnavailable, &other),
        }
    }
}

impl From<crate::gateway::pairing::PairingError> for ApiError {
    fn from(e: crate::gateway::pairing::PairingError) -> Self {
        use crate::gateway::pairing::PairingError as P;
        match e {
            P::NotFound => Self::bare(ErrorCode::PairingNotFound),
            P::NotScanned => Self::new(ErrorCode::PairingNotScanned, e.to_string()),
            P::Closed(_) => Self::new(ErrorCode::PairingClosed, e.to_string()),
            P::WrongCode { .. } => Self::new(ErrorCode::WrongCode, e.to_string()),
            P::MalformedCode => Self::new(ErrorCode::InvalidParameter, e.to_string()),
            P::Relay(relay) => Self::internal(ErrorCode::RelayUnavailable, &relay),
            P::Store(store) => store.into(),
            P::Internal(message) => Self::internal(ErrorCode::Internal, &message),
        }
    }
}

/// The error code of each verification failure; shared with the `verify` command's JSON.
pub fn verification_code(e: &BundleError) -> ErrorCode {
    match e {
        BundleError::Jws(jws) => match jws {
            JwsError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            JwsError::DuplicateMember(_) => ErrorCode::DuplicateMember,
            JwsError::ForbiddenHeader(_) => ErrorCode::ForbiddenHeader,
            JwsError::AlgNotAllowed(_) => ErrorCode::AlgNotAllowed,
            JwsError::MissingTyp | JwsError::WrongTyp { .. } => ErrorCode::WrongTyp,
            JwsError::UnknownKid(_) => ErrorCode::UnknownKid,
            JwsError::SignatureInvalid => ErrorCode::SignatureInvalid,
            _ => ErrorCode::Malformed,
        },
        BundleError::InvalidClaims(_) => ErrorCode::InvalidClaims,
        BundleError::DigestMismatch(_) => ErrorCode::DigestMismatch,
    }
}

impl From<BundleError> for ApiError {
    fn from(e: BundleError) -> Self {
        Self::new(verification_code(&e), e.to_string())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        Self::new(ErrorCode::InvalidParameter, e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidParameter, e.body_text())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        let code = match &e {
            J::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            J::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::MalformedBody,
        };
        Self::new(code, e.body_text())
    }
}
