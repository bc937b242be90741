//! The relay's HTTP API (`docs/protocol.md` § Relay API). Every route but the trust list
//! and the connect page needs a `DPoP` proof; a key reaches only its own connections, and
//! anything else answers 404 as if it did not exist.

use crate::http::problem_responses::problems;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::proof::Caller;
use super::{LoadedList, MAX_STREAM_SECS, MAX_TOKEN_LIFETIME_SECS, RelayState, WakeKey};
use crate::http::ApiError;
use crate::http::wakeup::Woken;
use crate::jose::{Curve, OkpPublicJwk, jwe};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::{
    APP_SCHEME, ConnectRequest, ConnectToken, Connected, ConnectionInfo, ConnectionState, JOSE_MEDIA_TYPE,
    MAX_ENVELOPE_BYTES, MAX_ITEMS_PER_READ, MAX_WAIT_SECS, MailboxItem, MailboxItems, OpenConnection, Posted,
    RegisterToken, is_valid_id,
};
use crate::store::StoreError;
use crate::store::relay_store::{NewConnection, RedeemRefused, Side};

/// The relay's routes, relative to its base URL.
pub fn router() -> OpenApiRouter<Arc<RelayState>> {
    OpenApiRouter::new()
        .routes(routes!(get_trust_list))
        .routes(routes!(get_operator_jwks))
        .routes(routes!(show_connect_page))
        .routes(routes!(register_connect_token))
        .routes(routes!(redeem_connect_token))
        .routes(routes!(open_connection))
        .routes(routes!(get_connection, revoke_relay_connection))
        .routes(routes!(list_messages))
        .routes(routes!(stream_messages))
        .routes(routes!(ack_message))
        .routes(routes!(poll_inbox))
        // The envelope route reads its body under its own cap.
        .merge(OpenApiRouter::new().routes(routes!(post_message)).layer(DefaultBodyLimit::max(MAX_ENVELOPE_BYTES + 1)))
        .merge(super::blob_routes::router())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

problems!(GetTrustListProblems: TrustListUnavailable);

/// The signed trust list in force (`application/jwt`), for wallets and verifiers.
#[utoipa::path(
    get, path = "/v1/trust-list", tag = "relay",
    responses(
        (status = 200, description = "compact JWS, typ gdpr-trust-list+jwt", content_type = "application/jwt", body = String),
        GetTrustListProblems
    )
)]
pub async fn get_trust_list(State(state): State<Arc<RelayState>>) -> Result<Response, ApiError> {
    let loaded = state.trust_list()?;
    Ok(([(header::CONTENT_TYPE, crate::bundle::JWT_MEDIA_TYPE)], loaded.token.clone()).into_response())
}

/// The operator's public keys, which sign the trust list. Anyone can serve keys: a wallet
/// takes one only when its thumbprint is the `op` pin from the connect URI.
#[utoipa::path(
    get, path = "/v1/operator-jwks", tag = "relay",
    responses((status = 200, description = "JWKS of the operator's Ed25519 keys", body = Object))
)]
pub async fn get_operator_jwks(State(state): State<Arc<RelayState>>) -> Json<crate::jose::Jwks> {
    Json(state.trust.operator_jwks())
}

/// The `op` pin a connect link may carry, passed on to the app link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectPageQuery {
    /// Thumbprint of the trust list operator's key.
    pub op: Option<String>,
}

problems!(ShowConnectPageProblems: InvalidParameter);

/// What a phone camera opens from the QR code: a page pointing to the wallet app. It claims
/// nothing; only the wallet's `POST /v1/connect` redeems the token.
#[utoipa::path(
    get, path = "/c/{token}", tag = "relay",
    params(("token" = String, Path, description = "The connect token"), ConnectPageQuery),
    responses(
        (status = 200, description = "HTML page", content_type = "text/html", body = String),
        ShowConnectPageProblems
    )
)]
pub async fn show_connect_page(
    State(state): State<Arc<RelayState>>,
    Path(token): Path<String>,
    query: Result<Query<ConnectPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let token = ConnectToken::parse(&token).map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?;
    let Query(query) = query?;
    let op = match query.op.as_deref().map(crate::protocol::relay_wire::operator_pin).transpose() {
        Ok(op) => op.map(|op| format!("&op={op}")).unwrap_or_default(),
        Err(e) => return Err(ApiError::new(ErrorCode::InvalidParameter, e.to_string())),
    };
    let relay: String = state
        .public_url
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    // The token and the encoded URL hold only URL-safe characters: nothing to escape in HTML.
    let app_link = format!("{APP_SCHEME}?relay={relay}&token={}{op}", token.encode());
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Connect your wallet</title></head>\
         <body><h1>Connect your wallet</h1><p>Open this code with your data wallet app to connect it to your \
         account.</p><p><a href=\"{app_link}\">Open in the wallet app</a></p></body></html>"
    );
    let mut response = Html(page).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

