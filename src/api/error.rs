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
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: Some(detail.into()) }
    }

    pub fn bare(code: ErrorCode) -> Self {
        Self { code, detail: None }
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
        ErrorCode::MissingBearerToken | ErrorCode::InvalidBearerToken => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound | ErrorCode::SubjectNotFound | ErrorCode::CategoryNotFound => StatusCode::NOT_FOUND,
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
        | ErrorCode::DigestMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::MalformedBody | ErrorCode::InvalidParameter => StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
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
        ErrorCode::DigestMismatch => "Digest mismatch",
        ErrorCode::StoreUnavailable => "Storage unavailable",
        ErrorCode::UpstreamUnavailable => "Source system unavailable",
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
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
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
        let code = match &e {
            ExportError::UnknownCategory(_) => ErrorCode::CategoryNotFound,
            ExportError::NotPortable(_) => ErrorCode::CategoryNotPortable,
            ExportError::NoCategories => ErrorCode::InvalidParameter,
            ExportError::SubjectNotFound => ErrorCode::SubjectNotFound,
            ExportError::TooLargeForJwt => ErrorCode::BundleTooLarge,
            ExportError::Connector(c) => return Self::internal(ErrorCode::UpstreamUnavailable, c),
        };
        Self::new(code, e.to_string())
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
