//! Starting the gateway: data dir, keys, store, demo set-up, connectors, then HTTP until
//! SIGINT or SIGTERM.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::clock::Clock;
use crate::config::{Loaded, SourceConfig};
use crate::connectors::{ConnectorError, Connectors};
use crate::demo;
use crate::inventory::PrivacyNotice;
use crate::keys::{Keyring, KeyringError, PrivateFileError};
use crate::metrics::Metrics;
use crate::store::{self, StoreError};

/// Sub-directory of the data dir holding key files.
pub const KEYS_DIR: &str = "keys";

/// Why the gateway could not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("data dir {path} is not usable: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("keys: {0}")]
    Keys(#[from] KeyringError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("connectors: {0}")]
    Connectors(#[from] ConnectorError),
    #[error("demo: {0}")]
    Demo(#[from] PrivateFileError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Everything `serve` prepared, ready to answer HTTP.
pub struct Prepared {
    pub state: Arc<AppState>,
    /// Set in demo mode: where the portal token was written.
    pub demo_token: Option<PathBuf>,
}

/// Creates the data dir, opens keys and store, and builds the application state for a
/// gateway listening on `bound`.
pub async fn prepare(mut loaded: Loaded, clock: Arc<dyn Clock>, bound: SocketAddr) -> Result<Prepared, StartError> {
    let public_url = loaded.public_url(bound);
    let config = &mut loaded.config;
    ensure_writable_dir(&config.data_dir)?;
    let (keyring, created) = Keyring::open_or_create(&config.data_dir.join(KEYS_DIR), clock.now())?;
    if created {
        tracing::info!(kid = keyring.active_signing().kid(), "created the controller's signing and encryption keys");
    }
    let store = store::open(config.database_url.as_ref(), &config.data_dir).await?;
    let mut demo_token = None;
    if loaded.origin.is_demo() {
        let demo = demo::prepare(&config.data_dir)?;
        config.portal_clients.push(demo.portal_client);
        demo_token = Some(demo.token_path);
    }
    let connectors = Connectors::from_config(&config.sources)?;
    let notice = PrivacyNotice::new(&config.controller, &loaded.inventory, |id| {
        config.sources.iter().find(|s| s.id() == id).map(SourceConfig::name)
    });
    let state = AppState {
        public_url,
        keyring,
        store,
        connectors,
        inventory: loaded.inventory,
        notice,
        portal_clients: config.portal_clients.clone(),
        relay_url: config.relay_url.clone(),
        clock,
        metrics: Metrics::default(),
        data_dir: config.data_dir.clone(),
    };
    Ok(Prepared { state: Arc::new(state), demo_token })
}

/// Binds the configured address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains open requests.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, api::app(state)).with_graceful_shutdown(shutdown).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}

/// Creates `dir` (mode 0700: it holds keys and personal references) when absent and
/// proves it writable by writing a probe file.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), StartError> {
    let err = |source| StartError::DataDir { path: dir.to_owned(), source };
    crate::keys::private_file::create_dir(dir).map_err(|e| match e {
        PrivateFileError::Write { source, .. } | PrivateFileError::Read { source, .. } => err(source),
        other => err(std::io::Error::other(other.to_string())),
    })?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)?;
    Ok(())
}
