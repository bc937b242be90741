//! The relay of the trust framework: a blind store-and-forward service between wallets
//! and controllers. It registers connect tokens by digest, turns a redeemed token into a
//! connection between one controller and one wallet key, and keeps per-connection
//! mailboxes of JWE envelopes it cannot read. Run alone (`gdpr-gateway relay`) or mounted
//! under `/relay` by `serve`. The gateway never imports this module: it talks to any relay
//! through `relay_client`.

mod blob_routes;
mod connect_page;
mod connect_routes;
mod mailbox_routes;
mod proof;
mod rate_limit;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::http::ApiError;
use crate::http::wakeup::Hub;
use crate::protocol::ErrorCode;
pub use crate::store::relay_store::{RelayStore, Side};
pub use crate::trust::{LoadedList, Trust, TrustSource};

/// Path prefix of the relay inside an all-in-one `serve`.
pub const MOUNT_PATH: &str = "/relay";
/// How long an undelivered mailbox item is kept.
pub const DEFAULT_MESSAGE_TTL_SECS: u64 = crate::protocol::message::MAX_AGE_SECS;
/// Most unacknowledged items one mailbox holds.
pub const DEFAULT_MAX_PENDING: u32 = 1000;
/// Longest a connect token may be registered for.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;
/// `POST /v1/connect` attempts per client address per window.
pub const CONNECT_PER_IP: u32 = 30;
/// `POST /v1/connect` attempts per token per window: a real wallet needs one.
pub const CONNECT_PER_TOKEN: u32 = 5;
/// The rate-limit window, in seconds.
pub const RATE_WINDOW_SECS: u64 = 60;
/// How often expired items, tokens and proof ids are deleted.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// Largest blob a controller may store: a zip package of 2 GiB, sealed.
pub const DEFAULT_MAX_BLOB_BYTES: u64 = crate::protocol::blob::sealed_len(2 * 1024 * 1024 * 1024);
/// Largest blob a wallet may store: wallets only forward compact JWS bundles.
pub const MAX_WALLET_BLOB_BYTES: u64 = crate::protocol::blob::sealed_len(crate::bundle::MAX_JWT_BYTES as u64);
/// Most unexpired blobs one connection holds; a connection a wallet opened holds one.
pub const DEFAULT_MAX_BLOBS: u32 = 4;
/// Most bytes all unexpired blobs from controllers together may claim.
pub const DEFAULT_MAX_TOTAL_BLOB_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// Most bytes all unexpired blobs from wallets together may claim: anyone can open a
/// connection, so what strangers can make the relay hold is kept apart and small, and
/// cannot crowd out controllers' packages.
pub const DEFAULT_MAX_TOTAL_WALLET_BLOB_BYTES: u64 = 1024 * 1024 * 1024;
/// How long a blob from a controller waits to be fetched; its message says where it was,
/// and the request can be made again.
pub const DEFAULT_BLOB_TTL_SECS: u64 = 24 * 3600;
/// How long a blob from a wallet waits: gateways fetch forwards as they arrive.
pub const DEFAULT_WALLET_BLOB_TTL_SECS: u64 = 3600;
/// Longest one upload may take.
pub const BLOB_UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// An upload begun this long ago and unfinished is abandoned: twice the longest it may take.
pub const ABANDONED_UPLOAD_SECS: u64 = 2 * BLOB_UPLOAD_TIMEOUT.as_secs();
/// Bytes per stored blob chunk: what the relay holds in memory per upload or download.
pub const BLOB_STORAGE_CHUNK_BYTES: usize = 1024 * 1024;
/// Longest an SSE stream stays open; clients reconnect.
pub const MAX_STREAM_SECS: u64 = 300;

/// What a wake-up is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WakeKey {
    /// One side's mailbox of one connection.
    Mailbox(String, Side),
    /// A controller's inbox across its connections.
    Inbox(String),
}

/// Tunables of one relay.
#[derive(Debug, Clone)]
pub struct RelayLimits {
    pub message_ttl_secs: u64,
    pub max_pending: u32,
    pub connect_per_ip: u32,
    pub connect_per_token: u32,
    pub max_blob_bytes: u64,
    pub max_blobs: u32,
    pub max_total_blob_bytes: u64,
    pub max_total_wallet_blob_bytes: u64,
    pub blob_ttl_secs: u64,
    pub wallet_blob_ttl_secs: u64,
}

impl Default for RelayLimits {
    fn default() -> Self {
        Self {
            message_ttl_secs: DEFAULT_MESSAGE_TTL_SECS,
            max_pending: DEFAULT_MAX_PENDING,
            connect_per_ip: CONNECT_PER_IP,
            connect_per_token: CONNECT_PER_TOKEN,
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
            max_blobs: DEFAULT_MAX_BLOBS,
            max_total_blob_bytes: DEFAULT_MAX_TOTAL_BLOB_BYTES,
            max_total_wallet_blob_bytes: DEFAULT_MAX_TOTAL_WALLET_BLOB_BYTES,
            blob_ttl_secs: DEFAULT_BLOB_TTL_SECS,
            wallet_blob_ttl_secs: DEFAULT_WALLET_BLOB_TTL_SECS,
        }
    }
}

