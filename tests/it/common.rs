//! A real gateway on 127.0.0.1:0 with a temporary data dir, and helpers to talk to it.

use std::net::SocketAddr;
use std::sync::Arc;

use gdpr_gateway::api::AppState;
use gdpr_gateway::clock::{Clock, ManualClock};
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::{demo, serve};
use tokio::sync::oneshot;

/// The test clock's start: 2026-11-22T00:00:00Z.
pub const T0: u64 = 1_795_305_600;

pub struct TestGateway {
    pub url: String,
    pub token: String,
    pub state: Arc<AppState>,
    pub clock: ManualClock,
    pub dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestGateway {
    /// The built-in demo, as `serve` without `--config` runs it.
    pub async fn demo() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            data_dir: Some(dir.path().to_owned()),
            database_url: None,
        };
        let loaded = config::from_text(Origin::BuiltInDemo, demo::CONFIG, Vec::new(), overrides).unwrap();
        let manual = ManualClock::new(T0);
        let clock: Arc<dyn Clock> = Arc::new(manual.clone());
        let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let bound = listener.local_addr().unwrap();
        let prepared = serve::prepare(loaded, clock, bound).await.unwrap();
        let token = std::fs::read_to_string(dir.path().join(demo::TOKEN_FILE)).unwrap().trim().to_owned();
        let url = format!("http://{bound}");
        let (tx, rx) = oneshot::channel::<()>();
        let state = prepared.state.clone();
        tokio::spawn(serve::run(listener, prepared, async move {
            let _ = rx.await;
        }));
        Self { url, token, state, clock: manual, dir: dir.path().to_owned(), _dir: dir, shutdown: Some(tx) }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}{path}", self.url))
    }

    /// A request with the demo portal token.
    pub fn portal(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, format!("{}{path}", self.url)).bearer_auth(&self.token)
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
    }
}

/// Asserts an RFC 9457 problem response and returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, error_code: &str) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let header_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], error_code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:gdpr-gateway:error:{error_code}"));
    assert_eq!(body["request_id"], header_id.as_str());
    body
}
