//! The relay's connection routes (`docs/protocol.md` § Relay API): the trust list and
//! operator keys, the connect page, connect tokens, redemption, connections opened by
//! wallets, and reading or revoking a connection. Every route but the trust list, the keys
//! and the connect page needs a `DPoP` proof; a key reaches only its own connections, and
//! anything else answers 404 as if it did not exist.

use crate::http::problem_responses::problems;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::connect_page::{self, CodeState};
use super::new_id;
use super::proof::Caller;
use super::{LoadedList, MAX_TOKEN_LIFETIME_SECS, RelayState, WakeKey};
use crate::clock::UnixSeconds;
use crate::http::{ApiError, ApiJson, ApiQuery};
use crate::jose::{Curve, OkpPublicJwk, jwe};
use crate::protocol::ErrorCode;
use crate::protocol::relay_wire::{
    APP_SCHEME, ConnectRequest, ConnectToken, Connected, ConnectionInfo, ConnectionState, OpenConnection,
    RegisterToken, is_valid_id,
};
use crate::store::StoreError;
use crate::store::relay_store::{NewConnection, RedeemRefused, Side};

problems!(GetTrustListProblems: TrustListUnavailable);

/// The signed trust list in force (`application/jwt`), for wallets and verifiers.
#[utoipa::path(
    get, path = "/v1/trust-list", tag = "relay",
    responses(
        (status = 200, description = "compact JWS, typ gdpr-trust-list+jwt", content_type = "application/jwt", body = String),
        GetTrustListProblems
    )
)]
pub(super) async fn get_trust_list(State(state): State<Arc<RelayState>>) -> Result<Response, ApiError> {
    let loaded = state.trust_list()?;
    Ok(([(header::CONTENT_TYPE, crate::bundle::JWT_MEDIA_TYPE)], loaded.token.clone()).into_response())
}

/// The operator's public keys, which sign the trust list. Anyone can serve keys: a wallet
/// takes one only when its thumbprint is the `op` pin from the connect URI.
#[utoipa::path(
    get, path = "/v1/operator-jwks", tag = "relay",
    responses((status = 200, description = "JWKS of the operator's Ed25519 keys", body = crate::jose::Jwks))
)]
pub(super) async fn get_operator_jwks(State(state): State<Arc<RelayState>>) -> Json<crate::jose::Jwks> {
    Json(state.trust.operator_jwks())
}

/// The `op` pin a connect link may carry, passed on to the app link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ConnectPageQuery {
    /// Thumbprint of the trust list operator's key.
    #[param(pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")]
    pub op: Option<String>,
}

problems!(ShowConnectPageProblems: InvalidParameter);

