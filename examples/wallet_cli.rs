//! A development wallet on the command line, to walk the pairing flow by hand:
//!
//! ```sh
//! cargo run --example wallet_cli -- connect 'http://127.0.0.1:8080/relay/c/<token>'
//! ```
//!
//! It makes fresh keys for the connection, redeems the token at the relay, shows the
//! confirmation code the gateway sends, and waits until the portal confirms (or the
//! pairing ends). Built only on the core: the relay client, JOSE and the wire types.

use std::process::ExitCode;
use std::sync::Arc;

use gdpr_gateway::clock::{Clock, SystemClock};
use gdpr_gateway::jose::{EncryptionKeyPair, SigningKeyPair};
use gdpr_gateway::protocol::message::{self, Body};
use gdpr_gateway::protocol::relay::{ConnectRequest, ConnectUri, ItemKind};
use gdpr_gateway::relay_client::RelayClient;

/// Seconds each long-poll waits.
const POLL_SECS: u64 = 30;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, uri] = args.as_slice() else {
        eprintln!("usage: wallet_cli connect <connect URI>");
        return ExitCode::from(2);
    };
    if command != "connect" {
        eprintln!("unknown command {command:?}; usage: wallet_cli connect <connect URI>");
        return ExitCode::from(2);
    }
    match connect(uri).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(uri: &str) -> Result<(), String> {
    let uri = ConnectUri::parse(uri).map_err(|e| e.to_string())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let encryption = EncryptionKeyPair::generate();
    let client =
        RelayClient::new(&uri.relay, Arc::new(SigningKeyPair::generate()), clock.clone()).map_err(|e| e.to_string())?;
    let request = ConnectRequest { token: uri.token.encode(), encryption_jwk: encryption.public_jwk().clone() };
    let connected = client.connect(&request).await.map_err(|e| e.to_string())?;
    let id = connected.connection_id.clone();
    println!("connected to {} ({}) through {}", connected.controller.name, connected.controller.id, uri.relay);
    println!("connection {id}, wallet key {}", client.key().kid());
    loop {
        let items = client.messages(&id, POLL_SECS).await.map_err(|e| e.to_string())?;
        for item in items {
            let Some(body) = item.body.filter(|_| item.kind == ItemKind::Envelope) else { continue };
            let opened = message::open(body.as_bytes(), &[&encryption], &connected.controller.jwks, &id, clock.now())
                .map_err(|e| format!("refused a message: {e}"))?;
            client.ack(&id, &item.id).await.map_err(|e| e.to_string())?;
            match opened.body {
                Body::PairingCode { code, .. } => {
                    println!("confirmation code: {code}  (type it into the portal)");
                }
                Body::PairingConfirmed {} => {
                    println!("connected: the portal confirmed the code");
                    return Ok(());
                }
                Body::PairingCancelled { reason } => return Err(format!("pairing cancelled: {reason}")),
                Body::ConnectionRevoked {} => return Err("the organisation revoked the connection".into()),
                other => println!("message: {other:?}"),
            }
        }
    }
}
