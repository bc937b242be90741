//! CORS: which web pages may call the gateway from a browser. The public documents (keys,
//! discovery, `POST /v1/verify`, the relay's trust list) are open to every origin; the
//! portal routes only to the origins the organisation lists in `[cors] portal_origins` (none by
//! default), so no other site's page can spend a portal token a browser holds; staff and
//! everything else to none.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_MATCH, LOCATION, RETRY_AFTER,
};
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may keep a preflight's answer.
pub(crate) const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Documents any page may read: they hold nothing but what the gateway publishes.
const PUBLIC_PATHS: &[&str] = &[
    "/.well-known/jwks.json",
    "/.well-known/gdpr-gateway",
    "/v1/verify",
    "/relay/v1/trust-list",
    "/relay/v1/operator-jwks",
];
/// The routes a customer portal's page calls with its portal token.
const PORTAL_PREFIXES: &[&str] = &["/v1/subjects/", "/v1/pairings", "/v1/imports"];

/// The layer for `portal_origins` (checked as origins when the config loaded).
pub(crate) fn layer(portal_origins: &[String]) -> CorsLayer {
    let portal: Arc<[HeaderValue]> =
        portal_origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, request| {
            let path = request.uri.path();
            PUBLIC_PATHS.contains(&path)
                || (PORTAL_PREFIXES.iter().any(|p| path.starts_with(p)) && portal.contains(origin))
        }))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE, ACCEPT, IF_MATCH])
        .expose_headers([CONTENT_DISPOSITION, LOCATION, ETAG, RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE)
}
