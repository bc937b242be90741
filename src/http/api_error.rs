//! `ApiError`: the one error type handlers return, answered as an RFC 9457 problem body.
//! Internal causes are logged under the request id, never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::request_id;
use crate::bundle::BundleError;
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

/// The HTTP status of `code`, as declared with it.
pub(crate) fn status(code: ErrorCode) -> StatusCode {
    // Every declared status is in 400..=599 (a test walks them all).
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(self.code);
        let problem = Problem {
            type_uri: self.code.type_uri(),
            title: self.code.title().to_owned(),
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

impl From<BundleError> for ApiError {
    fn from(e: BundleError) -> Self {
        Self::new(e.error_code(), e.to_string())
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
