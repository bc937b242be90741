//! Retention at an HTTP source: a real source system (axum on 127.0.0.1:0) that keeps
//! dated loyalty records per person, lists them by date and erases them by date through
//! the two `[sources.operations]` entries; first the connector's wire contract, then the
//! gateway's sweep announcing and erasing a backlog there.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use futures_util::TryStreamExt;
use gdpr_gateway::calendar::Date;
use gdpr_gateway::config::{HttpMethod, HttpOperation, HttpOperations};
use gdpr_gateway::connectors::{
    Capabilities, Connector, ConnectorError, Cutoff, DatedRecords, HttpConnector, HttpSettings,
};
use gdpr_gateway::protocol::rights::StaffRole;
use gdpr_gateway::protocol::subject::SubjectRef;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::common::TestGateway;

const FIELD: &str = "earned_on";

/// What the source system holds, and each retention call it received.
#[derive(Default)]
struct SourceSystem {
    /// Per person: (record id, date).
    records: Mutex<BTreeMap<String, Vec<(String, String)>>>,
    /// `<method> <path>?<query>`, with the idempotency key of writes.
    calls: Mutex<Vec<(String, Option<String>)>>,
    /// Answer the listing with a row that has no `subject`.
    broken_listing: std::sync::atomic::AtomicBool,
}

type System = Arc<SourceSystem>;

struct DatedQuery {
    field: String,
    before: String,
}

impl SourceSystem {
    fn holding(people: &[(&str, &[(&str, &str)])]) -> System {
        let system = SourceSystem::default();
        let mut records = system.records.lock().unwrap();
        for (person, rows) in people {
            records.insert(person.to_string(), rows.iter().map(|(i, d)| (i.to_string(), d.to_string())).collect());
        }
        drop(records);
        Arc::new(system)
    }

    fn log(&self, call: String, headers: &HeaderMap) {
        let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.calls.lock().unwrap().push((call, key));
    }

    fn dates(&self, person: &str) -> Vec<String> {
        let records = self.records.lock().unwrap();
        records.get(person).map(|rows| rows.iter().map(|(_, d)| d.clone()).collect()).unwrap_or_default()
    }
}

