//! Portal routes for pairing a wallet: create, follow (JSON and SSE), QR images, confirm
//! the code, cancel; and the subject's connections.

use crate::http::problem_responses::problems;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use super::AppState;
use super::portal_auth::{PairingReader, PortalClient};
use super::subject_routes::SubjectPath;
use super::views::{ConfirmCode, ConnectionList, ConnectionView, CreatePairing, PairingEvent, PairingView};
use crate::clock::rfc3339;
use crate::gateway::{MAX_CODE_ATTEMPTS, PairingError};
use crate::http::ApiError;
use crate::http::ApiJson;
use crate::protocol::{ErrorCode, SubjectRef};
use crate::store::pairing_store::{Connection, Pairing, PairingState};

/// Most connections one listing returns.
pub(crate) const MAX_CONNECTIONS_LISTED: u32 = 100;

fn view(state: &AppState, pairing: &Pairing, connect_uri: Option<String>) -> PairingView {
    let base = format!("{}/v1/pairings/{}", state.public_url, pairing.id);
    PairingView {
        pairing_id: pairing.id.clone(),
        subject_ref: pairing.subject_ref.clone(),
        state: pairing.state,
        connect_uri,
        qr_svg_url: format!("{base}/qr.svg"),
        qr_png_url: format!("{base}/qr.png"),
        events_url: format!("{base}/events"),
        expires_at: rfc3339(pairing.expires_at),
        attempts_left: MAX_CODE_ATTEMPTS.saturating_sub(pairing.failed_attempts),
        connection_id: pairing.connection_id.clone(),
        status_token: None,
    }
}

async fn view_with_uri(state: &AppState, pairing: &Pairing) -> PairingView {
    let uri = match pairing.state {
        PairingState::Pending => state.gateway.connect_uri(pairing).await.ok(),
        _ => None,
    };
    view(state, pairing, uri)
}

problems!(CreatePairingProblems: MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidParameter, MissingBearerToken, InvalidBearerToken, RelayUnavailable);

/// Starts pairing a wallet with the logged-in customer: show `qr_svg_url` (or
/// `connect_uri`) to them, follow `events_url`, and post the code they type to `confirm`.
#[utoipa::path(
    post, path = "/v1/pairings", tag = "portal",
    security(("portal_token" = [])),
    request_body = CreatePairing,
    responses(
        (status = 201, body = PairingView),
        CreatePairingProblems
    )
)]
pub(crate) async fn create_pairing(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    ApiJson(body): ApiJson<CreatePairing>,
) -> Result<(StatusCode, Json<PairingView>), ApiError> {
    let subject = SubjectRef::parse(&body.subject_ref)?;
    let created = state.gateway.create_pairing(&client.caller(), &subject).await?;
    let view = PairingView {
        status_token: Some(created.status_token),
        ..view(&state, &created.pairing, Some(created.connect_uri))
    };
    Ok((StatusCode::CREATED, Json(view)))
}

problems!(GetPairingProblems: MissingBearerToken, InvalidBearerToken, PairingNotFound);

/// The pairing's state now.
#[utoipa::path(
    get, path = "/v1/pairings/{pairing_id}", tag = "portal",
    security(("portal_token" = []), ("status_token" = [])),
    params(("pairing_id" = String, Path)),
    responses(
        (status = 200, body = PairingView),
        GetPairingProblems
    )
)]
pub(crate) async fn get_pairing(
    State(state): State<Arc<AppState>>,
    PairingReader(reader): PairingReader,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let pairing = state.gateway.pairing(&reader, &id).await?;
    // It may carry the connect link; no cache keeps it.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view_with_uri(&state, &pairing).await)))
}

problems!(ConfirmPairingProblems: MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidParameter, MissingBearerToken, InvalidBearerToken, PairingNotFound, PairingNotScanned, PairingClosed, WrongCode);

/// The customer typed the code their wallet shows. Three wrong codes cancel the pairing.
#[utoipa::path(
    post, path = "/v1/pairings/{pairing_id}/confirm", tag = "portal",
    security(("portal_token" = [])),
    params(("pairing_id" = String, Path)),
    request_body = ConfirmCode,
    responses(
        (status = 200, description = "connected", body = PairingView),
        ConfirmPairingProblems
    )
)]
pub(crate) async fn confirm_pairing(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConfirmCode>,
) -> Result<Json<PairingView>, ApiError> {
    let pairing = state.gateway.confirm_pairing(&client.caller(), &id, &body.code).await?;
    Ok(Json(view(&state, &pairing, None)))
}

problems!(CancelPairingProblems: MissingBearerToken, InvalidBearerToken, PairingNotFound, PairingClosed);

/// Cancels the pairing; a wallet that scanned it is told and disconnected.
#[utoipa::path(
    delete, path = "/v1/pairings/{pairing_id}", tag = "portal",
    security(("portal_token" = [])),
    params(("pairing_id" = String, Path)),
    responses(
        (status = 200, description = "cancelled", body = PairingView),
        CancelPairingProblems
    )
)]
pub(crate) async fn cancel_pairing(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    Path(id): Path<String>,
) -> Result<Json<PairingView>, ApiError> {
    let pairing = state.gateway.cancel_pairing(&client.caller(), &id).await?;
    Ok(Json(view(&state, &pairing, None)))
}

