//! The composition root: builds the domain (`Gateway`) from the config — data dir, keys,
//! store, demo set-up, connectors, relay client — mounts the API and, all-in-one, the relay
//! under `/relay`, and serves HTTP until SIGINT or SIGTERM. `openapi()` describes what is
//! mounted here.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::builtin_demo;
use crate::config::public_reach::{self, Reach};
use crate::config::{Loaded, SourceConfig};
use crate::connectors::{ConnectorError, Connectors};
use crate::gateway::{AuditRules, Gateway, GatewayParts, PhasePlan, RequestRules, check_source_retention};
use crate::http::TASK_GRACE;
use crate::http::metrics::Metrics;
use crate::inventory::PrivacyNotice;
use crate::inventory::processing_register::ProcessingRegister;
use crate::jose::{Jwks, PrivateOkpJwk, SigningKeyPair};
use crate::keys::{Keyring, KeyringError, PrivateFileError};
use crate::oidc::StaffTokenVerifier;
use crate::protocol::trust_list::Entry;
use crate::relay::{self, RelayLimits, RelayState, RelayStore, Trust, TrustSource};
use crate::store::{self, Db, StoreError};

pub use crate::api::verify_route::MAX_VERIFY_ZIP_BYTES;
pub use crate::http::server::ServerLimits;

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
    #[error("retention at the sources: {0}")]
    SourceRetention(String),
    #[error("demo: {0}")]
    Demo(#[from] PrivateFileError),
    #[error("relay: {0}")]
    Relay(String),
    #[error("client or staff id {0:?} is the demo's own; name the configured one otherwise")]
    PortalClientTaken(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("{key}: {message}")]
    Config { key: String, message: String },
}

/// Everything `serve` prepared, ready to answer HTTP.
pub struct Prepared {
    state: Arc<AppState>,
    server_limits: ServerLimits,
    /// The embedded relay, mounted under `/relay`, when no external `relay_url` is set.
    pub relay: Option<Arc<RelayState>>,
    /// Set in demo mode: where the portal token was written.
    pub demo_token: Option<PathBuf>,
}

