//! The relay's mailbox routes: post an envelope to the other party, read (long-poll or
//! SSE) and acknowledge one's own items, and a controller's inbox across its connections.

use crate::http::problem_responses::problems;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::connect_routes::{require_open, side_of};
use super::new_id;
use super::proof::Caller;
use super::{MAX_STREAM_SECS, RelayState, WakeKey};
use crate::http::wakeup::Woken;
use crate::http::{ApiError, ApiQuery};
use crate::jose::jwe;
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::{
    JOSE_MEDIA_TYPE, MAX_ENVELOPE_BYTES, MAX_ITEMS_PER_READ, MAX_WAIT_SECS, MailboxItem, MailboxItems, Posted,
    is_valid_id,
};
use crate::store::relay_store::Side;

/// One Server-Sent Event of the relay's message stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "event": "message",
    "id": "e4b1c7a9d3f5e2b8c6a0d4f2b7e9c1a3",
    "data": "{\"id\":\"e4b1c7a9d3f5e2b8c6a0d4f2b7e9c1a3\",\"connection_id\":\"c2a81f0e9d7b4c6a8e5f3d1b0a9c7e64\",\"kind\":\"envelope\",\"body\":\"eyJhbGciOiJFQ0RILUVTIn0..iv.ciphertext.tag\",\"created_at\":1796033180,\"expires_at\":1796637980}"
}))]
pub(crate) struct MailboxEvent {
    /// `message` for an item, `revoked` when the connection ends.
    pub(crate) event: String,
    /// The item's id, for `message` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// The `MailboxItem` as JSON text, for `message` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<String>,
}

problems!(PostMessageProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked, PayloadTooLarge, UnsupportedMediaType, InvalidEnvelope, MailboxFull);

/// Posts a JWE envelope to the other party's mailbox. The relay checks only that it is a
/// well-formed ECDH-ES/A256GCM compact JWE; it holds no key to open it.
#[utoipa::path(
    post, path = "/v1/connections/{connection_id}/messages", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    request_body(content = String, content_type = "application/jose", description = "compact JWE"),
    responses(
        (status = 201, body = Posted),
        PostMessageProblems
    )
)]
pub(super) async fn post_message(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let (connection, side) = side_of(&state, &caller, &id).await?;
    require_open(&connection)?;
    let media_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !media_type.trim().eq_ignore_ascii_case(JOSE_MEDIA_TYPE) {
        return Err(ApiError::new(ErrorCode::UnsupportedMediaType, format!("send Content-Type: {JOSE_MEDIA_TYPE}")));
    }
    let body = body.map_err(|_| too_large())?;
    if body.len() > MAX_ENVELOPE_BYTES {
        return Err(too_large());
    }
    jwe::check_shape(&body, MAX_ENVELOPE_BYTES)
        .map_err(|e| ApiError::new(ErrorCode::InvalidEnvelope, e.to_string()))?;
    // check_shape accepted only base64url and dots: the body is ASCII.
    let text = String::from_utf8_lossy(&body);
    let now = state.clock.now();
    let expires_at = now + state.limits.message_ttl_secs;
    let message_id = new_id();
    let recipient = side.other();
    if !state.store.post(&message_id, &connection, recipient, &text, now, expires_at, state.limits.max_pending).await? {
        return Err(ApiError::new(
            ErrorCode::MailboxFull,
            format!("{} unacknowledged items", state.limits.max_pending),
        ));
    }
    state.hub.notify(&WakeKey::Mailbox(id.clone(), recipient));
    if recipient == Side::Controller {
        state.hub.notify(&WakeKey::Inbox(connection.controller_id));
    }
    Ok((StatusCode::CREATED, Json(Posted { id: message_id, expires_at })))
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("an envelope is at most {MAX_ENVELOPE_BYTES} bytes"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Wait {
    /// Seconds to wait for an item when the mailbox is empty (0 to 30, default 0).
    #[param(minimum = 0, maximum = 30)]
    pub wait: Option<u64>,
}

impl Wait {
    fn duration(&self) -> Result<Duration, ApiError> {
        let secs = self.wait.unwrap_or(0);
        if secs > MAX_WAIT_SECS {
            return Err(ApiError::new(ErrorCode::InvalidParameter, format!("wait is at most {MAX_WAIT_SECS} seconds")));
        }
        Ok(Duration::from_secs(secs))
    }
}

/// What a read returns items from.
#[derive(Debug, Clone)]
enum Source {
    Mailbox { connection_id: String, side: Side },
    Inbox { controller_id: String },
}

impl Source {
    fn wake_key(&self) -> WakeKey {
        match self {
            Self::Mailbox { connection_id, side } => WakeKey::Mailbox(connection_id.clone(), *side),
            Self::Inbox { controller_id } => WakeKey::Inbox(controller_id.clone()),
        }
    }

    async fn read(&self, state: &RelayState, limit: u32) -> Result<Vec<MailboxItem>, ApiError> {
        let now = state.clock.now();
        Ok(match self {
            Self::Mailbox { connection_id, side } => state.store.mailbox(connection_id, *side, now, limit).await?,
            Self::Inbox { controller_id } => state.store.inbox(controller_id, now, limit).await?,
        })
    }

    /// Fails once a mailbox's connection is revoked, so waiting wallets learn at once.
    async fn check_open(&self, state: &RelayState) -> Result<(), ApiError> {
        if let Self::Mailbox { connection_id, .. } = self {
            match state.store.connection(connection_id).await? {
                Some((connection, _)) => require_open(&connection)?,
                None => return Err(ApiError::bare(ErrorCode::ConnectionNotFound)),
            }
        }
        Ok(())
    }
}

/// Returns unacknowledged items, waiting up to `wait` for the first when there are none.
async fn long_poll(state: &Arc<RelayState>, source: Source, wait: Duration) -> Result<MailboxItems, ApiError> {
    let subscription = state.hub.subscribe(source.wake_key());
    let deadline = Instant::now() + wait;
    loop {
        let armed = subscription.armed();
        let items = source.read(state, MAX_ITEMS_PER_READ).await?;
        if !items.is_empty() {
            return Ok(MailboxItems { items });
        }
        // Nothing left to read: now a revoked connection says so.
        source.check_open(state).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || armed.wait(left, state.recheck()).await != Woken::Notified {
            return Ok(MailboxItems { items: Vec::new() });
        }
    }
}

problems!(ListMessagesProblems: InvalidParameter, InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked);

/// Unacknowledged items for the caller's side, oldest first; with `?wait=`, a long-poll.
#[utoipa::path(
    get, path = "/v1/connections/{connection_id}/messages", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$"), Wait),
    responses(
        (status = 200, body = MailboxItems),
        ListMessagesProblems
    )
)]
pub(super) async fn list_messages(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(wait): ApiQuery<Wait>,
) -> Result<Json<MailboxItems>, ApiError> {
    let wait = wait.duration()?;
    let (_, side) = side_of(&state, &caller, &id).await?;
    Ok(Json(long_poll(&state, Source::Mailbox { connection_id: id, side }, wait).await?))
}

