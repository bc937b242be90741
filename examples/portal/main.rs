//! A customer portal's page and backend wired to gdpr-gateway: the integrator's example.
//!
//! The backend holds the portal token; the browser only ever gets one pairing's status
//! token. See docs/integration.md.

mod api;
mod gateway;
mod pages;
mod problem;
mod session;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

/// The customer portal example: sign in as a demo customer, pair a wallet, download data.
#[derive(Parser)]
#[command(name = "portal")]
struct Args {
    /// The gateway's base URL, as the browser reaches it too (QR code and events come from it).
    #[arg(long, env = "PORTAL_GATEWAY_URL")]
    gateway: String,
    /// The portal client's bearer token; it never leaves this backend.
    #[arg(long, env = "PORTAL_TOKEN", hide_env_values = true)]
    portal_token: String,
    /// Where this portal listens.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
}

/// What every handler shares.
pub struct App {
    pub gateway: gateway::Gateway,
    pub sessions: session::Sessions,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("portal: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let gateway = gateway::Gateway::new(&args.gateway, args.portal_token)?;
    let app = Arc::new(App { gateway, sessions: session::Sessions::default() });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // One line on stdout, so a script that started us on port 0 learns where we are.
    println!("portal listening on http://{bound}");
    axum::serve(listener, pages::router(app))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("server: {e}"))
}

async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
