//! Where a trust list comes from, for the relay and for gateways importing bundles.
//! All-in-one, the instance is its own operator and signs a list naming itself; otherwise
//! the list is signed elsewhere, checked against the pinned operator keys and re-read on a
//! timer. Either way who is a controller is decided only from a list that verified.

use std::sync::{Arc, RwLock};

use crate::clock::{Clock, UnixSeconds};
use crate::jose::{Jwks, SigningKeyPair};
use crate::protocol::trust_list::{self, Entry, TrustList, TrustListError};

/// How long a self-signed list is valid; it is re-signed well before, at every refresh.
pub(crate) const SELF_SIGNED_LIFETIME_SECS: u64 = 24 * 3600;
/// How often the list is re-signed or re-read.
pub(crate) const REFRESH_SECS: u64 = 300;
/// How long fetching a list by URL may take.
pub(crate) const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The list's source.
#[derive(Debug)]
pub enum TrustSource {
    /// All-in-one (one entry, itself) or a framework run in one process (`demo`): this
    /// instance is the operator and signs the list of `entries`.
    SelfSigned { operator: Box<SigningKeyPair>, operator_id: String, entries: Vec<Entry> },
    /// Standalone: a signed list at a file path or http(s) URL, and the operator's keys.
    Pinned { location: String, operator_jwks: Jwks },
}

/// A list that verified, with its compact JWS as served.
#[derive(Debug)]
pub struct LoadedList {
    pub token: String,
    pub list: TrustList,
    /// When this instance loaded it.
    pub loaded_at: UnixSeconds,
}

impl LoadedList {
    /// The controller whose signing keys include `kid`.
    pub fn controller_with_key(&self, kid: &str) -> Option<&Entry> {
        self.list.controllers.iter().find(|c| c.jwks.find(kid).is_some())
    }
}

pub struct Trust {
    source: TrustSource,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Arc<LoadedList>>>,
}

impl Trust {
    /// Loads the list once; a relay that cannot trust anyone refuses to start.
    pub async fn load(source: TrustSource, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let trust = Self::unloaded(source, clock);
        trust.refresh().await?;
        Ok(trust)
    }

    /// A source not read yet: a gateway must start even while the relay is away, and
    /// reads the list when it first needs it ([`Trust::fresh`]).
    pub fn unloaded(source: TrustSource, clock: Arc<dyn Clock>) -> Self {
        Self { source, clock, current: RwLock::new(None) }
    }

    /// The list in force, re-read first when it is missing or older than
    /// [`REFRESH_SECS`]; a failed re-read keeps the previous list until it expires.
    pub async fn fresh(&self) -> Result<Arc<LoadedList>, String> {
        let now = self.clock.now();
        match self.current() {
            Some(loaded) if now.saturating_sub(loaded.loaded_at) < REFRESH_SECS => Ok(loaded),
            previous => match (self.refresh().await, previous) {
                (Ok(()), _) => self.current().ok_or_else(|| "the trust list has expired".to_owned()),
                (Err(e), Some(previous)) => {
                    tracing::warn!("re-reading the trust list failed, keeping the one in force: {e}");
                    Ok(previous)
                }
                (Err(e), None) => Err(e),
            },
        }
    }

    /// Re-signs or re-reads the list. On failure the previous list stays in use until it
    /// expires.
    pub async fn refresh(&self) -> Result<(), String> {
        let now = self.clock.now();
        let loaded = match &self.source {
            TrustSource::SelfSigned { operator, operator_id, entries } => {
                let list = TrustList {
                    iss: operator_id.clone(),
                    iat: now,
                    exp: now + SELF_SIGNED_LIFETIME_SECS,
                    version: trust_list::VERSION,
                    controllers: entries.clone(),
                };
                let token = list.sign(operator).map_err(|e| e.to_string())?;
                LoadedList { token, list, loaded_at: now }
            }
            TrustSource::Pinned { location, operator_jwks } => {
                let bytes = fetch(location).await?;
                let list = TrustList::verify(&bytes, operator_jwks, now).map_err(|e: TrustListError| e.to_string())?;
                // A source that serves an older list than one already seen is rolling back
                // (say, to a list that still names a removed controller): keep the newer.
                if let Some(current) = self.current().filter(|c| list.iat < c.list.iat) {
                    return Err(format!(
                        "the list at {location} was signed at {}, before the one in force ({})",
                        list.iat, current.list.iat
                    ));
                }
                let token = String::from_utf8(bytes).map_err(|_| "the trust list is not text".to_owned())?;
                LoadedList { token: token.trim().to_owned(), list, loaded_at: now }
            }
        };
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(loaded));
        Ok(())
    }

    /// The operator's public keys: the ones that sign this list.
    pub fn operator_jwks(&self) -> Jwks {
        match &self.source {
            TrustSource::SelfSigned { operator, .. } => Jwks { keys: vec![operator.public_jwk().clone()] },
            TrustSource::Pinned { operator_jwks, .. } => operator_jwks.clone(),
        }
    }

    /// The pin wallets get in connect URIs: the thumbprint of the operator's first key,
    /// recomputed rather than taken from its `kid`.
    pub fn operator_pin(&self) -> Option<String> {
        self.operator_jwks().keys.first().map(|k| crate::jose::jwk::thumbprint(k.crv, &k.x))
    }

    /// The list in force, or `None` once it has expired.
    pub fn current(&self) -> Option<Arc<LoadedList>> {
        let now: UnixSeconds = self.clock.now();
        let current = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        current.filter(|loaded| now < loaded.list.exp)
    }
}

async fn fetch(location: &str) -> Result<Vec<u8>, String> {
    let limit = trust_list::MAX_BYTES;
    if location.starts_with("https://") || location.starts_with("http://") {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let response = client.get(location).send().await.map_err(|e| format!("{location}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{location}: HTTP {}", response.status()));
        }
        let too_large = || format!("{location}: larger than {limit} bytes");
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut response = response;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{location}: {e}"))? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    } else {
        let bytes = tokio::fs::read(location).await.map_err(|e| format!("{location}: {e}"))?;
        if bytes.len() > limit {
            return Err(format!("{location}: larger than {limit} bytes"));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn signed(operator: &SigningKeyPair, iat: UnixSeconds) -> String {
        let list =
            TrustList { iss: "https://op.example".into(), iat, exp: iat + 1000, version: 1, controllers: vec![] };
        list.sign(operator).unwrap()
    }

    #[tokio::test]
    async fn a_source_that_rolls_back_to_an_older_list_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.jwt");
        let operator = SigningKeyPair::generate();
        std::fs::write(&path, signed(&operator, 200)).unwrap();
        let source = TrustSource::Pinned {
            location: path.display().to_string(),
            operator_jwks: Jwks { keys: vec![operator.public_jwk().clone()] },
        };
        let trust = Trust::load(source, Arc::new(ManualClock::new(300))).await.unwrap();
        std::fs::write(&path, signed(&operator, 100)).unwrap();
        assert!(trust.refresh().await.unwrap_err().contains("before the one in force"));
        assert_eq!(trust.current().unwrap().list.iat, 200);
        std::fs::write(&path, signed(&operator, 250)).unwrap();
        trust.refresh().await.unwrap();
        assert_eq!(trust.current().unwrap().list.iat, 250);
    }
}
