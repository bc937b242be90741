//! A whole trust framework in one process: an operator, one relay, and organisations
//! each running a real gateway on its own port and data dir. `gdpr-gateway demo` tells
//! the story on it, and the end-to-end tests run on it; nothing here is a stand-in.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{DatabaseUrl, Loaded};
use crate::gateway::Gateway;
use crate::http::server::ServerLimits;
use crate::jose::{Jwks, SigningKeyPair};
use crate::keys::Keyring;
use crate::relay::{self, RelayLimits, RelayState, RelayStore, Trust, TrustSource};
use crate::serve::{self, StartError};
use crate::store;

/// File in the framework's dir holding the operator's public JWKS, which every gateway
/// pins to check the relay's trust list.
pub const OPERATOR_JWKS_FILE: &str = "operator-jwks.json";

/// One organisation's running gateway.
pub struct Organisation {
    pub url: String,
    pub gateway: Arc<Gateway>,
    /// The portal token demo mode wrote to its data dir.
    pub portal_token: String,
}

/// The running framework; [`Framework::stop`] ends it.
pub struct Framework {
    pub relay_url: String,
    pub relay: Arc<RelayState>,
    pub organisations: Vec<Organisation>,
    /// The operator's public keys, as pinned by the gateways.
    pub operator_jwks: Jwks,
    /// Gateways stop before the relay, so none is cut off from it mid-item.
    stop_gateways: watch::Sender<bool>,
    gateways: Vec<JoinHandle<std::io::Result<()>>>,
    stop_relay: watch::Sender<bool>,
    relay_task: JoinHandle<std::io::Result<()>>,
}

/// Starts a relay and one gateway per config in `organisations`, in that order, all on
/// 127.0.0.1 ports of their own. Each config keeps its data dir and database; the relay
/// keeps its tables in `dir/relay` (SQLite) or `relay_database`. The operator key lives
/// only in memory: a framework started again has a new one.
pub async fn start(
    dir: &Path,
    organisations: Vec<Loaded>,
    relay_database: Option<&DatabaseUrl>,
    clock: Arc<dyn Clock>,
) -> Result<Framework, StartError> {
    let operator = SigningKeyPair::generate();
    let operator_jwks = Jwks { keys: vec![operator.public_jwk().clone()] };
    serve::ensure_writable_dir(dir)?;
    let operator_jwks_path = dir.join(OPERATOR_JWKS_FILE);
    let text = serde_json::to_vec_pretty(&operator_jwks).map_err(|e| StartError::Relay(e.to_string()))?;
    std::fs::write(&operator_jwks_path, text)
        .map_err(|source| StartError::DataDir { path: operator_jwks_path.clone(), source })?;

    let mut entries = Vec::new();
    for loaded in &organisations {
        let data_dir = &loaded.config.data_dir;
        serve::ensure_writable_dir(data_dir)?;
        let (keyring, _) = Keyring::open_or_create(&data_dir.join(serve::KEYS_DIR), clock.now())?;
        entries.push(serve::trust_entry(&loaded.config, &keyring));
    }

    let relay_dir = dir.join("relay");
    serve::ensure_writable_dir(&relay_dir)?;
    let db = store::open(relay_database, &relay_dir).await?;
    let relay_listener = serve::bind(loopback()).await?;
    let relay_url = format!("http://{}", local_addr(&relay_listener)?);
    let source = TrustSource::SelfSigned { operator: Box::new(operator), operator_id: relay_url.clone(), entries };
    let trust = Arc::new(Trust::load(source, clock.clone()).await.map_err(StartError::Relay)?);
    let relay =
        Arc::new(RelayState::new(RelayStore::new(db), trust, relay_url.clone(), clock.clone(), RelayLimits::default()));

    let (stop_relay, relay_stopped) = watch::channel(false);
    let relay_task =
        tokio::spawn(relay::serve(relay_listener, relay.clone(), ServerLimits::default(), until(relay_stopped)));
    let (stop_gateways, stopped) = watch::channel(false);
    let mut gateways = Vec::new();
    let mut running = Vec::new();
    for mut loaded in organisations {
        loaded.config.relay_url = Some(relay_url.clone());
        loaded.config.relay_operator_jwks = Some(operator_jwks_path.clone());
        let listener = serve::bind(loopback()).await?;
        let bound = local_addr(&listener)?;
        let prepared = serve::prepare(loaded, clock.clone(), bound).await?;
        let portal_token = match &prepared.demo_token {
            Some(path) => read_token(path)?,
            None => String::new(),
        };
        running.push(Organisation {
            url: format!("http://{bound}"),
            gateway: prepared.gateway().clone(),
            portal_token,
        });
        gateways.push(tokio::spawn(serve::run(listener, prepared, until(stopped.clone()))));
    }
    Ok(Framework {
        relay_url,
        relay,
        organisations: running,
        operator_jwks,
        stop_gateways,
        gateways,
        stop_relay,
        relay_task,
    })
}

impl Framework {
    /// Stops every server and waits for them to finish.
    pub async fn stop(self) {
        let _ = self.stop_gateways.send(true);
        for task in self.gateways {
            let _ = task.await;
        }
        let _ = self.stop_relay.send(true);
        let _ = self.relay_task.await;
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, StartError> {
    listener.local_addr().map_err(|source| StartError::Listen { addr: loopback(), source })
}

async fn until(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

fn read_token(path: &Path) -> Result<String, StartError> {
    let bytes = crate::keys::private_file::read(path, 1024)?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
}
