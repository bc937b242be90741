//! Staff sign-in with the organisation's identity provider: an OIDC access token (a JWT
//! signed with RS256, ES256 or EdDSA) verified against the provider's published keys, its
//! issuer, audience and lifetime checked, and its role claim mapped to one gateway role
//! through `[staff_oidc]`. The HTTP layer (`api::staff_auth`) calls it when a staff bearer
//! token is no configured token.

mod access_token;
mod jwks_cache;
mod signing_keys;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::StaffOidcConfig;
pub(crate) use access_token::{MAX_ACCESS_TOKEN_BYTES, StaffIdentity};
use access_token::{TokenError, UnverifiedToken};
use jwks_cache::{CachePolicy, JwksCache};

/// Why a staff access token was not accepted; each variant is one answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StaffTokenError {
    /// Not a valid token of the provider, for us, now: 401.
    #[error("{0}")]
    Invalid(String),
    /// Valid, but it grants no single gateway role: 403.
    #[error("{0}")]
    NoRole(String),
    /// The provider's keys cannot be fetched and none are cached: 503.
    #[error("the identity provider's keys cannot be fetched")]
    ProviderUnavailable,
}

impl From<TokenError> for StaffTokenError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid(m) => Self::Invalid(m),
            TokenError::NoRole(m) => Self::NoRole(m),
        }
    }
}

/// Verifies staff access tokens; shared by every request (the key cache inside is).
pub(crate) struct StaffTokenVerifier {
    config: StaffOidcConfig,
    keys: JwksCache,
    clock: Arc<dyn Clock>,
}

impl StaffTokenVerifier {
    /// Builds the verifier; fetches nothing yet, so the gateway starts while the provider
    /// is down.
    pub(crate) fn new(config: StaffOidcConfig, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let policy = CachePolicy {
            jwks_url: config.jwks_url.clone(),
            cache_seconds: config.jwks_cache_seconds,
            refetch_seconds: config.jwks_refetch_seconds,
            timeout: Duration::from_secs(config.jwks_timeout_seconds),
        };
        let keys = JwksCache::new(policy, clock.clone())?;
        Ok(Self { config, keys, clock })
    }

    /// True when `token` has the form of a JWT (three dot-separated parts), so it is worth
    /// verifying rather than only comparing with configured digests.
    pub(crate) fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3
    }

    /// The member `token` names, with their role.
    pub(crate) async fn verify(&self, token: &str) -> Result<StaffIdentity, StaffTokenError> {
        let token = UnverifiedToken::parse(token)?;
        let keys = self.keys.keys_for(&token.kid).await.ok_or(StaffTokenError::ProviderUnavailable)?;
        let key = keys
            .find(&token.kid)
            .ok_or_else(|| StaffTokenError::Invalid(format!("no key of the provider has kid {:?}", token.kid)))?;
        if key.alg != token.alg {
            return Err(StaffTokenError::Invalid(format!(
                "key {:?} is for {}, not {}",
                key.kid,
                key.alg.as_str(),
                token.alg.as_str()
            )));
        }
        if !key.verifies(token.signing_input.as_bytes(), &token.signature) {
            return Err(StaffTokenError::Invalid("the signature does not verify".to_owned()));
        }
        let claims = token.claims()?;
        Ok(access_token::check_claims(&claims, &self.config, self.clock.now())?)
    }
}
