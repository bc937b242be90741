//! The gateway binary killed with SIGKILL while a source system carries out an erasure,
//! between "erased at the source" and "receipt signed": once restarted, the outbox tries
//! the operation again under the same idempotency key, the source erases nothing twice,
//! the request ends carried out with the source's own answer as evidence, and its receipt
//! is signed exactly once, across another kill. On SQLite, and on PostgreSQL in the
//! PostgreSQL suite.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gdpr_gateway::bundle::{OutcomeResult, verify_receipt};
use gdpr_gateway::jose::Jwks;
use gdpr_gateway::protocol::rights::ActionStatus;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{PG_ENV, PgSchema, PortalClient, StaffClient};
use crate::running_binary::Running;

const PORTAL_TOKEN: &str = "crash-portal-token";
const HANDLER_TOKEN: &str = "crash-handler-token";
const APPROVER_TOKEN: &str = "crash-approver-token";
/// The shortest the config allows; the outbox holds a claimed operation for twice this.
const OPERATION_TIMEOUT_SECS: u64 = 15;
/// How long the test waits for the retry after the restart: the claim, with room.
const RETRY_WAIT: Duration = Duration::from_secs(2 * OPERATION_TIMEOUT_SECS + 30);

/// A source system that keeps what each idempotency key did, as an idempotent API does: the
/// first erasure erases and is then left hanging (the gateway dies before it hears back);
/// the same key again gets the stored answer and erases nothing.
#[derive(Default)]
struct Source {
    /// The idempotency key of every erasure that arrived, in order.
    keys: Vec<String>,
    /// Records erased, over all calls.
    erased: u64,
    /// The answer stored per key.
    answers: Vec<(String, Value)>,
}

