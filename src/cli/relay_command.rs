//! `gdpr-gateway relay`: the trust framework's relay on its own, for an operator serving
//! many organisations. It serves a trust list signed elsewhere, checked against the pinned
//! operator keys and re-read every few minutes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::clock::{Clock, SystemClock};
use crate::config::{DatabaseUrl, Language, ServerConfig};
use crate::http::server::ServerLimits;
use crate::relay::{self, RelayLimits, RelayState, RelayStore, Trust, TrustSource};
use crate::{serve, store};

/// Default address of a standalone relay.
pub(super) const DEFAULT_LISTEN: &str = "127.0.0.1:8081";
/// Default data directory of a standalone relay.
pub(super) const DEFAULT_DATA_DIR: &str = "./gdpr-relay-data";

#[derive(Debug, Args)]
pub(super) struct RelayArgs {
    /// The signed trust list (compact JWS): a file or an http(s) URL, re-read every 5 minutes.
    #[arg(long, env = "GDPR_RELAY_TRUST_LIST", value_name = "FILE_OR_URL")]
    trust_list: String,
    /// The operator's JWKS, pinned, that must have signed the trust list.
    #[arg(long, env = "GDPR_RELAY_OPERATOR_JWKS", value_name = "FILE_OR_URL")]
    operator_jwks: String,
    /// Address to listen on.
    #[arg(long, env = "GDPR_RELAY_LISTEN", value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Base URL clients reach the relay at (proofs are checked against it); default
    /// http://<bound address>.
    #[arg(long, env = "GDPR_RELAY_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Directory for the SQLite database.
    #[arg(long, env = "GDPR_RELAY_DATA_DIR", value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// PostgreSQL URL instead of the embedded SQLite.
    #[arg(long, env = "GDPR_RELAY_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Seconds a client may take to send a request's headers, and an idle keep-alive
    /// connection is kept [default: as the gateway's `[server]`, 20].
    #[arg(long, env = "GDPR_RELAY_HEADER_TIMEOUT_SECONDS", value_name = "SECS")]
    header_timeout_seconds: Option<u64>,
    /// Seconds a request body may pause between chunks [default: 30].
    #[arg(long, env = "GDPR_RELAY_BODY_TIMEOUT_SECONDS", value_name = "SECS")]
    body_timeout_seconds: Option<u64>,
    /// Connections open at once; more wait until one closes [default: 4096].
    #[arg(long, env = "GDPR_RELAY_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// The language of the connect page a phone opens from a QR code: en or nl.
    #[arg(long, env = "GDPR_RELAY_LANGUAGE", value_name = "LANG", default_value = "en", value_parser = language)]
    language: Language,
    /// Seconds requests in flight may still take after SIGTERM [default: 10].
    #[arg(long, env = "GDPR_RELAY_SHUTDOWN_GRACE_SECONDS", value_name = "SECS")]
    shutdown_grace_seconds: Option<u64>,
}

impl RelayArgs {
    /// The connection limits: the gateway's `[server]` defaults, overridden by flags and
    /// checked by the same rules.
    fn limits(&self) -> Result<ServerLimits, String> {
        let defaults = ServerConfig::default();
        let config = ServerConfig {
            header_timeout_seconds: self.header_timeout_seconds.unwrap_or(defaults.header_timeout_seconds),
            body_timeout_seconds: self.body_timeout_seconds.unwrap_or(defaults.body_timeout_seconds),
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            shutdown_grace_seconds: self.shutdown_grace_seconds.unwrap_or(defaults.shutdown_grace_seconds),
        };
        config
            .check()
            .map_err(|(key, rule)| format!("--{}: {rule}", key.trim_start_matches("server.").replace('_', "-")))?;
        Ok(ServerLimits::from(&config))
    }
}

pub(super) fn run(args: RelayArgs) -> Result<(), String> {
    let limits = args.limits()?;
    // Loaded before the runtime starts: the loader runs one of its own for URLs.
    let operator_jwks = super::verify_command::load_jwks(&args.operator_jwks)
        .map_err(|e| format!("--operator-jwks {}: {e}", args.operator_jwks))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        serve::ensure_writable_dir(&args.data_dir).map_err(|e| e.to_string())?;
        let database_url = args.database_url.map(DatabaseUrl::new);
        let db = store::open(database_url.as_ref(), &args.data_dir).await.map_err(|e| e.to_string())?;
        let source = TrustSource::Pinned { location: args.trust_list.clone(), operator_jwks };
        let trust = Trust::load(source, clock.clone()).await.map_err(|e| format!("--trust-list: {e}"))?;
        let listener = serve::bind(args.listen).await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
        let mut state =
            RelayState::new(RelayStore::new(db), Arc::new(trust), public_url, clock, RelayLimits::default());
        state.language = args.language;
        // Tests and scripts read this line to find the port when listening on :0.
        tracing::info!("relay listening on http://{addr}");
        let served = relay::serve(listener, Arc::new(state), limits, serve::shutdown_signal()).await;
        served.map_err(|e| format!("HTTP server failed: {e}"))
    })
}

/// `--language`, read as the config's `language` key is.
fn language(text: &str) -> Result<Language, String> {
    Language::try_from(text.to_owned())
}
