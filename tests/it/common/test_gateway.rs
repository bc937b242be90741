//! The single-gateway fixture: the built-in demo on 127.0.0.1:0 with a temporary data dir,
//! on SQLite or a PostgreSQL schema of its own, with its embedded relay.

use std::net::SocketAddr;
use std::sync::Arc;

use gdpr_gateway::clock::{Clock, ManualClock};
use gdpr_gateway::config::builtin_demo as demo;
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::gateway::Gateway;
use gdpr_gateway::serve;
use gdpr_gateway::wallet::{FileKeyStore, Wallet};
use tokio::sync::oneshot;

use super::portal::PortalClient;
use super::staff::StaffClient;
use super::{PG_ENV, PgSchema, T0};

pub struct TestGateway {
    pub url: String,
    pub token: String,
    pub gateway: Arc<Gateway>,
    /// The embedded relay's state, to look inside it.
    pub relay: Arc<gdpr_gateway::relay::RelayState>,
    pub clock: ManualClock,
    pub dir: std::path::PathBuf,
    /// The PostgreSQL schema this gateway runs in, when [`PG_ENV`] is set.
    schema: Option<PgSchema>,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestGateway {
    /// The built-in demo, as `serve` without `--config` runs it: on SQLite, or in a fresh
    /// PostgreSQL schema when [`PG_ENV`] is set.
    pub async fn demo() -> Self {
        Self::demo_with("").await
    }

    /// The built-in demo with `extra` TOML appended to its configuration.
    pub async fn demo_with(extra: &str) -> Self {
        Self::demo_text(format!("{}\n{extra}", demo::CONFIG)).await
    }

    /// The built-in demo with top-level `keys` (`language = "nl"`) put before its first
    /// table, where TOML reads them as top-level keys.
    pub async fn demo_with_top_level(keys: &str) -> Self {
        Self::demo_text(format!("{keys}\n{}", demo::CONFIG)).await
    }

    async fn demo_text(text: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (schema, database_url) = match std::env::var(PG_ENV) {
            Ok(url) => {
                let (schema, scoped) = PgSchema::create(&url).await;
                (Some(schema), Some(scoped))
            }
            Err(_) => (None, None),
        };
        let overrides = Overrides {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            data_dir: Some(dir.path().to_owned()),
            database_url,
            public_url: None,
        };
        let loaded = config::from_text(Origin::BuiltInDemo, &text, Vec::new(), overrides).unwrap();
        let manual = ManualClock::new(T0);
        let clock: Arc<dyn Clock> = Arc::new(manual.clone());
        let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let bound = listener.local_addr().unwrap();
        let prepared = serve::prepare(loaded, clock, bound).await.unwrap();
        let token = std::fs::read_to_string(dir.path().join(demo::TOKEN_FILE)).unwrap().trim().to_owned();
        let url = format!("http://{bound}");
        let (tx, rx) = oneshot::channel::<()>();
        let gateway = prepared.gateway().clone();
        let relay = prepared.relay.clone().expect("the demo runs the embedded relay");
        let server = tokio::spawn(serve::run(listener, prepared, async move {
            let _ = rx.await;
        }));
        Self {
            url,
            token,
            gateway,
            relay,
            clock: manual,
            dir: dir.path().to_owned(),
            schema,
            _dir: dir,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Signals shutdown, as SIGTERM does, and waits for the server to stop.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => server.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}{path}", self.url))
    }

    /// A request with the demo portal token.
    pub fn portal(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
    }

    /// The typed portal client with the demo portal token.
    pub fn portal_client(&self) -> PortalClient {
        PortalClient::new(&self.url, &self.token)
    }

    /// The typed staff client of the demo member in `role`, with the token the demo wrote.
    pub fn staff_client(&self, role: gdpr_gateway::protocol::rights::StaffRole) -> StaffClient {
        let token = std::fs::read_to_string(self.dir.join(demo::staff_token_file(role))).unwrap();
        StaffClient::new(&self.url, token.trim())
    }

    /// A request with another portal token than the demo's.
    pub fn portal_as(&self, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, format!("{}{path}", self.url)).bearer_auth(token)
    }

    /// A wallet from the SDK's core, on this gateway's clock, its keys under the data dir.
    pub fn wallet(&self, name: &str) -> Wallet {
        let store = FileKeyStore::new(self.dir.join(format!("wallet-{name}"))).unwrap();
        Wallet::with_clock(Arc::new(store), Arc::new(self.clock.clone()))
    }

    /// Pairs `wallet` for `subject` through the portal; returns the connection id.
    pub async fn pair(&self, wallet: &Wallet, subject: &str) -> String {
        let portal = self.portal_client();
        let pairing = portal.create_pairing(subject).await;
        let pending = wallet.connect(pairing.connect_uri.unwrap()).await.unwrap();
        portal.confirm(&pairing.pairing_id, &pending.code).await.unwrap();
        wallet.wait_connected(pending.connection_id.clone(), super::two_organisations::WAIT).await.unwrap();
        pending.connection_id
    }

    /// A GET with the demo portal token.
    pub fn portal_get(&self, path: &str) -> reqwest::RequestBuilder {
        self.get(path).bearer_auth(&self.token)
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(schema) = self.schema.take() {
            // Drop runs on the test's runtime, which also runs the gateway: blocking here
            // could wait on the gateway's own connections. Drop the schema from a thread
            // of its own, best effort; a schema left behind holds only test data.
            std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    runtime.block_on(schema.drop_idle());
                }
            });
        }
    }
}