problems!(RegisterConnectTokenProblems: MalformedBody, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, NotAController, ConnectTokenExists);

/// A controller registers a connect token by its SHA-256; the relay never sees the token.
#[utoipa::path(
    post, path = "/v1/connect-tokens", tag = "relay",
    security(("dpop" = [])),
    request_body = RegisterToken,
    responses(
        (status = 201, description = "registered"),
        RegisterConnectTokenProblems
    )
)]
pub async fn register_connect_token(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    body: Result<Json<RegisterToken>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let controller = caller.controller(&state)?;
    let Json(body) = body?;
    let now = state.clock.now();
    let valid_digest =
        body.token_sha256.len() == 64 && body.token_sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !valid_digest {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "token_sha256 must be 64 lowercase hex digits"));
    }
    if body.expires_at <= now || body.expires_at > now + MAX_TOKEN_LIFETIME_SECS {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("expires_at must lie in the next {MAX_TOKEN_LIFETIME_SECS} seconds"),
        ));
    }
    match state.store.register_token(&body.token_sha256, &controller.id, now, body.expires_at).await {
        Ok(()) => Ok(StatusCode::CREATED),
        Err(StoreError::Conflict(_)) => Err(ApiError::bare(ErrorCode::ConnectTokenExists)),
        Err(e) => Err(e.into()),
    }
}

problems!(RedeemConnectTokenProblems: MalformedBody, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, ConnectTokenUnknown, ConnectTokenUsed, ConnectTokenExpired, RateLimited);

/// A wallet redeems a connect token with its fresh keys: the signing key of the proof and
/// the encryption key in the body. The first redemption wins; every other one fails.
#[utoipa::path(
    post, path = "/v1/connect", tag = "relay",
    security(("dpop" = [])),
    request_body = ConnectRequest,
    responses(
        (status = 201, body = Connected),
        RedeemConnectTokenProblems
    )
)]
pub async fn redeem_connect_token(
    State(state): State<Arc<RelayState>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    caller: Caller,
    body: Result<Json<ConnectRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let now = state.clock.now();
    state.connect_by_ip.check(&peer_key(peer), now).map_err(limited)?;
    let Json(body) = body?;
    let token =
        ConnectToken::parse(&body.token).map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?;
    let digest = token.sha256_hex();
    state.connect_by_token.check(&digest, now).map_err(limited)?;
    let (encryption, trust) = wallet_keys(&state, &caller, &body.encryption_jwk)?;
    let (id, notice_id) = (new_id(), new_id());
    let new = NewConnection {
        id: &id,
        token_sha256: &digest,
        wallet_signing_jwk: &caller.key,
        wallet_encryption_jwk: &encryption,
        notice_id: &notice_id,
        now,
        notice_expires_at: now + state.limits.message_ttl_secs,
    };
    let redeemed = match state.store.redeem(&new).await {
        Err(StoreError::Conflict(_)) => return Err(keys_in_use()),
        other => other?,
    };
    let controller_id = match redeemed {
        Ok(controller_id) => controller_id,
        Err(RedeemRefused::Unknown) => return Err(ApiError::bare(ErrorCode::ConnectTokenUnknown)),
        Err(RedeemRefused::Used) => return Err(ApiError::bare(ErrorCode::ConnectTokenUsed)),
        Err(RedeemRefused::Expired) => return Err(ApiError::bare(ErrorCode::ConnectTokenExpired)),
    };
    state.hub.notify(&WakeKey::Inbox(controller_id.clone()));
    let controller = trust.list.controller(&controller_id).cloned();
    let Ok(controller) = controller else {
        // Listed when it registered the token, gone now: end what was just created.
        state.store.revoke(&id, now).await?;
        return Err(ApiError::new(ErrorCode::NotAController, "the token's controller has left the trust list"));
    };
    Ok((StatusCode::CREATED, Json(Connected { connection_id: id, controller })))
}