impl Prepared {
    /// The domain this gateway serves.
    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.state.gateway
    }
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
    let db = store::open(config.database_url.as_ref(), &config.data_dir).await?;
    let mut demo_token = None;
    if loaded.origin.is_demo() {
        let demo = builtin_demo::prepare(&config.data_dir)?;
        // Pairings belong to a client id, so two tokens must never share one.
        if config.portal_clients.iter().any(|c| c.id == demo.portal_client.id) {
            return Err(StartError::PortalClientTaken(demo.portal_client.id));
        }
        config.portal_clients.push(demo.portal_client);
        if let Some(taken) = config.staff.iter().find(|m| demo.staff.iter().any(|d| d.id == m.id)) {
            return Err(StartError::PortalClientTaken(taken.id.clone()));
        }
        config.staff.extend(demo.staff);
        demo_token = Some(demo.token_path);
    }
    let connectors = Connectors::from_config(&config.sources)?;
    for warning in check_source_retention(&connectors, &loaded.inventory).map_err(StartError::SourceRetention)? {
        tracing::warn!("{warning}");
    }
    let relay = match &config.relay_url {
        Some(_) => None,
        None => Some(embedded_relay(&public_url, config, &keyring, db.clone(), clock.clone()).await?),
    };
    let relay_url = config.relay_url.clone().unwrap_or_else(|| format!("{public_url}{}", relay::MOUNT_PATH));
    match public_reach::check(bound, config.public_url.as_deref(), &relay_url) {
        Reach::Fine => {}
        Reach::Warn(message) => tracing::warn!("WALLETS WILL NOT CONNECT: {message}"),
        Reach::Refuse(message) => return Err(StartError::Config { key: "public_url".to_owned(), message }),
    }
    let trust = match (&relay, &config.relay_operator_jwks) {
        (Some(relay), _) => Some(relay.trust.clone()),
        (None, Some(path)) => {
            let operator_jwks = read_jwks(path)?;
            let location = format!("{}/v1/trust-list", relay_url.trim_end_matches('/'));
            Some(Arc::new(Trust::unloaded(TrustSource::Pinned { location, operator_jwks }, clock.clone())))
        }
        (None, None) => {
            tracing::warn!("relay_operator_jwks is not set: forwarded bundles will be refused");
            None
        }
    };
    let source_name = |id: &str| config.sources.iter().find(|s| s.id() == id).map(SourceConfig::name);
    let notice = PrivacyNotice::new(&config.controller, &loaded.inventory, source_name);
    let register = ProcessingRegister::new(&config.controller, &config.register, &loaded.inventory, source_name);
    // `check-config` refuses these; a gateway still starts, so a first run can be tried.
    for unassessed in loaded.inventory.unassessed() {
        tracing::warn!("{unassessed}");
    }
    for gap in &register.gaps {
        tracing::warn!("processing register: {gap}");
    }
    // The provider's keys are fetched on the first access token, not here: the gateway
    // starts, and token-digest staff work, while the identity provider is down.
    let staff_tokens = match &config.staff_oidc {
        Some(oidc) => {
            tracing::info!(issuer = %oidc.issuer, "staff may sign in with the identity provider's access tokens");
            Some(Arc::new(
                StaffTokenVerifier::new(oidc.clone(), clock.clone())
                    .map_err(|message| StartError::Config { key: "staff_oidc".to_owned(), message })?,
            ))
        }
        None => None,
    };
    let controller_key = Arc::new(keyring.active_signing().clone());
    let relay_client = crate::relay_client::RelayClient::new(&relay_url, controller_key, clock.clone())
        .map_err(|e| StartError::Relay(e.to_string()))?;
    // Checked when the config loaded; a `Loaded` built otherwise is checked here.
    let deadlines = config.requests.deadline_rules().map_err(|(key, message)| StartError::Config { key, message })?;
    let request_rules = RequestRules {
        deadlines,
        max_per_subject_per_day: config.requests.max_per_subject_per_day,
        warning_days: config.requests.warning_days.clone(),
        document_retention_days: config.requests.document_retention_days,
        max_document_bytes: config.requests.max_document_bytes,
        receipt_ack_days: config.requests.receipt_ack_days,
        operation_timeout: std::time::Duration::from_secs(config.requests.operation_timeout_seconds),
    };
    let gateway = Gateway::new(GatewayParts {
        keyring,
        connectors,
        inventory: loaded.inventory,
        notice,
        register,
        relay: relay_client,
        trust,
        db,
        pairing_lifetime_secs: config.pairing_lifetime_seconds,
        request_rules,
        phase_plan: PhasePlan { phases: config.requests.phases.clone(), four_eyes: config.requests.four_eyes.clone() },
        audit_rules: AuditRules {
            checkpoint_every_entries: config.audit.checkpoint_every_entries,
            checkpoint_every_secs: config.audit.checkpoint_every_minutes * 60,
        },
        retention: config.retention.clone(),
        webhooks: config.webhooks.clone(),
        webhook_client: crate::gateway::webhook_client()
            .map_err(|message| StartError::Config { key: "webhooks".to_owned(), message })?,
        clock,
        spool_dir: config.data_dir.clone(),
    });
    // The trail notes every start with the keys in use and where the config came from:
    // a rotation or another config shows between two starts.
    let kids: Vec<String> = gateway.keyring().list().into_iter().map(|k| k.kid).collect();
    let detail = format!("config {}; keys {}", loaded.origin, kids.join(", "));
    let started = gateway.audit_entry_by("system", "gateway.started", Vec::new(), None, Some(detail));
    gateway.audit(&[started]).await.map_err(StartError::Store)?;
    let state = AppState {
        gateway: Arc::new(gateway),
        portal_clients: config.portal_clients.clone(),
        staff: config.staff.clone(),
        staff_tokens,
        metrics: Arc::new(Metrics::default()),
        public_url,
        verify_budget: Arc::new(tokio::sync::Semaphore::new(crate::api::verify_route::VERIFY_MEMORY_BUDGET_MIB)),
        cors_origins: config.cors.portal_origins.clone(),
    };
    Ok(Prepared { state: Arc::new(state), server_limits: ServerLimits::from(&config.server), relay, demo_token })
}

/// The gateway's HTTP application, with the relay mounted under `/relay` when given.
pub fn app(state: Arc<AppState>, relay: Option<Arc<RelayState>>) -> Router {
    let (mut router, _) = api::router().split_for_parts();
    if let Some(relay) = relay {
        router = router.nest(relay::MOUNT_PATH, relay::routes(relay));
    }
    crate::http::with_problem_fallbacks(router)
        .layer(crate::http::cors::layer(&state.cors_origins))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::http::metrics::middleware))
        .layer(axum::middleware::from_fn(crate::http::request_id::middleware))
        .with_state(state)
}

/// The OpenAPI document of [`app`] with the relay mounted under `/relay`, as committed in
/// `openapi/gateway.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let gateway = api::router().split_for_parts().1;
    let relay = relay::router().split_for_parts().1;
    gateway.nest(relay::MOUNT_PATH, relay)
}

/// Binds the configured address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Listen { addr, source })
}

/// File in the data dir holding the embedded relay's operator key.
pub const OPERATOR_KEY_FILE: &str = "relay-operator.jwk";

