//! Staff authentication: `Authorization: Bearer <token>` checked, in constant time, against
//! the SHA-256 digests configured for the organisation's staff, or, when `[staff_oidc]` is
//! configured and the token is a JWT, verified as an access token of the organisation's
//! identity provider; the member's role travels with them into the domain.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::portal_auth::{MAX_TOKEN_LEN, bearer_token};
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
        // Kept whole: an access token is longer than the tokens whose digests are configured.
        let token = bearer_token(parts, "staff token", MAX_ACCESS_TOKEN_BYTES)?;
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
        let refused = match &state.staff_tokens {
            Some(verifier) if StaffTokenVerifier::looks_like_jwt(token) => match verifier.verify(token).await {
                Ok(m) => return Ok(StaffMember { id: m.id, role: m.role }),
                Err(StaffTokenError::ProviderUnavailable) => return Err(refusal(StaffTokenError::ProviderUnavailable)),
                Err(e) => refusal(e),
            },
            _ => ApiError::bare(ErrorCode::InvalidBearerToken),
        };
        state.gateway.staff_sign_in_failed(refused.code().as_str()).await;
        Err(refused)
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
