//! Unauthenticated routes: liveness, readiness, metrics, the JWKS and the discovery
//! document with the privacy notice.

use crate::http::problem_responses::problems;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

use super::AppState;
use super::views::{Discovery, Endpoints, Health};
use crate::http::ApiError;
use crate::jose::Jwks;
use crate::protocol::ErrorCode;

pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";
const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";
/// Keys rotate rarely and old ones stay published, so clients may cache briefly.
const KEYS_CACHE_CONTROL: &str = "public, max-age=300";

/// Liveness: the process answers HTTP.
#[utoipa::path(get, path = "/healthz", tag = "public", responses((status = 200, body = Health)))]
pub(crate) async fn get_health() -> Json<Health> {
    Json(Health { status: "ok".to_owned() })
}

problems!(GetReadinessProblems: StoreUnavailable, SourceUnavailable);

/// Readiness: the store answers a query and every source system can be reached (a file
/// source's directory exists; an HTTP source answers at its base URL).
#[utoipa::path(
    get, path = "/readyz", tag = "public",
    responses(
        (status = 200, body = Health),
        GetReadinessProblems
    )
)]
pub(crate) async fn get_readiness(State(state): State<Arc<AppState>>) -> Result<Json<Health>, ApiError> {
    state.gateway.ping().await?;
    let unreachable = state.gateway.unreachable_sources().await;
    if let Some((first, _)) = unreachable.first() {
        for (source, cause) in &unreachable {
            tracing::warn!(source = %source, "not ready: {cause}");
        }
        let detail = format!("source {first} cannot be reached ({} in all); see the log", unreachable.len());
        return Err(ApiError::new(ErrorCode::SourceUnavailable, detail));
    }
    Ok(Json(Health { status: "ready".to_owned() }))
}

/// Metrics in the OpenMetrics text format, which Prometheus scrapes.
#[utoipa::path(
    get, path = "/metrics", tag = "public",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String))
)]
pub(crate) async fn get_metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    // The register is read at each scrape; without a database the gauges keep their last value.
    match state.gateway.request_gauges().await {
        Ok(g) => state.metrics.set_request_gauges(g.open, g.overdue, &g.due_within),
        Err(e) => tracing::warn!("metrics: reading the request register failed: {e}"),
    }
    ([(CONTENT_TYPE, crate::http::metrics::CONTENT_TYPE)], state.metrics.encode())
}

/// The controller's public signing keys (Ed25519), active key first. Retired keys stay
/// listed so that bundles they signed keep verifying.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "public",
    responses((status = 200, body = Jwks, content_type = "application/jwk-set+json"))
)]
pub(crate) async fn get_jwks(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, JWKS_CONTENT_TYPE), (CACHE_CONTROL, KEYS_CACHE_CONTROL)], Json(state.gateway.keyring().jwks()))
}

/// Who this controller is, where its APIs are, and its privacy notice generated from the
/// data inventory: categories, purposes, legal bases, retention, recipients and rights.
#[utoipa::path(get, path = "/.well-known/gdpr-gateway", tag = "public", responses((status = 200, body = Discovery)))]
pub(crate) async fn get_discovery(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let notice = state.gateway.notice();
    let controller = &notice.controller;
    let document = Discovery {
        id: controller.id.clone(),
        name: controller.name.clone(),
        endpoints: Endpoints {
            gateway: format!("{}/v1", state.public_url),
            jwks_uri: format!("{}{JWKS_PATH}", state.public_url),
            relay: Some(state.gateway.relay().base().to_owned()),
        },
        encryption_jwks: state.gateway.keyring().encryption_jwks(),
        privacy_notice: notice.clone(),
    };
    ([(CACHE_CONTROL, KEYS_CACHE_CONTROL)], Json(document))
}
