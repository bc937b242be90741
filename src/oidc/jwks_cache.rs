//! The identity provider's key set, fetched lazily and kept: fetched again when it is older
//! than the cache lifetime, or when a token names a `kid` we do not know (the provider
//! rotated its keys), but never more often than the refetch interval, so made-up kids
//! cannot turn us into a flood towards the provider. One fetch runs at a time; requests
//! whose key is cached never wait for it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::signing_keys::ProviderKeys;
use crate::clock::{Clock, UnixSeconds};

/// Largest JWKS document read; providers' sets are a few KiB.
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;
/// How long connecting to the provider may take, within the fetch timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the cache behaves; from `[staff_oidc]`.
#[derive(Debug, Clone)]
pub(crate) struct CachePolicy {
    pub jwks_url: String,
    pub cache_seconds: u64,
    pub refetch_seconds: u64,
    pub timeout: Duration,
}

#[derive(Debug, Default)]
struct CacheState {
    keys: Option<Arc<ProviderKeys>>,
    fetched_at: UnixSeconds,
    /// When the last fetch was tried, whether or not it worked.
    attempted_at: Option<UnixSeconds>,
    /// Counts fetch attempts, so a request that waited for another's fetch uses its result.
    attempts: u64,
}

pub(crate) struct JwksCache {
    policy: CachePolicy,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    state: Mutex<CacheState>,
    /// Held only while fetching: at most one request goes to the provider at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub(crate) fn new(policy: CachePolicy, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(policy.timeout))
            // The configured URL is the only place keys come from: no redirects elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            policy,
            http,
            clock,
            state: Mutex::new(CacheState::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key set to verify a token with `kid` against, fetched first when it is missing,
    /// stale, or lacks `kid` and the refetch interval has passed. `None` when no key set
    /// was ever fetched and the provider cannot be reached now.
    pub(crate) async fn keys_for(&self, kid: &str) -> Option<Arc<ProviderKeys>> {
        let (keys, attempts) = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if !self.should_fetch(&state, kid, self.clock.now()) {
                return state.keys.clone();
            }
            (state.keys.clone(), state.attempts)
        };
        let _fetching = self.fetching.lock().await;
        {
            // Another request fetched while this one waited: use what it found.
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.attempts != attempts {
                return state.keys.clone().or(keys);
            }
        }
        let fetched = self.fetch().await;
        let now = self.clock.now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.attempted_at = Some(now);
        state.attempts += 1;
        match fetched {
            Ok((fresh, skipped)) => {
                if !skipped.is_empty() {
                    tracing::info!(url = %self.policy.jwks_url, ?skipped, "identity provider keys skipped");
                }
                tracing::debug!(url = %self.policy.jwks_url, keys = fresh.len(), "fetched the identity provider's keys");
                state.keys = Some(Arc::new(fresh));
                state.fetched_at = now;
            }
            // Keys fetched before stay in use: the provider being down must not lock
            // every member out, and no fetch has told us they were withdrawn.
            Err(e) => tracing::warn!(url = %self.policy.jwks_url, "cannot fetch the identity provider's keys: {e}"),
        }
        state.keys.clone()
    }

    fn should_fetch(&self, state: &CacheState, kid: &str, now: UnixSeconds) -> bool {
        let may_retry = state.attempted_at.is_none_or(|at| now.saturating_sub(at) >= self.policy.refetch_seconds);
        match &state.keys {
            None => may_retry,
            Some(keys) => {
                let stale = now.saturating_sub(state.fetched_at) >= self.policy.cache_seconds;
                may_retry && (stale || keys.find(kid).is_none())
            }
        }
    }

    async fn fetch(&self) -> Result<(ProviderKeys, Vec<String>), String> {
        let response = self
            .http
            .get(&self.policy.jwks_url)
            .header(reqwest::header::ACCEPT, "application/jwk-set+json, application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("the key set is larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        ProviderKeys::parse(&body)
    }
}
