//! Portal authentication: `Authorization: Bearer <token>` checked against the SHA-256
//! digests of the configured portal clients, in constant time.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use crate::config::TokenDigest;
use crate::gateway::Caller;
use crate::http::ApiError;
use crate::protocol::ErrorCode;

/// Longest bearer token we hash; longer ones cannot be ours.
pub(crate) const MAX_TOKEN_LEN: usize = 512;
/// The query parameter that carries a pairing's status token.
pub(crate) const STATUS_TOKEN_PARAM: &str = "status_token";
/// Longest status token we hash; ours are 43 characters.
const MAX_STATUS_TOKEN_LEN: usize = 128;

/// The authenticated portal client; a handler taking this is portal-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortalClient {
    pub id: String,
}

impl PortalClient {
    /// The client as the domain knows it.
    pub(crate) fn caller(&self) -> Caller {
        Caller::portal(&self.id)
    }
}

impl FromRequestParts<Arc<AppState>> for PortalClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let presented = bearer_digest(parts, "portal token")?;
        // Compare against every client so timing does not tell how many were tried.
        let mut found = None;
        for client in &state.portal_clients {
            if client.token_sha256.matches(&presented) {
                found = Some(client.id.clone());
            }
        }
        found.map(|id| PortalClient { id }).ok_or_else(|| ApiError::bare(ErrorCode::InvalidBearerToken))
    }
}

/// Who reads one pairing: the portal client that made it (`Authorization: Bearer`), or a
/// browser presenting that pairing's status token as `?status_token=`, since an `<img>` or
/// an `EventSource` cannot send headers. With both, the header decides.
pub(crate) struct PairingReader(pub Caller);

impl FromRequestParts<Arc<AppState>> for PairingReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            let query = parts.uri.query().unwrap_or_default().as_bytes();
            if let Some((_, token)) = url::form_urlencoded::parse(query).find(|(k, _)| k == STATUS_TOKEN_PARAM) {
                if token.is_empty() || token.len() > MAX_STATUS_TOKEN_LEN {
                    return Err(ApiError::new(ErrorCode::InvalidBearerToken, "not a status token"));
                }
                return Ok(Self(Caller::PairingViewer { status: TokenDigest::of(&token) }));
            }
        }
        Ok(Self(PortalClient::from_request_parts(parts, state).await?.caller()))
    }
}

/// The SHA-256 of the request's bearer token (`what` names the token in the error).
pub(crate) fn bearer_digest(parts: &Parts, what: &str) -> Result<TokenDigest, ApiError> {
    Ok(TokenDigest::of(bearer_token(parts, what, MAX_TOKEN_LEN)?))
}

/// The request's bearer token, at most `max_len` bytes (`what` names it in the error).
pub(crate) fn bearer_token<'a>(parts: &'a Parts, what: &str, max_len: usize) -> Result<&'a str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorCode::MissingBearerToken, format!("send Authorization: Bearer <{what}>")))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::MissingBearerToken, "the Authorization scheme must be Bearer"))?;
    if token.len() > max_len {
        return Err(ApiError::bare(ErrorCode::InvalidBearerToken));
    }
    Ok(token)
}
