//! Staff authentication: `Authorization: Bearer <token>` checked, in constant time, against
//! the SHA-256 digests configured for the organisation's staff, or, when `[staff_oidc]` is
//! configured and the token is a JWT, verified as an access token of the organisation's
//! identity provider; the member's role travels with them into the domain.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::portal_auth::MAX_TOKEN_LEN;
use crate::config::TokenDigest;
use crate::gateway::Caller;
use crate::http::ApiError;
use crate::oidc::{MAX_ACCESS_TOKEN_BYTES, StaffTokenError, StaffTokenVerifier};
use crate::protocol::ErrorCode;
use crate::protocol::rights::StaffRole;

/// The authenticated member of staff; a handler taking this is for staff only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaffMember {
    pub id: String,
    pub role: StaffRole,
}

impl StaffMember {
    /// The member as the domain knows them.
    pub(crate) fn caller(&self) -> Caller {
        Caller::staff(&self.id, self.role)
    }
}

impl FromRequestParts<Arc<AppState>> for StaffMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        if token.len() <= MAX_TOKEN_LEN {
            let presented = TokenDigest::of(token);
            // Compare against every member so timing does not tell how many were tried.
            let mut found = None;
            for member in &state.staff {
                if member.token_sha256.matches(&presented) {
                    found = Some(StaffMember { id: member.id.clone(), role: member.role });
                }
            }
            if let Some(member) = found {
                return Ok(member);
            }
        }
        match &state.staff_tokens {
            Some(verifier) if StaffTokenVerifier::looks_like_jwt(token) => {
                verifier.verify(token).await.map(|m| StaffMember { id: m.id, role: m.role }).map_err(refusal)
            }
            _ => Err(ApiError::bare(ErrorCode::InvalidBearerToken)),
        }
    }
}

/// The answer to a refused access token. Why a token is invalid goes to `detail`: the
/// member's own token, and what any JWT library would tell its holder.
fn refusal(e: StaffTokenError) -> ApiError {
    match e {
        StaffTokenError::Invalid(why) => ApiError::new(ErrorCode::InvalidBearerToken, why),
        StaffTokenError::NoRole(why) => ApiError::new(ErrorCode::RoleNotPermitted, why),
        StaffTokenError::ProviderUnavailable => ApiError::new(
            ErrorCode::IdentityProviderUnavailable,
            "the identity provider's keys cannot be fetched; try again shortly",
        ),
    }
}

/// The request's bearer token, as `portal_auth::bearer_digest` reads it, but kept whole:
/// an access token is longer than the tokens whose digests are configured.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorCode::MissingBearerToken, "send Authorization: Bearer <staff token>"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::MissingBearerToken, "the Authorization scheme must be Bearer"))?;
    if token.len() > MAX_ACCESS_TOKEN_BYTES {
        return Err(ApiError::bare(ErrorCode::InvalidBearerToken));
    }
    Ok(token)
}
