//! Staff authentication: `Authorization: Bearer <token>` checked, in constant time, against
//! the SHA-256 digests configured for the organisation's staff; the member's role travels
//! with them into the domain.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::portal_auth::bearer_digest;
use crate::gateway::Caller;
use crate::http::ApiError;
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
        let presented = bearer_digest(parts, "staff token")?;
        // Compare against every member so timing does not tell how many were tried.
        let mut found = None;
        for member in &state.staff {
            if member.token_sha256.matches(&presented) {
                found = Some(StaffMember { id: member.id.clone(), role: member.role });
            }
        }
        found.ok_or_else(|| ApiError::bare(ErrorCode::InvalidBearerToken))
    }
}
