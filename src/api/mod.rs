//! HTTP routers. Every route is registered through `utoipa_axum::routes!`, so the OpenAPI
//! document is generated from the same code that serves (clippy forbids plain `.route`).

pub mod auth;
pub mod error;
pub mod exports;
pub mod imports;
pub mod pairings;
pub mod public;
pub mod request_id;
pub mod subjects;
pub mod verify;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;

use crate::clock::Clock;
use crate::config::PortalClient as PortalClientConfig;
use crate::connectors::Connectors;
use crate::inventory::{Inventory, PrivacyNotice};
use crate::keys::Keyring;
use crate::metrics::Metrics;
use crate::protocol::ErrorCode;
use crate::store::Store;

/// Largest request body any route accepts unless it says otherwise.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What handlers share. Immutable after start, except through the store.
pub struct AppState {
    pub keyring: Keyring,
    pub store: Arc<dyn Store>,
    pub connectors: Connectors,
    pub inventory: Inventory,
    pub notice: PrivacyNotice,
    pub portal_clients: Vec<PortalClientConfig>,
    pub public_url: String,
    /// The relay this gateway reaches wallets through (all-in-one: its own, under `/relay`).
    pub relay_url: String,
    /// The relay client, acting with the controller's active signing key.
    pub relay: crate::relay_client::RelayClient,
    pub db: crate::store::Db,
    pub pairings: crate::gateway::pairing_store::PairingStore,
    pub imports: crate::gateway::import_store::ImportStore,
    /// Wakes pairing event streams when a pairing changes.
    pub pairing_hub: Arc<crate::wakeup::Hub<String>>,
    pub pairing_lifetime_secs: u64,
    /// The trust list that forwarded bundles are verified against; `None` when the relay
    /// is external and no operator JWKS is pinned, so imports are refused.
    pub trust: Option<Arc<crate::trust::Trust>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Where temporary spool files go: beside the keys, never in a shared /tmp.
    pub data_dir: std::path::PathBuf,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gdpr-gateway",
        description = "Integrator and public API of the gdpr-gateway. Every error is an RFC 9457 \
                       `application/problem+json` body with a stable `error_code`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::protocol::Problem, crate::protocol::ErrorCode)),
    modifiers(&PortalBearer),
    tags(
        (name = "public", description = "No authentication: health, keys, discovery."),
        (name = "portal", description = "For the organisation's portal backend: `Authorization: Bearer <portal token>`."),
        (name = "relay", description = "The trust framework relay, mounted under `/relay` when the gateway runs all-in-one. \
                                         Requests carry a `DPoP` proof signed by the caller's key (see docs/protocol.md).")
    )
)]
struct ApiDoc;

struct PortalBearer;

impl utoipa::Modify for PortalBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "portal_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "dpop",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "DPoP",
                    "A proof JWS (typ dpop+jwt, EdDSA, jwk, htm, htu, iat, jti) signed by the caller's key",
                ),
            )),
        );
    }
}

fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(public::healthz))
        .routes(routes!(public::readyz))
        .routes(routes!(public::metrics))
        .routes(routes!(public::jwks))
        .routes(routes!(public::discovery))
        .routes(routes!(subjects::list_exports))
        .routes(routes!(exports::create_export))
        .routes(routes!(pairings::create_pairing))
        .routes(routes!(pairings::pairing_status, pairings::cancel_pairing))
        .routes(routes!(pairings::confirm_pairing))
        .routes(routes!(pairings::qr_svg))
        .routes(routes!(pairings::qr_png))
        .routes(routes!(pairings::pairing_events))
        .routes(routes!(pairings::list_connections))
        .routes(routes!(pairings::revoke_connection))
        .routes(routes!(imports::list_imports))
        .routes(routes!(imports::import))
        // `verify` reads its body as a stream and caps it per media type itself.
        .merge(OpenApiRouter::new().routes(routes!(verify::verify)).layer(DefaultBodyLimit::disable()))
}

/// The OpenAPI document of [`app`] with the relay mounted under `/relay`, as committed in
/// `openapi/gateway.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let gateway = router().split_for_parts().1;
    let relay = crate::relay::api::router().split_for_parts().1;
    gateway.nest(crate::relay::MOUNT_PATH, relay)
}

/// The relay's routes with their state, ready to mount or serve.
fn relay_routes<S: Clone + Send + Sync + 'static>(relay: Arc<crate::relay::RelayState>) -> Router<S> {
    let (router, _) = crate::relay::api::router().split_for_parts();
    router.with_state(relay)
}

/// The relay alone (`gdpr-gateway relay`): its routes with the problem-body fallbacks and
/// request ids.
pub fn relay_app(relay: Arc<crate::relay::RelayState>) -> Router {
    with_problem_fallbacks(relay_routes(relay)).layer(axum::middleware::from_fn(request_id::middleware))
}

/// Problem bodies for unknown routes and methods, and the default body cap.
fn with_problem_fallbacks<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async { ApiError::bare(ErrorCode::MethodNotAllowed) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The gateway's HTTP application, with the relay mounted under `/relay` when given.
pub fn app(state: Arc<AppState>, relay: Option<Arc<crate::relay::RelayState>>) -> Router {
    let (mut router, _) = router().split_for_parts();
    if let Some(relay) = relay {
        router = router.nest(crate::relay::MOUNT_PATH, relay_routes(relay));
    }
    with_problem_fallbacks(router)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::metrics::middleware))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
}