fn fetch(system: &SourceSystem, person: &str) -> Response {
    let records = system.records.lock().unwrap();
    match records.get(person) {
        Some(rows) => {
            Json(rows.iter().map(|(id, date)| json!({"id": id, FIELD: date})).collect::<Vec<_>>()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// One JSON line per person with records dated before the cutoff, compared as text.
fn dated(system: &SourceSystem, category: &str, query: DatedQuery, headers: &HeaderMap) -> Response {
    system.log(format!("GET /retention/{category}?field={}&before={}", query.field, query.before), headers);
    if query.field != FIELD {
        return (StatusCode::BAD_REQUEST, "unknown date field").into_response();
    }
    if system.broken_listing.load(std::sync::atomic::Ordering::Relaxed) {
        return ([("content-type", "application/x-ndjson")], "{\"records\": 1}\n").into_response();
    }
    let mut lines = String::new();
    for (person, rows) in system.records.lock().unwrap().iter() {
        let old: Vec<&String> = rows.iter().map(|(_, d)| d).filter(|d| **d < query.before).collect();
        if let Some(oldest) = old.iter().min() {
            lines.push_str(&json!({"subject": person, "records": old.len(), "oldest": oldest}).to_string());
            lines.push('\n');
        }
    }
    ([("content-type", "application/x-ndjson")], lines).into_response()
}

fn erase_dated(system: &SourceSystem, path: &str, person: &str, before: &str, headers: &HeaderMap) -> Response {
    system.log(format!("DELETE {path}"), headers);
    let mut records = system.records.lock().unwrap();
    let Some(rows) = records.get_mut(person) else { return StatusCode::NOT_FOUND.into_response() };
    let kept = rows.iter().filter(|(_, d)| d.as_str() >= before).count();
    let erased = rows.len() - kept;
    rows.retain(|(_, d)| d.as_str() >= before);
    Json(json!({"records": erased})).into_response()
}

/// The source system's routes: a fetch, the listing by date and the erase by date.
async fn route(
    State(system): State<System>,
    method: Method,
    uri: Uri,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let query = match (params.get("field"), params.get("before")) {
        (Some(field), Some(before)) => Some(DatedQuery { field: field.clone(), before: before.clone() }),
        _ => None,
    };
    match (method.as_str(), segments.as_slice(), query) {
        ("GET", ["subjects", person, _category], _) => fetch(&system, person),
        ("GET", ["retention", category], Some(query)) => dated(&system, category, query, &headers),
        ("DELETE", ["subjects", person, _category, _field, "before", before], _) => {
            erase_dated(&system, path, person, before, &headers)
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn serve(system: System) -> String {
    let app = Router::new().fallback(route).with_state(system);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn operation(method: HttpMethod, path: &str) -> Option<HttpOperation> {
    Some(HttpOperation { method, path: path.to_owned() })
}

fn retention_operations() -> HttpOperations {
    HttpOperations {
        dated_before: operation(HttpMethod::Get, "/retention/{category}"),
        erase_dated_before: operation(HttpMethod::Delete, "/subjects/{subject}/{category}/{field}/before/{before}"),
        ..HttpOperations::default()
    }
}

fn connector(url: &str, operations: HttpOperations) -> Result<HttpConnector, ConnectorError> {
    HttpConnector::new(HttpSettings {
        base_url: url.to_owned(),
        auth: None,
        timeout: std::time::Duration::from_secs(10),
        max_response_bytes: 1 << 20,
        operations,
    })
}

fn cutoff(day: &str) -> Cutoff {
    Cutoff::Day(Date::at(Date::parse_instant(&format!("{day}T00:00:00Z")).unwrap(), 0))
}

async fn listing(connector: &HttpConnector, before: Cutoff) -> Result<Vec<DatedRecords>, ConnectorError> {
    let mut rows: Vec<DatedRecords> = connector.dated_before("loyalty", FIELD, before).await?.try_collect().await?;
    rows.sort_by(|a, b| a.subject.as_str().cmp(b.subject.as_str()));
    Ok(rows)
}

fn row(subject: &str, records: u64, oldest: &str) -> DatedRecords {
    DatedRecords { subject: SubjectRef::parse(subject).unwrap(), records, oldest: Some(oldest.to_owned()) }
}

#[tokio::test]
async fn an_http_source_lists_and_erases_records_by_date_as_configured() {
    let system = SourceSystem::holding(&[
        ("alice", &[("l-1", "2026-01-31"), ("l-2", "2026-02-29"), ("l-3", "2026-03-01")]),
        ("bob", &[("l-4", "2025-12-31")]),
        ("carol", &[("l-5", "2027-01-01")]),
    ]);
    let url = serve(system.clone()).await;
    let source = connector(&url, retention_operations()).unwrap();
    assert_eq!(source.capabilities(), Capabilities { dated: true, erase_dated: true, ..Capabilities::default() });

    let before = cutoff("2026-03-01");
    assert_eq!(listing(&source, before).await.unwrap(), [row("alice", 2, "2026-01-31"), row("bob", 1, "2025-12-31")]);

    let alice = SubjectRef::parse("alice").unwrap();
    let done = source.erase_dated_before(&alice, "loyalty", FIELD, before, "retention:loyalty:1").await.unwrap();
    assert_eq!(done.records, Some(2));
    assert_eq!(system.dates("alice"), ["2026-03-01"], "only what is dated before the cutoff goes");
    assert_eq!(listing(&source, before).await.unwrap(), [row("bob", 1, "2025-12-31")]);
    let again = source.erase_dated_before(&alice, "loyalty", FIELD, before, "retention:loyalty:1").await.unwrap();
    assert_eq!(again.records, Some(0), "erasing what is gone succeeds");

    let calls = system.calls.lock().unwrap().clone();
    let key = Some("retention:loyalty:1".to_owned());
    assert_eq!(
        calls,
        [
            ("GET /retention/loyalty?field=earned_on&before=2026-03-01".to_owned(), None),
            ("DELETE /subjects/alice/loyalty/earned_on/before/2026-03-01".to_owned(), key.clone()),
            ("GET /retention/loyalty?field=earned_on&before=2026-03-01".to_owned(), None),
            ("DELETE /subjects/alice/loyalty/earned_on/before/2026-03-01".to_owned(), key),
        ]
    );

    // A row the gateway cannot read is named; a route the source does not have is a refusal.
    system.broken_listing.store(true, std::sync::atomic::Ordering::Relaxed);
    let err = listing(&source, before).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("dated_before answer")), "{err:?}");
    let elsewhere = HttpOperations {
        dated_before: operation(HttpMethod::Get, "/no-such-route/{category}"),
        ..HttpOperations::default()
    };
    let err = listing(&connector(&url, elsewhere).unwrap(), before).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected { status: 404, .. }) && !err.is_transient(), "{err:?}");
    let none = connector(&url, HttpOperations::default()).unwrap();
    assert!(matches!(listing(&none, before).await, Err(ConnectorError::Unsupported(_))));
}

#[tokio::test]
async fn http_retention_operations_are_checked_when_configured() {
    let refused = |operations: HttpOperations, key: &str, needle: &str| {
        let err = connector("http://127.0.0.1:9", operations).err().unwrap();
        let ConnectorError::Setup(message) = &err else { panic!("{err:?}") };
        assert!(message.contains(key) && message.contains(needle), "{key}: {message}");
    };
    let dated = |method, path| HttpOperations { dated_before: operation(method, path), ..HttpOperations::default() };
    let erase =
        |method, path| HttpOperations { erase_dated_before: operation(method, path), ..HttpOperations::default() };
    refused(dated(HttpMethod::Post, "/retention/{category}"), "dated_before.method", "GET");
    refused(dated(HttpMethod::Get, "/retention/{subject}"), "dated_before.path", "{subject}");
    // Without the cutoff in its path, a source could take it for its erase-everything route;
    // without the category and field, for another category's.
    refused(erase(HttpMethod::Delete, "/subjects/{subject}/{category}/{field}"), "erase_dated_before.path", "{before}");
    refused(erase(HttpMethod::Delete, "/{category}/{field}/before/{before}"), "erase_dated_before.path", "{subject}");
    refused(erase(HttpMethod::Delete, "/people/{subject}/before/{before}"), "erase_dated_before.path", "{category}");
    refused(erase(HttpMethod::Delete, "/s/{subject}/{category}/before/{before}"), "erase_dated_before.path", "{field}");
    refused(dated(HttpMethod::Get, "/retention"), "dated_before.path", "{category}");
    refused(
        erase(HttpMethod::Get, "/s/{subject}/{category}/{field}/before/{before}"),
        "erase_dated_before.method",
        "never GET",
    );
    refused(
        HttpOperations { erase: operation(HttpMethod::Get, "/s/{subject}"), ..HttpOperations::default() },
        "erase.method",
        "never GET",
    );
}

/// The demo with a loyalty programme at an HTTP source, records kept a year from the day
/// they were earned and erased by the gateway.
fn loyalty_config(url: &str) -> String {
    format!(
        r#"
[retention]
warn_before = "P7D"

[[sources]]
id = "loyalty-system"
type = "http"
name = "Loyalty programme"
base_url = "{url}"
[sources.operations]
dated_before = {{ method = "GET", path = "/retention/{{category}}" }}
erase_dated_before = {{ method = "DELETE", path = "/subjects/{{subject}}/{{category}}/{{field}}/before/{{before}}" }}

[[categories]]
id = "loyalty"
name = "Loyalty points"
purposes = ["Rewarding loyal customers"]
legal_basis = "contract"
retention = "P1Y"
retention_date_field = "{FIELD}"
erase_when_expired = true
data_subjects = ["customers"]
source = "loyalty-system"
portable = true
"#
    )
}

async fn loyalty_report(gw: &TestGateway) -> Value {
    let response =
        gw.staff_client(StaffRole::Handler).request(reqwest::Method::GET, "/v1/retention/sources").send().await;
    let report: Value = response.unwrap().json().await.unwrap();
    let categories = report["categories"].as_array().unwrap();
    categories.iter().find(|c| c["category"] == "loyalty").cloned().unwrap_or_else(|| panic!("{report}"))
}

#[tokio::test]
async fn the_gateway_announces_then_erases_a_backlog_at_an_http_source() {
    let system = SourceSystem::holding(&[
        ("alice", &[("l-1", "2028-02-29"), ("l-2", "2029-06-01")]),
        ("bob", &[("l-3", "2028-12-31")]),
    ]);
    let gw = TestGateway::demo_with(&loyalty_config(&serve(system.clone()).await)).await;
    let at = |text: &str| Date::parse_instant(text).unwrap();

    // 1 March 2029: alice's leap-day record of 2028 is past its year (through 28 February).
    gw.clock.set(at("2029-03-01T10:00:00Z"));
    let report = loyalty_report(&gw).await;
    assert_eq!(
        (&report["dated_before"], &report["expired"]),
        (&json!("2028-03-01"), &json!({"records": 1, "subjects": 1}))
    );
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(system.dates("alice").len(), 2, "announced first, not erased on first sight");

    // Warned on 1 March: seven whole days old when 8 March ends.
    gw.clock.set(at("2029-03-08T23:59:59Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(system.dates("alice").len(), 2, "the warning is not seven whole days old");
    gw.clock.set(at("2029-03-09T00:00:00Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(system.dates("alice"), ["2029-06-01"]);
    assert_eq!(system.dates("bob"), ["2028-12-31"], "still inside its year");
    assert_eq!(loyalty_report(&gw).await["expired"]["records"], 0);

    let auditor = gw.staff_client(StaffRole::Auditor);
    let path = "/v1/audit?action=retention.source_erased&subject_ref=alice";
    let trail: Value = auditor.request(reqwest::Method::GET, path).send().await.unwrap().json().await.unwrap();
    let entries = trail["entries"].as_array().unwrap();
    let ours: Vec<&Value> = entries.iter().filter(|e| e["objects"][0] == "source:loyalty-system").collect();
    assert_eq!(ours.len(), 1, "{trail}");
    // Erased up to what the warning of 1 March covered: records kept through 8 March.
    assert_eq!(ours[0]["detail"], "1 record dated before 2028-03-09 erased at source loyalty-system");
    gw.stop().await.unwrap();
}
