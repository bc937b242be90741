//! Authenticating relay requests: every request carries a `DPoP` proof, signed by the
//! caller's key, for this method and URL, fresh, and never seen before. The extractor
//! yields the key; handlers decide what that key may reach.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::RelayState;
use crate::http::ApiError;
use crate::jose::OkpPublicJwk;
use crate::jose::dpop::{self, MAX_CLOCK_SKEW_SECS, ProofError};
use crate::protocol::ErrorCode;
use crate::protocol::trust_list::Entry;

/// The key that signed this request's proof.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub key: OkpPublicJwk,
}

impl Caller {
    /// The RFC 7638 thumbprint of the caller's key.
    pub(super) fn jkt(&self) -> &str {
        &self.key.kid
    }

    /// The controller this key belongs to, by the trust list in force.
    pub(super) fn controller(&self, state: &RelayState) -> Result<Entry, ApiError> {
        let trust = state.trust_list()?;
        trust
            .controller_with_key(self.jkt())
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::NotAController, "the proof key is no controller's signing key"))
    }
}

impl FromRequestParts<Arc<RelayState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<RelayState>) -> Result<Self, ApiError> {
        let proof = parts
            .headers
            .get(dpop::HEADER)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidProof, "send a DPoP proof header signed by your key"))?;
        // The relay may be mounted under a prefix; its public URL already ends with it.
        let htu = format!("{}{}", state.public_url, parts.uri.path());
        let now = state.clock.now();
        let verified = dpop::verify(proof.as_bytes(), parts.method.as_str(), &htu, now).map_err(|e| match e {
            ProofError::Stale => ApiError::new(ErrorCode::StaleProof, e.to_string()),
            other => ApiError::new(ErrorCode::InvalidProof, other.to_string()),
        })?;
        // Keep each id until no clock could still accept the proof.
        let keep_until = verified.iat.max(now) + 2 * MAX_CLOCK_SKEW_SECS;
        if !state.store.spend_proof(&verified.key.kid, &verified.jti, keep_until).await? {
            return Err(ApiError::new(ErrorCode::ProofReplayed, "this proof's jti was used before"));
        }
        Ok(Self { key: verified.key })
    }
}