/// The all-in-one relay: this instance is the trust framework's operator too, with its
/// own operator key, and lists itself as the one controller.
async fn embedded_relay(
    public_url: &str,
    config: &Config,
    keyring: &Keyring,
    db: Db,
    clock: Arc<dyn Clock>,
) -> Result<Arc<RelayState>, StartError> {
    let operator = operator_key(&config.data_dir.join(OPERATOR_KEY_FILE))?;
    let entries = vec![trust_entry(config, keyring)];
    let operator_id = format!("{public_url}{}", relay::MOUNT_PATH);
    let source = TrustSource::SelfSigned { operator: Box::new(operator), operator_id, entries };
    let trust = Arc::new(Trust::load(source, clock.clone()).await.map_err(StartError::Relay)?);
    let relay_url = format!("{public_url}{}", relay::MOUNT_PATH);
    Ok(Arc::new(RelayState::new(RelayStore::new(db), trust, relay_url, clock, RelayLimits::default())))
}

/// This gateway's entry in a trust list: its id, name and public keys.
pub fn trust_entry(config: &Config, keyring: &Keyring) -> Entry {
    Entry {
        id: config.controller.id.clone(),
        name: config.controller.name.clone(),
        jwks: keyring.jwks(),
        encryption_jwks: keyring.encryption_jwks(),
        import_endpoint: None,
        token_endpoint: None,
        privacy_contact: Some(config.controller.dpo_contact.clone()),
    }
}

/// Largest operator JWKS file read.
pub const MAX_JWKS_BYTES: u64 = 64 * 1024;

fn read_jwks(path: &Path) -> Result<Jwks, StartError> {
    let failed = |m: String| StartError::Relay(format!("relay_operator_jwks {}: {m}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| failed(e.to_string()))?;
    if meta.len() > MAX_JWKS_BYTES {
        return Err(failed(format!("larger than {MAX_JWKS_BYTES} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| failed(format!("not a JWKS of OKP keys: {e}")))
}

/// Reads the operator key, creating it (0600) on first start.
pub fn operator_key(path: &Path) -> Result<SigningKeyPair, StartError> {
    let malformed = |m: String| StartError::Relay(format!("{}: {m}", path.display()));
    if path.exists() {
        let bytes = crate::keys::private_file::read(path, 4096)?;
        let jwk: PrivateOkpJwk = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        return SigningKeyPair::from_jwk(&jwk).map_err(|e| malformed(e.to_string()));
    }
    let key = SigningKeyPair::generate();
    let text = serde_json::to_vec_pretty(&key.to_jwk()).map_err(|e| malformed(e.to_string()))?;
    crate::keys::private_file::write(path, &text)?;
    Ok(key)
}

/// Serves HTTP on `listener` until `shutdown` completes, then drains open requests. Runs
/// the gateway's relay link and, all-in-one, the relay's upkeep beside it.
pub async fn run(
    listener: TcpListener,
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = app(prepared.state.clone(), prepared.relay.clone());
    let mut tasks = Vec::new();
    if let Some(relay) = &prepared.relay {
        tasks.push(tokio::spawn(relay::maintain(relay.clone(), stop_rx.clone())));
    }
    tasks.push(tokio::spawn(crate::gateway::outbox_worker::run(prepared.state.gateway.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::gateway::inbox_poller::run(prepared.state.gateway.clone(), stop_rx)));
    let relay = prepared.relay.clone();
    let state = prepared.state.clone();
    let shutdown = async move {
        shutdown.await;
        // Long-polls and event streams answer now, so draining does not wait for them.
        let _ = stop_tx.send(true);
        state.gateway.close_event_streams();
        if let Some(relay) = relay {
            relay.hub.close();
        }
    };
    let served = crate::http::server::serve(listener, app, prepared.server_limits, shutdown).await;
    // Let the inbox poller finish the item in hand rather than be cut off mid-way.
    for task in tasks {
        if tokio::time::timeout(TASK_GRACE, task).await.is_err() {
            tracing::warn!("a background task did not stop within {TASK_GRACE:?}");
        }
    }
    served
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

/// Creates `dir` (mode 0700: it holds keys and personal references) when absent, refuses
/// it when group or others may write to it, and proves it writable by writing a probe file.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), StartError> {
    let err = |source| StartError::DataDir { path: dir.to_owned(), source };
    crate::keys::private_file::create_dir(dir).map_err(|e| match e {
        PrivateFileError::Write { source, .. } | PrivateFileError::Read { source, .. } => err(source),
        other @ (PrivateFileError::TooOpen { .. }
        | PrivateFileError::TooLarge { .. }
        | PrivateFileError::DirTooOpen { .. }) => err(std::io::Error::other(other.to_string())),
    })?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)?;
    Ok(())
}