/// What a phone camera opens from the QR code: a page that names the organisation, points
/// to the wallet app, and tells a person without the app, or with a used or expired code,
/// what to do, in the configured language. It claims nothing; only the wallet's
/// `POST /v1/connect` redeems the token.
#[utoipa::path(
    get, path = "/c/{token}", tag = "relay",
    params(("token" = String, Path, description = "The connect token: 32 bytes, base64url", pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"), ConnectPageQuery),
    responses(
        (status = 200, description = "HTML page: open the wallet app", content_type = "text/html", body = String),
        (status = 404, description = "HTML page: the code is not known here", content_type = "text/html", body = String),
        (status = 410, description = "HTML page: the code was used or has expired", content_type = "text/html", body = String),
        ShowConnectPageProblems
    )
)]
pub(super) async fn show_connect_page(
    State(state): State<Arc<RelayState>>,
    Path(token): Path<String>,
    ApiQuery(query): ApiQuery<ConnectPageQuery>,
) -> Result<Response, ApiError> {
    let token = ConnectToken::parse(&token).map_err(|e| ApiError::new(ErrorCode::InvalidParameter, e.to_string()))?;
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
    let app_link = format!("{APP_SCHEME}?relay={relay}&token={}{op}", token.encode());
    let holder = state.store.token_holder(&token.sha256_hex(), state.clock.now()).await?;
    let listed = state.trust.current();
    let name = |controller_id: &str| {
        let entry = listed.as_ref().and_then(|l| l.list.controllers.iter().find(|c| c.id == controller_id).cloned());
        entry.map_or_else(|| controller_id.to_owned(), |e| e.name)
    };
    let (status, page) = match holder {
        Some((controller_id, Ok(()))) => {
            let organisation = name(&controller_id);
            (
                StatusCode::OK,
                connect_page::render(
                    &CodeState::Open { organisation: &organisation, app_link: &app_link },
                    state.language,
                ),
            )
        }
        Some((controller_id, Err(why))) => {
            let organisation = name(&controller_id);
            (
                StatusCode::GONE,
                connect_page::render(&CodeState::Closed { organisation: &organisation, why }, state.language),
            )
        }
        None => (StatusCode::NOT_FOUND, connect_page::render(&CodeState::Unknown, state.language)),
    };
    let mut response = (status, Html(page)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(response)
}

problems!(RegisterConnectTokenProblems: MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, NotAController, ConnectTokenExists);

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
pub(super) async fn register_connect_token(
    State(state): State<Arc<RelayState>>,
    caller: Caller,
    // Taken as a result: a key that is no controller's is told so whatever it sent.
    body: Result<ApiJson<RegisterToken>, ApiError>,
) -> Result<StatusCode, ApiError> {
    let controller = caller.controller(&state)?;
    let ApiJson(body) = body?;
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

problems!(RedeemConnectTokenProblems: MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, NotAController, ConnectTokenUnknown, ConnectTokenUsed, ConnectTokenExpired, RateLimited, TrustListUnavailable);

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
pub(super) async fn redeem_connect_token(
    State(state): State<Arc<RelayState>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    caller: Caller,
    body: Result<ApiJson<ConnectRequest>, ApiError>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let (now, body) = admitted(&state, peer, body)?;
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

problems!(OpenConnectionProblems: MalformedBody, PayloadTooLarge, UnsupportedMediaType, InvalidParameter, InvalidProof, StaleProof, ProofReplayed, ControllerNotListed, RateLimited, TrustListUnavailable);

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
pub(super) async fn open_connection(
    State(state): State<Arc<RelayState>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    caller: Caller,
    body: Result<ApiJson<OpenConnection>, ApiError>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let (now, body) = admitted(&state, peer, body)?;
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

/// A wallet key, signing or encryption, that connected before: both are fresh for every
/// connection, so no two organisations can link a wallet by its keys.
fn keys_in_use() -> ApiError {
    ApiError::new(ErrorCode::InvalidParameter, "use fresh keys for every connection")
}

/// A connect attempt counts against its address before a body error is answered, so a flood
/// of junk costs its sender as much as real attempts; then the body, and the time now.
fn admitted<T>(
    state: &RelayState,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    body: Result<ApiJson<T>, ApiError>,
) -> Result<(UnixSeconds, T), ApiError> {
    let now = state.clock.now();
    state.connect_by_ip.check(&peer_key(peer), now).map_err(limited)?;
    let ApiJson(body) = body?;
    Ok((now, body))
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
        ConnectionState::Revoked => Err(ApiError::bare(ErrorCode::ConnectionRevoked)),
    }
}

problems!(GetConnectionProblems: InvalidProof, StaleProof, ProofReplayed, ConnectionNotFound);

/// The connection, for either of its two parties.
#[utoipa::path(
    get, path = "/v1/connections/{connection_id}", tag = "relay",
    security(("dpop" = [])),
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 200, body = ConnectionInfo),
        GetConnectionProblems
    )
)]
pub(super) async fn get_connection(
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
    params(("connection_id" = String, Path, pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 204, description = "revoked"),
        RevokeRelayConnectionProblems
    )
)]
pub(super) async fn revoke_relay_connection(
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