problems!(OpenConnectionProblems: MalformedBody, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, ControllerNotListed, RateLimited);

/// A wallet opens a connection to a listed controller with fresh keys, without a token:
/// to forward it a bundle. Limited per address like redemptions; the controller binds
/// such a connection to no account.
#[utoipa::path(
    post, path = "/v1/connections", tag = "relay",
    security(("dpop" = [])),
    request_body = OpenConnection,
    responses(
        (status = 201, body = Connected),
        OpenConnectionProblems
    )
)]
pub async fn open_connection(
    State(state): State<Arc<RelayState>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    caller: Caller,
    body: Result<Json<OpenConnection>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let now = state.clock.now();
    state.connect_by_ip.check(&peer_key(peer), now).map_err(limited)?;
    let Json(body) = body?;
    let (encryption, trust) = wallet_keys(&state, &caller, &body.encryption_jwk)?;
    let controller = trust.list.controller(&body.controller_id).map_err(|_| {
        ApiError::new(ErrorCode::ControllerNotListed, format!("{:?} is not in the trust list", body.controller_id))
    })?;
    // No token was redeemed: a random digest keeps the column unique and matches nothing.
    let digest = ConnectToken::generate().sha256_hex();
    let (id, notice_id) = (new_id(), new_id());
    let new = NewConnection {
        id: &id,
        token_sha256: &digest,
        wallet_signing_jwk: &caller.key,
        wallet_encryption_jwk: &encryption,
        notice_id: &notice_id,
        now,
        notice_expires_at: now + state.limits.message_ttl_secs,
    };
    match state.store.open_direct(&new, &controller.id).await {
        Err(StoreError::Conflict(_)) => return Err(keys_in_use()),
        other => other?,
    }
    state.hub.notify(&WakeKey::Inbox(controller.id.clone()));
    Ok((StatusCode::CREATED, Json(Connected { connection_id: id, controller: controller.clone() })))
}

/// The new connection's wallet keys, checked: a usable X25519 key, and a signing key (the
/// proof's) that is no controller's. Also the trust list in force, checked against.
fn wallet_keys(
    state: &RelayState,
    caller: &Caller,
    encryption_jwk: &OkpPublicJwk,
) -> Result<(OkpPublicJwk, Arc<LoadedList>), ApiError> {
    let encryption = checked_x25519(encryption_jwk)?;
    let trust = state.trust_list()?;
    if trust.controller_with_key(caller.jkt()).is_some() {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "a controller's key cannot connect as a wallet"));
    }
    Ok((encryption, trust))
}

/// A wallet key that connected before: keys are fresh for every connection.
fn keys_in_use() -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, "use fresh keys for every connection")
}

fn peer_key(peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>) -> String {
    peer.map_or_else(
        || "unknown".to_owned(),
        |axum::Extension(ConnectInfo(addr))| super::rate_limit::address_key(addr.ip()),
    )
}

fn limited(retry_after: u64) -> ApiError {
    ApiError::new(ErrorCode::RateLimited, "too many connect attempts").retry_after(retry_after.max(1))
}

/// The wallet's X25519 key, with its `kid` recomputed rather than trusted.
fn checked_x25519(jwk: &OkpPublicJwk) -> Result<OkpPublicJwk, ApiError> {
    let key = jwe::x25519_public(jwk)
        .map_err(|_| ApiError::new(ErrorCode::InvalidParameter, "encryption_jwk must be a public X25519 OKP key"))?;
    // A low-order point would make every envelope to the wallet fail (and its shared
    // secret known): refuse it now rather than strand the connection.
    let probe = x25519_dalek::EphemeralSecret::random_from_rng(rand_core::OsRng);
    if !probe.diffie_hellman(&key).was_contributory() {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "encryption_jwk is a low-order X25519 point"));
    }
    let canonical = OkpPublicJwk::new(Curve::X25519, key.as_bytes());
    if canonical.kid != jwk.kid {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "encryption_jwk.kid must be its RFC 7638 thumbprint"));
    }
    Ok(canonical)
}

