//! Scripted load run on loopback (`docs/benchmarks.md`): the all-in-one demo gateway in
//! this process, driven over real HTTP by the same clients wallets and portals use.
//!
//! 1. pairings created per second, each with its QR SVG;
//! 2. relay messages per second end to end (controller posts a JWE, the wallet's long-poll
//!    delivers it, the wallet acknowledges), with p50/p99 latency;
//! 3. an axum hello-world route with the same client and concurrency: the framework ceiling.
//!
//! Run: `cargo bench --bench relay_load` (bounded: fixed counts, loopback only).

// A load script: any failure is a broken run, and aborting with its message is the report.
#![allow(clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gdpr_gateway::clock::{Clock, SystemClock};
use gdpr_gateway::config::builtin_demo as demo;
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::jose::{EncryptionKeyPair, SigningKeyPair, jwe};
use gdpr_gateway::protocol::relay_wire::{ConnectRequest, ConnectUri};
use gdpr_gateway::relay_client::RelayClient;
use gdpr_gateway::serve;

/// Requests in flight at once, for every phase.
const CONCURRENCY: usize = 16;
/// Pairings created (with their QR SVG) in phase 1.
const PAIRINGS: usize = 2000;
/// Connections and messages per connection in phase 2.
const CONNECTIONS: usize = 16;
const MESSAGES_PER_CONNECTION: usize = 250;
/// Hello-world requests in phase 3.
const HELLO_REQUESTS: usize = 20_000;
/// Size of each relayed message's plaintext.
const MESSAGE_BYTES: usize = 1024;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there are no tests here.
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let overrides = Overrides {
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        data_dir: Some(dir.path().to_owned()),
        database_url: None,
        public_url: None,
    };
    let loaded = config::from_text(Origin::BuiltInDemo, demo::CONFIG, Vec::new(), overrides).expect("demo config");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
    let bound = listener.local_addr().expect("addr");
    let prepared = serve::prepare(loaded, clock.clone(), bound).await.expect("prepare");
    let gateway = prepared.gateway().clone();
    let token = std::fs::read_to_string(dir.path().join(demo::TOKEN_FILE)).expect("token").trim().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::run(listener, prepared, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{bound}");
    let http = reqwest::Client::new();

    // 1. Pairings with QR SVG.
    let started = Instant::now();
    let mut uris = Vec::new();
    let latencies = run_concurrently(PAIRINGS, |_| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let created: serde_json::Value = http
                .post(format!("{base}/v1/pairings"))
                .bearer_auth(&token)
                .json(&serde_json::json!({ "subject_ref": "alice" }))
                .send()
                .await
                .expect("create")
                .json()
                .await
                .expect("json");
            let svg = http.get(created["qr_svg_url"].as_str().expect("url")).bearer_auth(&token).send().await;
            assert!(svg.expect("qr").status().is_success());
            created["connect_uri"].as_str().expect("uri").to_owned()
        }
    })
    .await;
    let elapsed = started.elapsed();
    for (_, uri) in &latencies {
        uris.push(uri.clone());
    }
    report("pairings + QR SVG", PAIRINGS, elapsed, latencies.iter().map(|(d, _)| *d).collect());

    // 2. Relay messages, controller → wallet, end to end.
    let controller =
        RelayClient::new(gateway.relay().base(), Arc::new(gateway.keyring().active_signing().clone()), clock.clone())
            .expect("controller client");
    let mut wallets = Vec::new();
    for uri in uris.iter().take(CONNECTIONS) {
        let uri = ConnectUri::parse(uri).expect("uri");
        let client = RelayClient::new(&uri.relay, Arc::new(SigningKeyPair::generate()), clock.clone()).expect("wallet");
        let encryption = EncryptionKeyPair::generate();
        let request = ConnectRequest { token: uri.token.encode(), encryption_jwk: encryption.public_jwk().clone() };
        let connected = client.connect(&request).await.expect("connect");
        // The gateway sends the pairing code first; take it out of the way.
        drain(&client, &connected.connection_id).await;
        wallets.push((client, encryption, connected.connection_id));
    }
    let envelope_for = |encryption: &EncryptionKeyPair| {
        jwe::encrypt(encryption.public_jwk(), "gdpr-msg+jwt", &vec![b'x'; MESSAGE_BYTES]).expect("seal")
    };
    let started = Instant::now();
    let tasks = wallets.into_iter().map(|(wallet, encryption, id)| {
        let controller = controller.clone();
        let envelope = envelope_for(&encryption);
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(MESSAGES_PER_CONNECTION);
            for _ in 0..MESSAGES_PER_CONNECTION {
                let sent = Instant::now();
                let receive = wallet.messages(&id, 30);
                let (posted, received) = tokio::join!(controller.post(&id, &envelope), receive);
                posted.expect("post");
                let mut items = received.expect("long-poll");
                while items.is_empty() {
                    items = wallet.messages(&id, 30).await.expect("long-poll");
                }
                for item in &items {
                    wallet.ack(&id, &item.id).await.expect("ack");
                }
                latencies.push(sent.elapsed());
            }
            latencies
        })
    });
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("task"));
    }
    let messages = CONNECTIONS * MESSAGES_PER_CONNECTION;
    report("relay message post → long-poll → ack", messages, started.elapsed(), latencies);

    // 3. The framework ceiling: axum hello-world on the same machine and client.
    // The baseline is deliberately outside the API and its OpenAPI document.
    #[allow(clippy::disallowed_methods)]
    let hello = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let hello_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hello_url = format!("http://{}/", hello_listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(hello_listener, hello).await });
    let started = Instant::now();
    let latencies = run_concurrently(HELLO_REQUESTS, |_| {
        let (http, url) = (http.clone(), hello_url.clone());
        async move {
            assert!(http.get(&url).send().await.expect("hello").status().is_success());
        }
    })
    .await;
    report("axum hello-world", HELLO_REQUESTS, started.elapsed(), latencies.into_iter().map(|(d, _)| d).collect());
    let _ = stop.send(());
}

/// Runs `count` jobs, at most [`CONCURRENCY`] at once; returns each job's latency and output.
async fn run_concurrently<F, Fut, T>(count: usize, job: F) -> Vec<(Duration, T)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = semaphore.clone().acquire_owned().await.expect("semaphore");
        let work = job(i);
        handles.push(tokio::spawn(async move {
            let started = Instant::now();
            let out = work.await;
            drop(permit);
            (started.elapsed(), out)
        }));
    }
    let mut out = Vec::with_capacity(count);
    for handle in handles {
        out.push(handle.await.expect("job"));
    }
    out
}

async fn drain(client: &RelayClient, id: &str) {
    for item in client.messages(id, 5).await.expect("first message") {
        client.ack(id, &item.id).await.expect("ack");
    }
}

fn report(name: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{name}: {count} in {:.2} s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
    );
}
