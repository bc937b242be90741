//! The gateway's HTTP routes: each handler translates a request into one call on the
//! domain (`gateway::Gateway`, naming the caller) and the answer back, in a dozen lines.
//! Every route is registered through `utoipa_axum::routes!`, so the OpenAPI document is
//! generated from the same code that serves (clippy forbids plain `.route`); `serve.rs`
//! mounts it.

mod audit_routes;
mod authority_draft_page;
mod breach_routes;
mod delivery_routes;
mod domain_errors;
mod examples;
pub(crate) mod export_routes;
pub(crate) mod import_routes;
mod intake_routes;
mod operation_routes;
mod oversight_examples;
pub(crate) mod pairing_routes;
pub(crate) mod portal_auth;
mod processing_register_routes;
pub(crate) mod public_routes;
pub(crate) mod register_routes;
pub(crate) mod request_routes;
mod request_views;
mod retention_routes;
pub(crate) mod staff_auth;
pub(crate) mod subject_routes;
pub(crate) mod verify_route;
pub mod views;
pub(crate) mod workflow_routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::PortalClient as PortalClientConfig;
use crate::gateway::Gateway;
use crate::http::metrics::Metrics;

/// What handlers share: the domain, who may call it, and how the gateway is reached.
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub portal_clients: Vec<PortalClientConfig>,
    pub staff: Vec<crate::config::StaffMember>,
    /// Verifies staff access tokens from the identity provider, when `[staff_oidc]` is set.
    pub(crate) staff_tokens: Option<Arc<crate::oidc::StaffTokenVerifier>>,
    pub metrics: Arc<Metrics>,
    /// The gateway's base URL as clients reach it, for the URLs in answers.
    pub public_url: String,
    /// The memory `POST /v1/verify` may hold for compact JWS bodies, in MiB permits.
    pub verify_budget: Arc<tokio::sync::Semaphore>,
    /// Web origins whose pages may call the portal routes (`[cors] portal_origins`).
    pub cors_origins: Vec<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gdpr-gateway",
        description = "Integrator and public API of the gdpr-gateway. Every error is an RFC 9457 \
                       `application/problem+json` body with a stable `error_code`.",
        license(name = "Apache-2.0")
    ),
    servers((
        url = "{gateway}",
        description = "The gateway: its `public_url`, or `http://<listen address>` without one",
        variables(("gateway" = (default = "http://127.0.0.1:8080", description = "The gateway's public_url")))
    )),
    components(schemas(crate::protocol::Problem, crate::protocol::ErrorCode)),
    modifiers(&PortalBearer),
    tags(
        (name = "public", description = "No authentication: health, keys, discovery."),
        (name = "portal", description = "For the organisation's portal backend: `Authorization: Bearer <portal token>`."),
        (name = "staff", description = "For the organisation's staff handling rights requests: `Authorization: Bearer <staff token>`; \
                                         roles handler, approver, auditor (read only) and admin."),
        (name = "breaches", description = "The breach register and procedure (art. 33–34 GDPR), for staff: the auditor reads, \
                                         handlers record and answer, approvers and admins notify the authority and the people \
                                         (see docs/breaches.md)."),
        (name = "relay", description = "The trust framework relay, mounted under `/relay` when the gateway runs all-in-one. \
                                         Requests carry a `DPoP` proof signed by the caller's key (see docs/protocol.md).")
    )
)]
struct ApiDoc;

struct PortalBearer;

/// Zip packages and PNG images are bytes: `type: string, format: binary` (utoipa would
/// describe a `Vec<u8>` as an array of integers, and generated clients would parse JSON).
/// Applied to the whole document, once the routes have added their paths.
pub(crate) struct BinaryBodies;

impl utoipa::Modify for BinaryBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::{RefOr, path::Operation};
        const BINARY: &[&str] = &["application/zip", "image/png"];
        let bytes = || {
            RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                    .into(),
            )
        };
        let fix = |operation: &mut Operation| {
            let requests = operation.request_body.iter_mut().flat_map(|b| b.content.iter_mut());
            let answers = operation.responses.responses.values_mut().filter_map(|r| match r {
                RefOr::T(response) => Some(response.content.iter_mut()),
                RefOr::Ref(_) => None,
            });
            for (media_type, content) in requests.chain(answers.flatten()) {
                if BINARY.contains(&media_type.as_str()) {
                    content.schema = Some(bytes());
                }
            }
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                fix(operation);
            }
        }
    }
}