async fn start_source(state: Arc<Mutex<Source>>, arrived: Arc<tokio::sync::Notify>) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (state, arrived) = (state.clone(), arrived.clone());
        async move {
            if request.method() != axum::http::Method::DELETE {
                return axum::Json(json!([{"id": "L-1", "points": 120}])).into_response();
            }
            let key = request.headers().get("idempotency-key").map(|v| v.to_str().unwrap().to_owned());
            let key = key.unwrap_or_default();
            let replay = {
                let mut source = state.lock().unwrap();
                source.keys.push(key.clone());
                let stored = source.answers.iter().find(|(k, _)| *k == key).map(|(_, a)| a.clone());
                if stored.is_none() {
                    source.erased += 1;
                    let answer = json!({"records": 1, "confirmation": "ERA-77"});
                    source.answers.push((key, answer));
                }
                stored
            };
            match replay {
                Some(answer) => axum::Json(answer).into_response(),
                None => {
                    arrived.notify_one();
                    // Erased; the answer never leaves before the gateway is killed.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    axum::http::StatusCode::OK.into_response()
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The config; `database_url` (PostgreSQL) when the PostgreSQL suite runs, else SQLite in
/// the data dir.
fn config(source_url: &str, database_url: Option<&str>) -> String {
    let database = database_url.map(|url| format!("database_url = {url:?}\n")).unwrap_or_default();
    format!(
        r#"{database}
[controller]
id = "https://crash.gdpr-gateway.example"
name = "Crash Test B.V."
dpo_contact = "privacy@crash.example"

[controller.supervisory_authority]
name = "Autoriteit Persoonsgegevens"
url = "https://autoriteitpersoonsgegevens.nl"

[requests]
operation_timeout_seconds = {OPERATION_TIMEOUT_SECS}

[[sources]]
id = "loyalty-system"
type = "http"
base_url = "{source_url}"
[sources.operations]
erase = {{ method = "DELETE", path = "/subjects/{{subject}}/{{category}}" }}

[[categories]]
id = "loyalty"
name = "Loyalty points"
purposes = ["Rewarding loyal customers"]
legal_basis = "contract"
retention = "P1Y"
source = "loyalty-system"
portable = false

[[portal_clients]]
id = "portal"
token_sha256 = "{portal}"

[[staff]]
id = "hanna"
role = "handler"
token_sha256 = "{handler}"

[[staff]]
id = "aziz"
role = "approver"
token_sha256 = "{approver}"
"#,
        portal = sha256_hex(PORTAL_TOKEN),
        handler = sha256_hex(HANDLER_TOKEN),
        approver = sha256_hex(APPROVER_TOKEN),
    )
}

fn start(dir: &std::path::Path) -> Running {
    tokio::task::block_in_place(|| Running::start(dir, &["--config", "gateway.toml", "--data-dir", "data"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_erasure_finishes_it_once_after_a_restart() {
    let state = Arc::new(Mutex::new(Source::default()));
    let arrived = Arc::new(tokio::sync::Notify::new());
    let source_url = start_source(state.clone(), arrived.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let schema = match std::env::var(PG_ENV) {
        Ok(url) => Some(PgSchema::create(&url).await),
        Err(_) => None,
    };
    let database_url = schema.as_ref().map(|(_, url)| url.expose().to_owned());
    std::fs::write(dir.path().join("gateway.toml"), config(&source_url, database_url.as_deref())).unwrap();

    let gateway = start(dir.path());
    let portal = PortalClient::new(&gateway.url, PORTAL_TOKEN);
    let (handler, approver) =
        (StaffClient::new(&gateway.url, HANDLER_TOKEN), StaffClient::new(&gateway.url, APPROVER_TOKEN));
    let id = portal.file_request("carol", &json!({"type": "erasure"})).await.unwrap().id;
    handler.advance(&id).await.unwrap();
    handler.meet(&id, &["scope_determined", "legal_holds_checked"]).await;
    handler.advance(&id).await.unwrap();
    assert_eq!(approver.advance(&id).await.unwrap().request.phase, "execution");

    // The source has erased; the gateway dies before it hears so.
    tokio::time::timeout(Duration::from_secs(30), arrived.notified()).await.expect("the erasure reached the source");
    gateway.kill9();
    let gateway = start(dir.path());
    let handler = StaffClient::new(&gateway.url, HANDLER_TOKEN);
    let pending = handler.rights_request(&id).await.unwrap();
    assert_eq!(pending.operations[0].status, ActionStatus::Pending, "not reported done before the source said so");

    let deadline = tokio::time::Instant::now() + RETRY_WAIT;
    let mut detail = pending;
    while detail.operations[0].status == ActionStatus::Pending && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        detail = handler.rights_request(&id).await.unwrap();
    }
    let operation = &detail.operations[0];
    assert_eq!(operation.status, ActionStatus::Done, "{detail:?}");
    assert_eq!(operation.evidence.clone().unwrap(), json!({"records": 1, "confirmation": "ERA-77"}));
    {
        let source = state.lock().unwrap();
        let expected_key = format!("{id}:{}", operation.seq);
        assert_eq!(source.keys, [expected_key.clone(), expected_key], "tried again under the same key");
        assert_eq!(source.erased, 1, "erased once");
    }

    // Closed: the receipt is signed in the transaction that closes, and only then.
    handler.carried_out(&id).await;
    handler.advance(&id).await.unwrap();
    let receipt_path = format!("/v1/requests/{id}/receipt");
    let receipt = handler.request(reqwest::Method::GET, &receipt_path).send().await.unwrap().text().await.unwrap();
    gateway.kill9();
    let gateway = start(dir.path());
    let handler = StaffClient::new(&gateway.url, HANDLER_TOKEN);
    let again = handler.request(reqwest::Method::GET, &receipt_path).send().await.unwrap().text().await.unwrap();
    assert_eq!(again, receipt, "signed once, kept as signed");
    let jwks: Jwks =
        reqwest::get(format!("{}/.well-known/jwks.json", gateway.url)).await.unwrap().json().await.unwrap();
    let claims = verify_receipt(receipt.as_bytes(), &jwks).unwrap().claims;
    assert_eq!((claims.jti.as_str(), claims.receipt.state.as_str()), (id.as_str(), "closed"));
    let outcomes: Vec<(&str, &str, OutcomeResult)> =
        claims.receipt.outcomes.iter().map(|o| (o.category.as_str(), o.operation.as_str(), o.result)).collect();
    assert_eq!(outcomes, [("loyalty", "erase", OutcomeResult::Done)]);
    assert_eq!(claims.receipt.outcomes[0].evidence.records, Some(1));
    let detail = handler.rights_request(&id).await.unwrap();
    assert_eq!(detail.history.iter().filter(|h| h.action == "criterion_met:carried_out").count(), 1);
    assert_eq!(state.lock().unwrap().keys.len(), 2, "nothing sent again after the close");
    drop(gateway);
    if let Some((schema, _)) = schema {
        schema.drop_idle().await;
    }
}