/// What relay handlers share.
pub struct RelayState {
    pub store: RelayStore,
    /// Shared with an all-in-one gateway, which verifies imports against the same list.
    pub trust: Arc<Trust>,
    /// The relay's base URL as clients reach it, mount prefix included: proofs' `htu` is
    /// this plus the request path.
    pub public_url: String,
    pub clock: Arc<dyn Clock>,
    pub hub: Arc<Hub<WakeKey>>,
    pub limits: RelayLimits,
    pub connect_by_ip: rate_limit::RateLimiter,
    pub connect_by_token: rate_limit::RateLimiter,
    /// The language of the connect page people see: the gateway's `language` when
    /// embedded, `relay --language` alone.
    pub language: crate::config::Language,
}

impl RelayState {
    pub fn new(
        store: RelayStore,
        trust: Arc<Trust>,
        public_url: String,
        clock: Arc<dyn Clock>,
        limits: RelayLimits,
    ) -> Self {
        Self {
            connect_by_ip: rate_limit::RateLimiter::new(limits.connect_per_ip, RATE_WINDOW_SECS),
            connect_by_token: rate_limit::RateLimiter::new(limits.connect_per_token, RATE_WINDOW_SECS),
            store,
            trust,
            public_url: public_url.trim_end_matches('/').to_owned(),
            clock,
            hub: Arc::default(),
            limits,
            language: crate::config::Language::default(),
        }
    }

    /// The trust list in force.
    pub fn trust_list(&self) -> Result<Arc<LoadedList>, ApiError> {
        self.trust
            .current()
            .ok_or_else(|| ApiError::new(ErrorCode::TrustListUnavailable, "the relay's trust list has expired"))
    }

    fn recheck(&self) -> Option<Duration> {
        self.store.db().recheck_interval()
    }
}

/// The relay's routes, relative to its base URL.
pub fn router() -> OpenApiRouter<Arc<RelayState>> {
    OpenApiRouter::new()
        .routes(routes!(connect_routes::get_trust_list))
        .routes(routes!(connect_routes::get_operator_jwks))
        .routes(routes!(connect_routes::show_connect_page))
        .routes(routes!(connect_routes::register_connect_token))
        .routes(routes!(connect_routes::redeem_connect_token))
        .routes(routes!(connect_routes::open_connection))
        .routes(routes!(connect_routes::get_connection, connect_routes::revoke_relay_connection))
        .routes(routes!(mailbox_routes::list_messages))
        .routes(routes!(mailbox_routes::stream_messages))
        .routes(routes!(mailbox_routes::ack_message))
        .routes(routes!(mailbox_routes::poll_inbox))
        // The envelope route reads its body under its own cap.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(mailbox_routes::post_message))
                .layer(DefaultBodyLimit::max(crate::protocol::relay_wire::MAX_ENVELOPE_BYTES + 1)),
        )
        .merge(blob_routes::router())
}

/// A fresh random id for connections, items and blobs.
fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The relay's routes with their state, ready to mount under [`MOUNT_PATH`] or serve.
pub fn routes<S: Clone + Send + Sync + 'static>(state: Arc<RelayState>) -> axum::Router<S> {
    let (router, _) = router().split_for_parts();
    router.with_state(state)
}

/// The relay alone (`gdpr-gateway relay`): its routes with the problem-body fallbacks and
/// request ids.
pub fn app(state: Arc<RelayState>) -> axum::Router {
    crate::http::with_problem_fallbacks(routes(state))
        .layer(axum::middleware::from_fn(crate::http::request_id::middleware))
}

/// Sweeps expired rows and refreshes the trust list until `stop` fires.
pub async fn maintain(state: Arc<RelayState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    let mut refresh = tokio::time::interval(Duration::from_secs(crate::trust::REFRESH_SECS));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = sweep.tick() => match state.store.sweep(state.clock.now(), state.limits.message_ttl_secs, ABANDONED_UPLOAD_SECS).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "relay: deleted expired items, tokens and proof ids"),
                Err(e) => tracing::warn!("relay: sweep failed: {e}"),
            },
            _ = refresh.tick() => {
                if let Err(e) = state.trust.refresh().await {
                    tracing::warn!("relay: trust list refresh failed, keeping the previous one: {e}");
                }
            }
        }
    }
}

/// Serves the relay alone on `listener`, with its upkeep beside it, until `shutdown`
/// completes; then answers waiting long-polls and drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<RelayState>,
    limits: crate::http::server::ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let upkeep = tokio::spawn(maintain(state.clone(), stop_rx));
    let hub = state.hub.clone();
    let app = app(state);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        hub.close();
    };
    let served = crate::http::server::serve(listener, app, limits, shutdown).await;
    let _ = tokio::time::timeout(crate::http::TASK_GRACE, upkeep).await;
    served
}