problems!(GetPairingQrSvgProblems: MissingBearerToken, InvalidBearerToken, PairingNotFound, PairingClosed);

/// The QR code as SVG, while the pairing is `pending`.
#[utoipa::path(
    get, path = "/v1/pairings/{pairing_id}/qr.svg", tag = "portal",
    security(("portal_token" = []), ("status_token" = [])),
    params(("pairing_id" = String, Path)),
    responses(
        (status = 200, description = "QR code of connect_uri, error correction Q", content_type = "image/svg+xml", body = String),
        GetPairingQrSvgProblems
    )
)]
pub(crate) async fn get_pairing_qr_svg(
    State(state): State<Arc<AppState>>,
    PairingReader(reader): PairingReader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uri = state.gateway.pairing_connect_uri(&reader, &id).await?;
    let svg = crate::gateway::qr::svg(&uri).map_err(|e| ApiError::internal(ErrorCode::Internal, &e))?;
    Ok(image("image/svg+xml", svg.into_bytes()))
}

problems!(GetPairingQrPngProblems: MissingBearerToken, InvalidBearerToken, PairingNotFound, PairingClosed);

/// The QR code as PNG, while the pairing is `pending`.
#[utoipa::path(
    get, path = "/v1/pairings/{pairing_id}/qr.png", tag = "portal",
    security(("portal_token" = []), ("status_token" = [])),
    params(("pairing_id" = String, Path)),
    responses(
        (status = 200, description = "QR code of connect_uri, error correction Q", content_type = "image/png", body = Vec<u8>),
        GetPairingQrPngProblems
    )
)]
pub(crate) async fn get_pairing_qr_png(
    State(state): State<Arc<AppState>>,
    PairingReader(reader): PairingReader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uri = state.gateway.pairing_connect_uri(&reader, &id).await?;
    let png = crate::gateway::qr::png(&uri).map_err(|e| ApiError::internal(ErrorCode::Internal, &e))?;
    Ok(image("image/png", png))
}

fn image(media_type: &'static str, bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, media_type), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
}

problems!(StreamPairingEventsProblems: MissingBearerToken, InvalidBearerToken, PairingNotFound);

/// Server-Sent Events of the pairing's state: one event per change, named after the state
/// (`pending`, `scanned`, `connected`, `expired`, `cancelled`), data the pairing as JSON.
/// The stream ends after a final state.
#[utoipa::path(
    get, path = "/v1/pairings/{pairing_id}/events", tag = "portal",
    security(("portal_token" = []), ("status_token" = [])),
    params(("pairing_id" = String, Path)),
    responses(
        (status = 200, description = "one event per state change", content_type = "text/event-stream", body = PairingEvent),
        StreamPairingEventsProblems
    )
)]
pub(crate) async fn stream_pairing_events(
    State(state): State<Arc<AppState>>,
    PairingReader(reader): PairingReader,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let changes = state.gateway.pairing_changes(&reader, &id).await?;
    let events = changes.map(move |pairing| {
        let data = serde_json::to_string(&view(&state, &pairing, None)).unwrap_or_default();
        Ok(Event::default().event(pairing.state.as_str()).data(data))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        Self {
            connection_id: c.id,
            state: if c.active { "active" } else { "revoked" }.to_owned(),
            wallet_kid: c.wallet_signing_jwk.kid,
            created_at: rfc3339(c.created_at),
            revoked_at: c.revoked_at.map(rfc3339),
        }
    }
}

problems!(ListConnectionsProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken);

/// The subject's wallet connections, newest first.
#[utoipa::path(
    get, path = "/v1/subjects/{subject_ref}/connections", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")),
    responses(
        (status = 200, body = ConnectionList),
        ListConnectionsProblems
    )
)]
pub(crate) async fn list_connections(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
) -> Result<Json<ConnectionList>, ApiError> {
    let connections = state.gateway.connections_of(&client.caller(), &subject, MAX_CONNECTIONS_LISTED).await?;
    Ok(Json(ConnectionList { connections: connections.into_iter().map(ConnectionView::from).collect() }))
}

problems!(RevokeConnectionProblems: InvalidParameter, MissingBearerToken, InvalidBearerToken, ConnectionNotFound, ConnectionRevoked, RelayUnavailable);

/// Revokes one of the subject's connections, at the relay too; the wallet is told.
#[utoipa::path(
    delete, path = "/v1/subjects/{subject_ref}/connections/{connection_id}", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"), ("connection_id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        RevokeConnectionProblems
    )
)]
pub(crate) async fn revoke_connection(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    Path((subject_ref, connection_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let subject = SubjectRef::parse(&subject_ref)?;
    match state.gateway.revoke_connection(&client.caller(), &subject, &connection_id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(PairingError::NotFound) => Err(ApiError::bare(ErrorCode::ConnectionNotFound)),
        Err(PairingError::Closed(_)) => Err(ApiError::bare(ErrorCode::ConnectionRevoked)),
        Err(e) => Err(e.into()),
    }
}
