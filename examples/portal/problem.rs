//! The backend's own errors, as RFC 9457 problem+json like the gateway's, so the page
//! reads one shape whoever answered.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An answer that ends a handler early: ours or the gateway's, boxed because a response
/// is large to carry in every `Result`.
pub type Failure = Box<Response>;

/// A problem answer with a stable `error_code`.
pub fn problem(status: StatusCode, error_code: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("urn:portal-example:error:{error_code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "error_code": error_code,
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

pub fn not_signed_in() -> Response {
    problem(StatusCode::UNAUTHORIZED, "not_signed_in", "Sign in first.")
}

pub fn gateway_unavailable(detail: &str) -> Response {
    problem(
        StatusCode::BAD_GATEWAY,
        "gateway_unavailable",
        &format!("The data portability service cannot be reached: {detail}"),
    )
}

pub fn invalid(detail: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "invalid_parameter", detail)
}