problems!(PollInboxProblems: InvalidParameter, InvalidProof, StaleProof, ProofReplayed, NotAController);

/// A controller's items across all its connections, `connected` notices included.
#[utoipa::path(
    get, path = "/v1/inbox", tag = "relay",
    security(("dpop" = [])),
    params(Wait),
    responses(
        (status = 200, body = MailboxItems),
        PollInboxProblems
    )
)]
pub(super) async fn poll_inbox(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    ApiQuery(wait): ApiQuery<Wait>,
) -> Result<Json<MailboxItems>, ApiError> {
    let wait = wait.duration()?;
    let controller = caller.controller(&state)?;
    Ok(Json(long_poll(&state, Source::Inbox { controller_id: controller.id }, wait).await?))
}

problems!(StreamMessagesProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked);

/// The same items as a Server-Sent Events stream: one `message` event per item (its id as
/// the event id), `revoked` when the connection ends. Items stay until acknowledged. The
/// stream closes after five minutes; reconnect to go on.
#[utoipa::path(
    get, path = "/v1/connections/{connection_id}/messages/stream", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "text/event-stream of MailboxItem JSON", content_type = "text/event-stream", body = MailboxEvent),
        StreamMessagesProblems
    )
)]
pub(super) async fn stream_messages(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let (_, side) = side_of(&state, &caller, &id).await?;
    let source = Source::Mailbox { connection_id: id, side };
    Ok(Sse::new(item_stream(state, source)).keep_alive(KeepAlive::default()))
}

/// Produces one event per poll, so a client that stops reading holds at most one event in
/// memory; the stream ends at its deadline, on revocation, or on shutdown.
fn item_stream(state: Arc<RelayState>, source: Source) -> impl Stream<Item = Result<Event, Infallible>> {
    let deadline = Instant::now() + Duration::from_secs(MAX_STREAM_SECS);
    let subscription = state.hub.subscribe(source.wake_key());
    // Ids already sent, not a sequence cursor: on PostgreSQL a later sequence number can
    // commit before an earlier one, and a cursor would skip the late one. The set is
    // bounded by the mailbox cap.
    let sent: std::collections::HashSet<String> = std::collections::HashSet::new();
    futures_util::stream::unfold(Some((state, source, subscription, sent)), move |cursor| async move {
        let (state, source, subscription, mut sent) = cursor?;
        loop {
            let armed = subscription.armed();
            match source.read(&state, state.limits.max_pending).await {
                Ok(items) if items.iter().any(|item| !sent.contains(&item.id)) => {
                    drop(armed);
                    let Some(item) = items.into_iter().find(|item| !sent.contains(&item.id)) else {
                        continue;
                    };
                    let event = item_event(&item);
                    sent.insert(item.id);
                    return Some((Ok(event), Some((state, source, subscription, sent))));
                }
                Ok(items) => {
                    // Acknowledged items need not be remembered.
                    sent.retain(|id| items.iter().any(|item| &item.id == id));
                    if items.is_empty() && source.check_open(&state).await.is_err() {
                        return Some((Ok(Event::default().event("revoked").data("{}")), None));
                    }
                }
                Err(e) => {
                    tracing::warn!("relay: stream read failed: {e:?}");
                    return None;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || armed.wait(left, state.recheck()).await != Woken::Notified {
                return None;
            }
        }
    })
}

fn item_event(item: &MailboxItem) -> Event {
    let data = serde_json::to_string(item).unwrap_or_default();
    Event::default().event("message").id(item.id.clone()).data(data)
}

problems!(AckMessageProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, MessageNotFound);

/// Acknowledges (deletes) one item of the caller's mailbox.
#[utoipa::path(
    delete, path = "/v1/connections/{connection_id}/messages/{message_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$"), ("message_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 204, description = "deleted"),
        AckMessageProblems
    )
)]
pub(super) async fn ack_message(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (_, side) = side_of(&state, &caller, &id).await?;
    if is_valid_id(&message_id) && state.store.ack(&id, side, &message_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::bare(ErrorCode::MessageNotFound))
    }
}
