//! Serving a router over TCP with the limits `axum::serve` has none of: a deadline for a
//! request's headers (which also ends idle keep-alive connections), a deadline between
//! body chunks, a cap on open connections, problem bodies for oversized request lines and
//! headers, and a shutdown that lets requests in flight finish for a grace period and then
//! cuts them. Both the gateway and the relay serve through it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::ApiError;
use super::parse_errors::ProblemBodies;
use super::request_id::answer_outside;
use crate::config::ServerConfig;
use crate::protocol::ErrorCode;

/// Longest request target (path and query) answered; longer ones get 414.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Most bytes of request headers, names and values together; more get 431.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Pause after a failed accept (out of file descriptors, say) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits of one server, from the gateway's `[server]` section (`ServerConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may sit idle waiting for the next request.
    pub header_timeout: Duration,
    /// How long a request body may pause between two chunks.
    pub body_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After a shutdown signal: how long requests in flight may still take before their
    /// connections are cut.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self::from(&ServerConfig::default())
    }
}

impl From<&ServerConfig> for ServerLimits {
    fn from(config: &ServerConfig) -> Self {
        Self {
            header_timeout: Duration::from_secs(config.header_timeout_seconds),
            body_timeout: Duration::from_secs(config.body_timeout_seconds),
            max_connections: config.max_connections,
            shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets open
/// requests finish for [`ServerLimits::shutdown_grace`], and cuts what is left (a body
/// cut short is an error at the client, never a response that looks whole).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        // The semaphore is never closed, so a slot always comes.
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(request_handler(app.clone(), peer, limits.body_timeout));
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(ProblemBodies::new(stream)), service));
        connections.spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let open = connections.len();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(connections = open, "requests still open after {:?}; cutting them", limits.shutdown_grace);
            connections.abort_all();
        }
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// What the server's service gives back for one request.
type Answer = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// Each request: oversized targets and headers answered here, the peer's address made
/// known (`ConnectInfo`), the body read under the pause limit, then the router.
fn request_handler(
    app: Router,
    peer: SocketAddr,
    body_timeout: Duration,
) -> impl Fn(Request<Incoming>) -> Answer + Clone {
    move |request: Request<Incoming>| {
        let app = app.clone();
        Box::pin(async move {
            if let Some(refused) = oversized(&request) {
                return Ok(refused);
            }
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let request = Request::from_parts(parts, paced(Body::new(body), body_timeout));
            app.oneshot(request).await
        })
    }
}

/// A problem answer for a request target or headers over our limits. The answer has a
/// request id of its own: the router's middleware never saw the request.
fn oversized(request: &Request<Incoming>) -> Option<Response> {
    let uri = request.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        let detail = format!("the request target is longer than {MAX_URI_BYTES} bytes");
        return Some(answer_outside(|| ApiError::new(ErrorCode::UriTooLong, detail).into_response()));
    }
    let headers: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers > MAX_HEADER_BYTES {
        let detail = format!("the request headers are larger than {MAX_HEADER_BYTES} bytes");
        return Some(answer_outside(|| ApiError::new(ErrorCode::HeadersTooLarge, detail).into_response()));
    }
    None
}

/// `body`, ending in an error when it pauses longer than `limit` between chunks: a client
/// that trickles a body cannot hold a connection and a handler forever.
fn paced(body: Body, limit: Duration) -> Body {
    let chunks = body.into_data_stream();
    Body::from_stream(futures_util::stream::unfold(Some(chunks), move |chunks| async move {
        let mut chunks = chunks?;
        match tokio::time::timeout(limit, chunks.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(chunks))),
            Ok(None) => None,
            Err(_) => {
                let paused = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body paused too long");
                Some((Err(axum::Error::new(paused)), None))
            }
        }
    }))
}
