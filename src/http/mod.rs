//! What the gateway's API and the relay share over HTTP: problem responses (`ApiError`),
//! extractors that answer with them, request ids, request metrics, in-process wake-ups,
//! and the fallbacks and limits every router gets.

pub(crate) mod api_error;
pub(crate) mod cors;
pub(crate) mod extract;
pub(crate) mod metrics;
mod parse_errors;
pub(crate) mod problem_responses;
pub(crate) mod request_id;
pub(crate) mod server;
pub(crate) mod wakeup;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub(crate) use api_error::ApiError;
pub(crate) use extract::{ApiJson, ApiQuery, optional_object};

use crate::protocol::ErrorCode;

/// Largest request body any route accepts unless it says otherwise.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long background tasks get to finish after a server stops.
pub(crate) const TASK_GRACE: Duration = Duration::from_secs(5);

/// Problem bodies for unknown routes and methods, and the default body cap.
pub(crate) fn with_problem_fallbacks<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::bare(ErrorCode::MethodNotAllowed) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