impl utoipa::Modify for PortalBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "portal_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "staff_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A staff member's token whose SHA-256 is configured (`[[staff]]`), or an access token \
                         (JWT: RS256, ES256 or EdDSA) from the organisation's identity provider when \
                         `[staff_oidc]` is configured; its role claim is mapped to handler, approver, auditor \
                         or admin.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "status_token",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Query(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    portal_auth::STATUS_TOKEN_PARAM,
                    "The `status_token` from `POST /v1/pairings`: the customer's browser reads that one pairing \
                     (state, QR code, events) with it until five minutes after the pairing expires",
                ),
            )),
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

/// The gateway's routes. The handler's name is its OpenAPI operation id (`verb_noun`).
pub(crate) fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(public_routes::get_health))
        .routes(routes!(public_routes::get_readiness))
        .routes(routes!(public_routes::get_metrics))
        .routes(routes!(public_routes::get_jwks))
        .routes(routes!(public_routes::get_discovery))
        .routes(routes!(subject_routes::list_exports))
        .routes(routes!(export_routes::create_export))
        .routes(routes!(pairing_routes::create_pairing))
        .routes(routes!(pairing_routes::get_pairing, pairing_routes::cancel_pairing))
        .routes(routes!(pairing_routes::confirm_pairing))
        .routes(routes!(pairing_routes::get_pairing_qr_svg))
        .routes(routes!(pairing_routes::get_pairing_qr_png))
        .routes(routes!(pairing_routes::stream_pairing_events))
        .routes(routes!(pairing_routes::list_connections))
        .routes(routes!(pairing_routes::revoke_connection))
        .routes(routes!(request_routes::file_request, request_routes::list_subject_requests))
        .routes(routes!(register_routes::get_request))
        .routes(routes!(register_routes::export_requests_csv))
        .routes(routes!(processing_register_routes::get_processing_register))
        .routes(routes!(retention_routes::list_upcoming_deletions))
        .routes(routes!(retention_routes::source_retention_report))
        .routes(routes!(retention_routes::place_legal_hold, retention_routes::list_legal_holds))
        .routes(routes!(retention_routes::lift_legal_hold))
        .routes(routes!(audit_routes::list_audit))
        .routes(routes!(audit_routes::export_audit))
        .routes(routes!(breach_routes::record_breach, breach_routes::list_breaches))
        .routes(routes!(breach_routes::get_breach, breach_routes::assess_breach))
        .routes(routes!(breach_routes::get_authority_notification, breach_routes::record_authority_notified))
        .routes(routes!(breach_routes::notify_people))
        .routes(routes!(workflow_routes::record_criterion))
        .routes(routes!(workflow_routes::advance_request))
        .routes(routes!(workflow_routes::extend_request))
        .routes(routes!(workflow_routes::refuse_request))
        .routes(routes!(workflow_routes::refer_request))
        .routes(routes!(intake_routes::register_written_request, register_routes::list_requests))
        .routes(routes!(intake_routes::record_identification))
        .routes(routes!(delivery_routes::list_deliveries))
        .routes(routes!(operation_routes::settle_operation))
        .routes(routes!(operation_routes::get_receipt))
        .routes(routes!(operation_routes::get_subject_receipt))
        // Reads its body itself, capped by `[requests] max_document_bytes` once the member's
        // role allows it.
        .routes(routes!(intake_routes::attach_document, intake_routes::get_document))
        .routes(routes!(import_routes::list_imports))
        .routes(routes!(import_routes::get_import))
        // `verify_bundle` reads its body as a stream and caps it per media type itself.
        .merge(OpenApiRouter::new().routes(routes!(verify_route::verify_bundle)).layer(DefaultBodyLimit::disable()))
}