/// The connection and which side of it the caller is; 404 for anyone else.
pub(super) async fn side_of(state: &RelayState, caller: &Caller, id: &str) -> Result<(ConnectionInfo, Side), ApiError> {
    let not_found = || ApiError::bare(ErrorCode::ConnectionNotFound);
    if !is_valid_id(id) {
        return Err(not_found());
    }
    let (connection, wallet_jkt) = state.store.connection(id).await?.ok_or_else(not_found)?;
    if caller.jkt() == wallet_jkt {
        return Ok((connection, Side::Wallet));
    }
    let trust = state.trust_list()?;
    match trust.controller_with_key(caller.jkt()) {
        Some(owner) if owner.id == connection.controller_id => Ok((connection, Side::Controller)),
        _ => Err(not_found()),
    }
}

pub(super) fn require_open(connection: &ConnectionInfo) -> Result<(), ApiError> {
    match connection.state {
        ConnectionState::Open => Ok(()),
        _ => Err(ApiError::bare(ErrorCode::ConnectionRevoked)),
    }
}

problems!(GetConnectionProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound);

/// The connection, for either of its two parties.
#[utoipa::path(
    get, path = "/v1/connections/{connection_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, body = ConnectionInfo),
        GetConnectionProblems
    )
)]
pub async fn get_connection(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionInfo>, ApiError> {
    Ok(Json(side_of(&state, &caller, &id).await?.0))
}

problems!(RevokeRelayConnectionProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked);

/// Either party ends the connection: nothing more can be posted; items already posted can
/// still be read and acknowledged, after which reads answer `connection_revoked`.
#[utoipa::path(
    delete, path = "/v1/connections/{connection_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path)),
    responses(
        (status = 204, description = "revoked"),
        RevokeRelayConnectionProblems
    )
)]
pub async fn revoke_relay_connection(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (connection, side) = side_of(&state, &caller, &id).await?;
    require_open(&connection)?;
    let now = state.clock.now();
    let notice_id = new_id();
    let notice = (side == Side::Wallet).then_some((notice_id.as_str(), now + state.limits.message_ttl_secs));
    state.store.revoke_with_notice(&id, now, notice).await?;
    for side in [Side::Wallet, Side::Controller] {
        state.hub.notify(&WakeKey::Mailbox(id.clone(), side));
    }
    state.hub.notify(&WakeKey::Inbox(connection.controller_id));
    Ok(StatusCode::NO_CONTENT)
}

problems!(PostMessageProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound, ConnectionRevoked, PayloadTooLarge, UnsupportedMediaType, InvalidEnvelope, MailboxFull);

/// Posts a JWE envelope to the other party's mailbox. The relay checks only that it is a
/// well-formed ECDH-ES/A256GCM compact JWE; it holds no key to open it.
#[utoipa::path(
    post, path = "/v1/connections/{connection_id}/messages", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path)),
    request_body(content = String, content_type = "application/jose", description = "compact JWE"),
    responses(
        (status = 201, body = Posted),
        PostMessageProblems
    )
)]
pub async fn post_message(
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
pub struct Wait {
    /// Seconds to wait for an item when the mailbox is empty (0 to 30, default 0).
    pub wait: Option<u64>,
}

impl Wait {
    fn duration(query: Result<Query<Self>, axum::extract::rejection::QueryRejection>) -> Result<Duration, ApiError> {
        let Query(wait) = query?;
        let secs = wait.wait.unwrap_or(0);
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
    params(("connection_id" = String, Path), Wait),
    responses(
        (status = 200, body = MailboxItems),
        ListMessagesProblems
    )
)]
pub async fn list_messages(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<Wait>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MailboxItems>, ApiError> {
    let wait = Wait::duration(query)?;
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
pub async fn poll_inbox(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    query: Result<Query<Wait>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MailboxItems>, ApiError> {
    let wait = Wait::duration(query)?;
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
    params(("connection_id" = String, Path)),
    responses(
        (status = 200, description = "text/event-stream of MailboxItem JSON", content_type = "text/event-stream", body = String),
        StreamMessagesProblems
    )
)]
pub async fn stream_messages(
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
    params(("connection_id" = String, Path), ("message_id" = String, Path)),
    responses(
        (status = 204, description = "deleted"),
        AckMessageProblems
    )
)]
pub async fn ack_message(
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
