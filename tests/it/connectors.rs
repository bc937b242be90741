//! The HTTP connector against a real source system (axum on 127.0.0.1:0) that requires a
//! token, and the file connector against a temporary directory: fetches, and the writes of
//! rights requests (rectify, erase, restrict, object), including a writer killed mid-way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{StreamExt, TryStreamExt};
use gdpr_gateway::config::{HttpAuth, HttpMethod, HttpOperation, HttpOperations, Secret};

use gdpr_gateway::connectors::{
    Capabilities, Connector, ConnectorError, FileConnector, HttpConnector, HttpSettings, MAX_RECORD_BYTES, Record,
    WriteDone,
};
use gdpr_gateway::protocol::subject::SubjectRef;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The static bearer token the test sources require.
const TOKEN: &str = "static-token";
const CLIENT_ID: &str = "gateway";
const CLIENT_SECRET: &str = "client-secret";

/// Serves `app` on 127.0.0.1:0 for the rest of the test; returns its base URL.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A source that answers 401 without `Bearer TOKEN` and otherwise `respond(path)`.
async fn bearer_source<F, Fut>(respond: F) -> String
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    serve(Router::new().fallback(move |request: Request| async move {
        let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if authorization != Some(&format!("Bearer {TOKEN}")) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        respond(request.uri().path().to_owned()).await
    }))
    .await
}

fn settings(base_url: &str, auth: Option<HttpAuth>) -> HttpSettings {
    HttpSettings {
        base_url: base_url.to_owned(),
        auth,
        timeout: Duration::from_secs(10),
        max_response_bytes: 1 << 20,
        operations: HttpOperations::default(),
    }
}

fn bearer(token: &str) -> Option<HttpAuth> {
    Some(HttpAuth::Bearer { token: Secret::new(token) })
}

/// An HTTP connector to `base_url` with `Bearer TOKEN`.
fn connector(base_url: &str) -> HttpConnector {
    HttpConnector::new(settings(base_url, bearer(TOKEN))).unwrap()
}

/// All records of the fetch, or the first error, whether at fetch or mid-stream.
async fn fetch(connector: &dyn Connector, subject: &str, category: &str) -> Result<Vec<Record>, ConnectorError> {
    connector.fetch(&SubjectRef::parse(subject).unwrap(), category).await?.try_collect().await
}

fn records(value: Value) -> Vec<Record> {
    serde_json::from_value(value).unwrap()
}

/// `body` sent in `size`-byte chunks, without Content-Length.
fn chunked(body: String, size: usize) -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        body.as_bytes().chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

fn ndjson(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8")], body).into_response()
}

// ---- OAuth 2.0 client credentials ----

/// An authorisation server and source in one: tokens are `token-1`, `token-2`, … in
/// issue order, and the data endpoint accepts `token-N` only for N >= `first_accepted`.
struct OAuthSource {
    token_requests: AtomicUsize,
    first_accepted: usize,
}

/// The token endpoint (POST `/oauth/token`) and the data endpoint (GET `/subjects/alice/contact`).
async fn oauth_endpoints(
    State(source): State<Arc<OAuthSource>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    match (method, uri.path()) {
        (Method::POST, "/oauth/token") => issue_token(&source, &headers, &body),
        (Method::GET | Method::DELETE, "/subjects/alice/contact") => oauth_data(&source, &headers),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn issue_token(source: &OAuthSource, headers: &HeaderMap, body: &str) -> Response {
    let n = source.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let expected = format!("Basic {}", BASE64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(&expected) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"}))).into_response();
    }
    if !body.split('&').any(|pair| pair == "grant_type=client_credentials") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type"}))).into_response();
    }
    Json(json!({"access_token": format!("token-{n}"), "token_type": "Bearer", "expires_in": 3600})).into_response()
}

fn oauth_data(source: &OAuthSource, headers: &HeaderMap) -> Response {
    let token =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let n = token.and_then(|t| t.strip_prefix("token-")).and_then(|n| n.parse::<usize>().ok());
    if n.is_none_or(|n| n < source.first_accepted) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!([{"email": "alice@example.org"}, {"phone": "+49 30 123456"}])).into_response()
}

/// Starts an [`OAuthSource`]; returns it and a connector using `client_secret`, which
/// erases with `DELETE /subjects/{subject}/{category}`.
async fn oauth_source(first_accepted: usize, client_secret: &str) -> (Arc<OAuthSource>, HttpConnector) {
    let source = Arc::new(OAuthSource { token_requests: AtomicUsize::new(0), first_accepted });
    let url = serve(Router::new().fallback(oauth_endpoints).with_state(source.clone())).await;
    let auth = HttpAuth::Oauth2ClientCredentials {
        token_url: format!("{url}/oauth/token"),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(client_secret),
        scopes: Vec::new(),
    };
    let operations = HttpOperations {
        erase: operation(HttpMethod::Delete, "/subjects/{subject}/{category}"),
        ..HttpOperations::default()
    };
    (source, HttpConnector::new(HttpSettings { operations, ..settings(&url, Some(auth)) }).unwrap())
}

fn alice_contact() -> Vec<Record> {
    records(json!([{"email": "alice@example.org"}, {"phone": "+49 30 123456"}]))
}

#[tokio::test]
async fn oauth2_token_is_requested_once_and_cached() {
    let (source, connector) = oauth_source(1, CLIENT_SECRET).await;
    assert_eq!(fetch(&connector, "alice", "contact").await.unwrap(), alice_contact());
    assert_eq!(fetch(&connector, "alice", "contact").await.unwrap(), alice_contact());
    assert_eq!(source.token_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oauth2_token_refused_by_the_source_is_renewed_once() {
    let (source, connector) = oauth_source(2, CLIENT_SECRET).await;
    assert_eq!(fetch(&connector, "alice", "contact").await.unwrap(), alice_contact());
    assert_eq!(source.token_requests.load(Ordering::SeqCst), 2);

    // A source that refuses every token: one renewal, then Unauthorized, no loop.
    let (source, connector) = oauth_source(usize::MAX, CLIENT_SECRET).await;
    let err = fetch(&connector, "alice", "contact").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert_eq!(source.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oauth2_token_refused_for_a_write_is_renewed_once() {
    let (source, connector) = oauth_source(2, CLIENT_SECRET).await;
    let alice = SubjectRef::parse("alice").unwrap();
    connector.erase(&alice, "contact", "req-1:1").await.unwrap();
    assert_eq!(source.token_requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oauth2_wrong_client_secret_is_unauthorized() {
    let (source, connector) = oauth_source(1, "not-the-secret").await;
    let err = fetch(&connector, "alice", "contact").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Unauthorized(m) if m.contains("token request failed")), "{err:?}");
    assert_eq!(source.token_requests.load(Ordering::SeqCst), 1);
}

// ---- Static bearer token, status codes ----

#[tokio::test]
async fn static_bearer_token_is_sent_and_a_wrong_one_is_unauthorized() {
    let url = bearer_source(|_| async { Json(json!([{"name": "Alice"}])).into_response() }).await;
    assert_eq!(fetch(&connector(&url), "alice", "profile").await.unwrap(), records(json!([{"name": "Alice"}])));

    let wrong = HttpConnector::new(settings(&url, bearer("wrong-token"))).unwrap();
    let err = fetch(&wrong, "alice", "profile").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Unauthorized(m) if m == "HTTP 401"), "{err:?}");

    let none = HttpConnector::new(settings(&url, None)).unwrap();
    let err = fetch(&none, "alice", "profile").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
}

#[tokio::test]
async fn source_status_codes_map_to_errors() {
    let url = bearer_source(|path| async move {
        match path.as_str() {
            "/subjects/nobody/contact" => StatusCode::NOT_FOUND,
            "/subjects/alice/forbidden" => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
        .into_response()
    })
    .await;
    let connector = connector(&url);
    let err = fetch(&connector, "nobody", "contact").await.unwrap_err();
    assert!(matches!(err, ConnectorError::SubjectNotFound), "{err:?}");
    let err = fetch(&connector, "alice", "forbidden").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Unauthorized(m) if m == "HTTP 403"), "{err:?}");
    let err = fetch(&connector, "alice", "contact").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Status(500)), "{err:?}");
}

// ---- Body formats ----

#[tokio::test]
async fn ndjson_is_streamed_in_order() {
    const LINES: usize = 10_000;
    let url = bearer_source(|_| async {
        let body: String = (0..LINES).map(|i| format!("{{\"n\":{i},\"text\":\"record {i}\"}}\n")).collect();
        // Chunk boundaries fall inside lines on purpose.
        ndjson(chunked(body, 1000))
    })
    .await;
    let got = fetch(&connector(&url), "alice", "events").await.unwrap();
    assert_eq!(got.len(), LINES);
    for (i, record) in got.iter().enumerate() {
        assert_eq!(record["n"], json!(i));
        assert_eq!(record["text"], json!(format!("record {i}")));
    }
}

#[tokio::test]
async fn ndjson_malformed_line_is_named() {
    let url = bearer_source(|path| async move {
        let body = match path.as_str() {
            "/subjects/alice/broken" => "{\"n\":1}\n\n{\"n\":\n{\"n\":4}\n",
            _ => "{\"n\":1}\n[1,2]\n",
        };
        ndjson(Body::from(body))
    })
    .await;
    let connector = connector(&url);
    let subject = SubjectRef::parse("alice").unwrap();

    // The record before the bad line arrives; the error ends the stream. The blank line counts.
    let got: Vec<_> = connector.fetch(&subject, "broken").await.unwrap().collect().await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap(), &records(json!([{"n": 1}]))[0]);
    assert!(matches!(&got[1], Err(ConnectorError::Malformed(m)) if m.starts_with("line 3:")), "{:?}", got[1]);

    let err = fetch(&connector, "alice", "array").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.starts_with("line 2:")), "{err:?}");
}

#[tokio::test]
async fn json_that_is_not_an_array_of_objects_is_malformed() {
    let url = bearer_source(|path| async move {
        let body = match path.as_str() {
            "/subjects/alice/object" => "{\"email\":\"alice@example.org\"}",
            "/subjects/alice/numbers" => "[1,2,3]",
            "/subjects/alice/mixed" => "[{\"a\":1},\"b\"]",
            "/subjects/alice/truncated" => "[{\"a\":1},",
            "/subjects/alice/empty" => "[]",
            _ => "not json",
        };
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    })
    .await;
    let connector = connector(&url);
    for category in ["object", "numbers", "mixed", "truncated", "garbage"] {
        let err = fetch(&connector, "alice", category).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Malformed(_)), "{category}: {err:?}");
    }
    assert_eq!(fetch(&connector, "alice", "empty").await.unwrap(), Vec::<Record>::new());
}

// ---- Limits ----

/// A JSON array of `n` small records, about 20 bytes each.
fn big_array(n: usize) -> String {
    serde_json::to_string(&(0..n).map(|i| json!({"n": i})).collect::<Vec<_>>()).unwrap()
}

#[tokio::test]
async fn response_with_content_length_over_the_limit_is_too_large() {
    let url = bearer_source(|path| async move {
        let n = if path.ends_with("/small") { 10 } else { 1000 };
        ([(header::CONTENT_TYPE, "application/json")], big_array(n)).into_response()
    })
    .await;
    let connector =
        HttpConnector::new(HttpSettings { max_response_bytes: 1000, ..settings(&url, bearer(TOKEN)) }).unwrap();
    let err = fetch(&connector, "alice", "large").await.unwrap_err();
    assert!(matches!(err, ConnectorError::TooLarge { limit: 1000 }), "{err:?}");
    assert_eq!(fetch(&connector, "alice", "small").await.unwrap().len(), 10);
}

#[tokio::test]
async fn streamed_response_over_the_limit_is_too_large() {
    let url = bearer_source(|path| async move {
        if path.ends_with("/ndjson") {
            let body: String = (0..1000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
            ndjson(chunked(body, 100))
        } else {
            ([(header::CONTENT_TYPE, "application/json")], chunked(big_array(1000), 100)).into_response()
        }
    })
    .await;

    // The source really streams: no Content-Length for the connector to check up front.
    let response =
        reqwest::Client::new().get(format!("{url}/subjects/alice/json")).bearer_auth(TOKEN).send().await.unwrap();
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    assert!(response.headers().get(header::TRANSFER_ENCODING).is_some_and(|v| v == "chunked"));

    let connector =
        HttpConnector::new(HttpSettings { max_response_bytes: 1000, ..settings(&url, bearer(TOKEN)) }).unwrap();
    let err = fetch(&connector, "alice", "json").await.unwrap_err();
    assert!(matches!(err, ConnectorError::TooLarge { limit: 1000 }), "{err:?}");

    // JSON Lines fail mid-stream, after the records that fit.
    let subject = SubjectRef::parse("alice").unwrap();
    let got: Vec<_> = connector.fetch(&subject, "ndjson").await.unwrap().collect().await;
    let (last, ok) = got.split_last().unwrap();
    assert!(matches!(last, Err(ConnectorError::TooLarge { limit: 1000 })), "{last:?}");
    assert!(!ok.is_empty() && ok.iter().all(Result::is_ok));
    assert!(ok.len() < 1000);
}

#[tokio::test]
async fn slow_source_times_out() {
    let url = bearer_source(|_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Json(json!([])).into_response()
    })
    .await;
    let connector =
        HttpConnector::new(HttpSettings { timeout: Duration::from_millis(300), ..settings(&url, bearer(TOKEN)) })
            .unwrap();
    let started = std::time::Instant::now();
    let err = fetch(&connector, "alice", "contact").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Unreachable(m) if m.contains("timed out")), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

// ---- URLs ----

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = elsewhere_hits.clone();
    let url = bearer_source(move |path| {
        let hits = hits.clone();
        async move {
            if path == "/elsewhere" {
                hits.fetch_add(1, Ordering::SeqCst);
                return Json(json!([{"leaked": true}])).into_response();
            }
            (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response()
        }
    })
    .await;
    let err = fetch(&connector(&url), "alice", "contact").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Status(302)), "{err:?}");
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn subject_and_category_are_path_segments() {
    // The source echoes the path it saw.
    let url = bearer_source(|path| async move { Json(json!([{"path": path}])).into_response() }).await;
    let path_seen = async |base_url: String, subject: &str, category: &str| {
        let got = fetch(&connector(&base_url), subject, category).await.unwrap();
        got[0]["path"].as_str().unwrap().to_owned()
    };
    assert_eq!(path_seen(url.clone(), "C-000.123_x", "orders").await, "/subjects/C-000.123_x/orders");
    // A base path is kept, with or without a trailing slash.
    assert_eq!(path_seen(format!("{url}/api/v1"), "alice", "contact").await, "/api/v1/subjects/alice/contact");
    assert_eq!(path_seen(format!("{url}/api/v1/"), "alice", "contact").await, "/api/v1/subjects/alice/contact");
    // A category is one segment: a slash in it cannot add a level.
    assert_eq!(path_seen(url.clone(), "alice", "a/b").await, "/subjects/alice/a%2Fb");
}

// ---- File connector ----

/// A file connector root with `alice/<category>.jsonl` for each `(category, content)`.
fn file_root(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("alice")).unwrap();
    for (category, content) in files {
        std::fs::write(root.path().join("alice").join(format!("{category}.jsonl")), content).unwrap();
    }
    root
}

#[tokio::test]
async fn file_connector_reads_json_lines() {
    let root = file_root(&[("contact", "{\"email\":\"alice@example.org\"}\n\n{\"phone\":\"+49 30 123456\"}\n")]);
    let connector = FileConnector::new(root.path().to_owned());
    assert_eq!(fetch(&connector, "alice", "contact").await.unwrap(), alice_contact());
}

#[tokio::test]
async fn file_connector_unknown_subject_and_missing_category() {
    let root = file_root(&[("contact", "{\"a\":1}\n")]);
    std::fs::write(root.path().join("carol"), "a file, not a subject directory").unwrap();
    let connector = FileConnector::new(root.path().to_owned());
    for subject in ["bob", "carol"] {
        let err = fetch(&connector, subject, "contact").await.unwrap_err();
        assert!(matches!(err, ConnectorError::SubjectNotFound), "{subject}: {err:?}");
    }
    assert_eq!(fetch(&connector, "alice", "orders").await.unwrap(), Vec::<Record>::new());
}

#[tokio::test]
async fn file_connector_malformed_line_is_named() {
    let root = file_root(&[("array", "{\"a\":1}\n[1,2]\n"), ("broken", "{\"a\":1}\n{\"a\":2}\n\n{\"a\":\n")]);
    let connector = FileConnector::new(root.path().to_owned());
    let err = fetch(&connector, "alice", "array").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.starts_with("line 2:")), "{err:?}");
    let err = fetch(&connector, "alice", "broken").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.starts_with("line 4:")), "{err:?}");
}

#[tokio::test]
async fn file_connector_refuses_lines_over_the_record_limit() {
    /// A JSON object of exactly `len` bytes.
    fn record_of(len: usize) -> String {
        format!("{{\"a\":\"{}\"}}", "x".repeat(len - 8))
    }
    let at_limit = format!("{}\n", record_of(MAX_RECORD_BYTES));
    let at_limit_crlf = format!("{}\r\n", record_of(MAX_RECORD_BYTES));
    let over_limit = format!("{{\"a\":1}}\n{}\n", record_of(MAX_RECORD_BYTES + 1));
    // The last line has no terminator: the limit must not count on one.
    let over_limit_unterminated = record_of(MAX_RECORD_BYTES + 1);
    let root = file_root(&[
        ("at_limit", &at_limit),
        ("at_limit_crlf", &at_limit_crlf),
        ("over_limit", &over_limit),
        ("over_limit_unterminated", &over_limit_unterminated),
    ]);
    let connector = FileConnector::new(root.path().to_owned());

    for category in ["at_limit", "at_limit_crlf"] {
        let got = fetch(&connector, "alice", category).await.unwrap();
        assert_eq!(got[0]["a"].as_str().unwrap().len(), MAX_RECORD_BYTES - 8, "{category}");
    }
    for category in ["over_limit", "over_limit_unterminated"] {
        let err = fetch(&connector, "alice", category).await.unwrap_err();
        assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("longer than")), "{category}: {err:?}");
    }
}

/// A source that is not where the configuration says fails loudly: at start, in
/// `check-config` (see `cli.rs`), in `readyz`, and in exports, which answer
/// `source_unavailable` instead of telling people "we hold nothing about you".
#[tokio::test]
async fn a_missing_or_silent_source_is_named_never_taken_for_an_unknown_subject() {
    let missing = FileConnector::new(std::path::PathBuf::from("/nonexistent/gdpr-data"));
    assert!(matches!(missing.check_setup(), Err(ConnectorError::Unreachable(_))));
    let subject = SubjectRef::parse("alice").unwrap();
    assert!(matches!(missing.fetch(&subject, "contact").await, Err(ConnectorError::Unreachable(_))));

    // An HTTP source answers something, or it is unreachable.
    let up = serve(Router::new()).await;
    connector(&up).check_reachable().await.unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let down = connector(&format!("http://{closed}")).check_reachable().await.unwrap_err();
    assert!(matches!(down, ConnectorError::Unreachable(_)), "{down}");

    // The demo's file source disappears under a running gateway.
    let gw = crate::common::TestGateway::demo().await;
    assert_eq!(gw.get("/readyz").send().await.unwrap().status(), 200);
    std::fs::remove_dir_all(gw.dir.join(gdpr_gateway::config::builtin_demo::DATA_DIR)).unwrap();
    let ready = gw.get("/readyz").send().await.unwrap();
    let body = crate::common::assert_problem(ready, 503, "source_unavailable").await;
    assert!(!body["detail"].as_str().unwrap().contains("/"), "no path leaks to the public: {body}");
    let request = serde_json::from_value(json!({"format": "jwt", "purpose": "access"})).unwrap();
    let export = gw.portal_client().export("alice", &request).await;
    crate::common::assert_problem(export, 503, "source_unavailable").await;
}

// ---- Writes: the HTTP connector ----

fn operation(method: HttpMethod, path: &str) -> Option<HttpOperation> {
    Some(HttpOperation { method, path: path.to_owned() })
}

/// Every write, on paths of different shapes.
fn all_operations() -> HttpOperations {
    HttpOperations {
        rectify: operation(HttpMethod::Patch, "/subjects/{subject}/{category}/{id}"),
        erase: operation(HttpMethod::Delete, "/subjects/{subject}/{category}"),
        restrict: operation(HttpMethod::Put, "/v2/{category}/restrictions/{subject}"),
        lift_restriction: operation(HttpMethod::Delete, "/v2/{category}/restrictions/{subject}"),
        object: operation(HttpMethod::Post, "/subjects/{subject}/{category}/objections/{purpose}"),
        ..HttpOperations::default()
    }
}

/// An HTTP connector to `base_url` with `Bearer TOKEN` and `operations`.
fn writer(base_url: &str, operations: HttpOperations) -> HttpConnector {
    HttpConnector::new(HttpSettings { operations, ..settings(base_url, bearer(TOKEN)) }).unwrap()
}

/// A request as the source saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// As sent, percent-encoded.
    path: String,
    idempotency_key: Option<String>,
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

type SeenLog = Arc<std::sync::Mutex<Vec<Seen>>>;

/// A source that logs every request and answers `respond(request)`.
async fn logging_source<F>(respond: F) -> (String, SeenLog)
where
    F: Fn(&Seen) -> Response + Clone + Send + Sync + 'static,
{
    let log = SeenLog::default();
    let seen = log.clone();
    let url = serve(Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
        let (seen, respond) = (seen.clone(), respond.clone());
        async move {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let request = Seen {
                method: method.to_string(),
                path: uri.path().to_owned(),
                idempotency_key: header("idempotency-key"),
                authorization: header("authorization"),
                content_type: header("content-type"),
                body,
            };
            let response = respond(&request);
            seen.lock().unwrap().push(request);
            response
        }
    }))
    .await;
    (url, log)
}

#[tokio::test]
async fn http_writes_use_the_configured_method_path_key_and_credentials() {
    let (url, log) = logging_source(|request| match request.method.as_str() {
        "PATCH" => Json(json!({
            "records": 1,
            "confirmation": "chg-42",
            "record": {"id": "a/b", "email": "new@example.org"},
            "unknown_member": true
        }))
        .into_response(),
        "DELETE" if request.path.starts_with("/subjects/") => Json(json!({"records": 3})).into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
    .await;
    let connector = writer(&url, all_operations());
    assert_eq!(
        connector.capabilities(),
        Capabilities { rectify: true, erase: true, restrict: true, object: true, ..Capabilities::default() }
    );
    let alice = SubjectRef::parse("alice").unwrap();
    let patch = records(json!([{"email": "new@example.org", "phone": null}])).remove(0);

    let done = connector.rectify(&alice, "contact", "id", "a/b", &patch, "req-1:1").await.unwrap();
    let record = records(json!([{"id": "a/b", "email": "new@example.org"}])).remove(0);
    assert_eq!(done, WriteDone { records: Some(1), confirmation: Some("chg-42".into()), record: Some(record) });
    assert_eq!(connector.erase(&alice, "contact", "req-1:2").await.unwrap().records, Some(3));
    assert_eq!(connector.restrict(&alice, "orders", "req-1:3").await.unwrap(), WriteDone::default());
    connector.lift_restriction(&alice, "orders", "req-1:4").await.unwrap();
    connector.object(&alice, "orders", "Marketing e-mails", "req-1:5").await.unwrap();

    let seen = log.lock().unwrap().clone();
    let expected = [
        ("PATCH", "/subjects/alice/contact/a%2Fb", "req-1:1"),
        ("DELETE", "/subjects/alice/contact", "req-1:2"),
        ("PUT", "/v2/orders/restrictions/alice", "req-1:3"),
        ("DELETE", "/v2/orders/restrictions/alice", "req-1:4"),
        ("POST", "/subjects/alice/orders/objections/Marketing%20e-mails", "req-1:5"),
    ];
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    for (request, (method, path, key)) in seen.iter().zip(expected) {
        assert_eq!((request.method.as_str(), request.path.as_str()), (method, path));
        assert_eq!(request.idempotency_key.as_deref(), Some(key), "{request:?}");
        assert_eq!(request.authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()), "{request:?}");
    }
    assert_eq!(seen[0].content_type.as_deref(), Some("application/merge-patch+json"));
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({"email": "new@example.org", "phone": null})
    );
    assert_eq!(seen[4].content_type.as_deref(), Some("application/json"));
    assert_eq!(serde_json::from_str::<Value>(&seen[4].body).unwrap(), json!({"purpose": "Marketing e-mails"}));
    for request in &seen[1..4] {
        assert!(request.body.is_empty() && request.content_type.is_none(), "{request:?}");
    }
}

#[tokio::test]
async fn http_write_answers_map_to_errors() {
    let long_detail = format!("email: not a valid address {}", "x".repeat(1000));
    let detail = long_detail.clone();
    let (url, log) = logging_source(move |request| match request.path.rsplit('/').next().unwrap() {
        "missing" | "nobody" => StatusCode::NOT_FOUND.into_response(),
        "broken" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "busy" => StatusCode::TOO_MANY_REQUESTS.into_response(),
        "invalid" => (StatusCode::UNPROCESSABLE_ENTITY, detail.clone()).into_response(),
        "forbidden" => StatusCode::FORBIDDEN.into_response(),
        "moved" => (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]).into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    })
    .await;
    let connector = writer(&url, all_operations());
    let alice = SubjectRef::parse("alice").unwrap();
    let patch = records(json!([{"email": "new@example.org"}])).remove(0);
    let rectify = async |id: &str| connector.rectify(&alice, "contact", "id", id, &patch, "req-2:1").await.unwrap_err();

    let err = rectify("broken").await;
    assert!(matches!(err, ConnectorError::Status(500)) && err.is_transient(), "{err:?}");
    let err = rectify("busy").await;
    assert!(matches!(err, ConnectorError::Status(429)) && err.is_transient(), "{err:?}");
    let err = rectify("missing").await;
    assert!(matches!(err, ConnectorError::RecordNotFound) && !err.is_transient(), "{err:?}");
    let err = rectify("forbidden").await;
    assert!(matches!(&err, ConnectorError::Unauthorized(m) if m == "HTTP 403"), "{err:?}");
    let err = rectify("moved").await;
    assert!(matches!(err, ConnectorError::Status(302)) && !err.is_transient(), "{err:?}");
    match rectify("invalid").await {
        err @ ConnectorError::Rejected { status: 422, .. } => {
            assert!(!err.is_transient());
            let ConnectorError::Rejected { detail, .. } = err else { unreachable!() };
            assert_eq!(detail, long_detail.chars().take(300).collect::<String>());
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    // A 404 to an erasure: the subject unknown, or a route that is not the source's. Never
    // "nothing held": a handler looks at it.
    let nobody = SubjectRef::parse("nobody").unwrap();
    let err = writer(
        &url,
        HttpOperations {
            erase: operation(HttpMethod::Delete, "/erase/{category}/{subject}"),
            ..HttpOperations::default()
        },
    )
    .erase(&nobody, "contact", "req-2:2")
    .await
    .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected { status: 404, .. }) && !err.is_transient(), "{err:?}");

    // A patch that touches the id field never leaves the gateway.
    let sent = log.lock().unwrap().len();
    let renaming = records(json!([{"id": "other"}])).remove(0);
    let err = connector.rectify(&alice, "contact", "id", "o-1", &renaming, "req-2:3").await.unwrap_err();
    assert!(matches!(err, ConnectorError::InvalidPatch(_)) && !err.is_transient(), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), sent);
}

#[tokio::test]
async fn http_write_to_a_hanging_source_is_unreachable_after_the_timeout() {
    let url = bearer_source(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        StatusCode::NO_CONTENT.into_response()
    })
    .await;
    // As configured: timeout_seconds = 1.
    let settings =
        HttpSettings { timeout: Duration::from_secs(1), operations: all_operations(), ..settings(&url, bearer(TOKEN)) };
    let connector = HttpConnector::new(settings).unwrap();
    let started = std::time::Instant::now();
    let err = connector.erase(&SubjectRef::parse("alice").unwrap(), "contact", "req-3:1").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Unreachable(m) if m.contains("timed out")), "{err:?}");
    assert!(err.is_transient());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn http_source_does_only_the_configured_writes() {
    let (url, log) = logging_source(|_| StatusCode::NO_CONTENT.into_response()).await;
    let only_erase = HttpOperations {
        erase: operation(HttpMethod::Delete, "/subjects/{subject}/{category}"),
        ..HttpOperations::default()
    };
    let connector = writer(&url, only_erase);
    assert_eq!(connector.capabilities(), Capabilities { erase: true, ..Capabilities::default() });
    let alice = SubjectRef::parse("alice").unwrap();
    let patch = records(json!([{"email": "new@example.org"}])).remove(0);
    let results = [
        connector.rectify(&alice, "contact", "id", "o-1", &patch, "k:1").await,
        connector.restrict(&alice, "contact", "k:2").await,
        connector.lift_restriction(&alice, "contact", "k:3").await,
        connector.object(&alice, "contact", "Marketing", "k:4").await,
    ];
    for result in results {
        let err = result.unwrap_err();
        assert!(matches!(err, ConnectorError::Unsupported(_)) && !err.is_transient(), "{err:?}");
    }
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(connector.erase(&alice, "contact", "k:5").await.unwrap(), WriteDone::default());
    assert_eq!(writer(&url, HttpOperations::default()).capabilities(), Capabilities::default());

    // Templates are checked when the connector is made, too (config load: see config.rs).
    let new = |operations| HttpConnector::new(HttpSettings { operations, ..settings(&url, bearer(TOKEN)) });
    let bad = HttpOperations {
        erase: operation(HttpMethod::Delete, "/subjects/{subject}/{id}"),
        ..HttpOperations::default()
    };
    let err = new(bad).err().unwrap();
    assert!(
        matches!(&err, ConnectorError::Setup(m) if m.contains("operations.erase.path") && m.contains("{id}")),
        "{err:?}"
    );
    let half = HttpOperations { restrict: operation(HttpMethod::Post, "/r/{subject}"), ..HttpOperations::default() };
    let err = new(half).err().unwrap();
    assert!(matches!(&err, ConnectorError::Setup(m) if m.contains("operations.lift_restriction")), "{err:?}");
}

// ---- Writes: the file connector ----

fn file_connector(root: &tempfile::TempDir) -> FileConnector {
    FileConnector::new(root.path().to_owned())
}

fn alice() -> SubjectRef {
    SubjectRef::parse("alice").unwrap()
}

const ORDERS: &str = "{\"id\":\"o-1\",\"status\":\"new\"}\n\n\
{\"id\":\"o-2\",\"status\":\"new\",\"note\":\"ring twice\",\"address\":{\"city\":\"Delft\",\"street\":\"Markt 1\"}}\n\
{\"id\":7,\"status\":\"paid\"}\r\n\
{\"id\":\"o-4\",\"status\":\"new\"}";

#[tokio::test]
async fn file_rectify_changes_exactly_the_record() {
    let root = file_root(&[("orders", ORDERS)]);
    let connector = file_connector(&root);
    let everything =
        Capabilities { rectify: true, erase: true, restrict: true, object: true, dated: true, erase_dated: true };
    assert_eq!(connector.capabilities(), everything);
    let patch = records(json!([{"status": "shipped", "note": null, "address": {"city": "Utrecht"}}])).remove(0);
    let done = connector.rectify(&alice(), "orders", "id", "o-2", &patch, "req-1:1").await.unwrap();
    let updated =
        records(json!([{"id": "o-2", "status": "shipped", "address": {"city": "Utrecht", "street": "Markt 1"}}]))
            .remove(0);
    assert_eq!(done, WriteDone { records: Some(1), confirmation: None, record: Some(updated) });

    // The other lines, blank and CRLF ones too, are kept byte for byte and in order.
    let text = std::fs::read_to_string(root.path().join("alice/orders.jsonl")).unwrap();
    let lines: Vec<&str> = ORDERS.split('\n').collect();
    let expected = [
        lines[0],
        lines[1],
        r#"{"id":"o-2","status":"shipped","address":{"city":"Utrecht","street":"Markt 1"}}"#,
        lines[3],
        lines[4],
    ]
    .join("\n");
    assert_eq!(text, expected);

    // A number id is matched by its text; the last line keeps having no terminator.
    let paid = records(json!([{"status": "refunded"}])).remove(0);
    connector.rectify(&alice(), "orders", "id", "7", &paid, "req-1:2").await.unwrap();
    let got = fetch(&connector, "alice", "orders").await.unwrap();
    let ids: Vec<&Value> = got.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&json!("o-1"), &json!("o-2"), &json!(7), &json!("o-4")]);
    assert_eq!(got[2]["status"], "refunded");
    let text = std::fs::read_to_string(root.path().join("alice/orders.jsonl")).unwrap();
    assert!(
        text.contains("{\"id\":7,\"status\":\"refunded\"}\r\n")
            && text.ends_with("{\"id\":\"o-4\",\"status\":\"new\"}")
    );
    assert!(stray_files(&root.path().join("alice")).is_empty());
}

#[cfg(unix)]
#[tokio::test]
async fn file_rectify_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let root = file_root(&[("orders", ORDERS)]);
    let path = root.path().join("alice/orders.jsonl");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let patch = records(json!([{"status": "shipped"}])).remove(0);
    file_connector(&root).rectify(&alice(), "orders", "id", "o-1", &patch, "k").await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn file_rectify_refusals_leave_the_file_alone() {
    let duplicated = "{\"id\":\"d\"}\n{\"id\":\"d\"}\n";
    let root = file_root(&[("orders", ORDERS), ("duplicated", duplicated)]);
    let connector = file_connector(&root);
    let patch = records(json!([{"status": "shipped"}])).remove(0);
    let rectify = async |subject: &str, category: &str, id: &str, patch: &Record| {
        let subject = SubjectRef::parse(subject).unwrap();
        connector.rectify(&subject, category, "id", id, patch, "k").await.unwrap_err()
    };

    let err = rectify("alice", "orders", "o-9", &patch).await;
    assert!(matches!(err, ConnectorError::RecordNotFound), "{err:?}");
    // "7" names the number 7, but "o-1" is no number and 7 is no string "07".
    let err = rectify("alice", "orders", "07", &patch).await;
    assert!(matches!(err, ConnectorError::RecordNotFound), "{err:?}");
    let err = rectify("alice", "no_such_category", "o-1", &patch).await;
    assert!(matches!(err, ConnectorError::RecordNotFound), "{err:?}");
    let err = rectify("bob", "orders", "o-1", &patch).await;
    assert!(matches!(err, ConnectorError::SubjectNotFound), "{err:?}");
    for renaming in [json!({"id": "o-5"}), json!({"id": null}), json!({"id": "o-1"})] {
        let renaming = records(json!([renaming])).remove(0);
        let err = rectify("alice", "orders", "o-1", &renaming).await;
        assert!(matches!(err, ConnectorError::InvalidPatch(_)), "{err:?}");
    }
    let err = rectify("alice", "duplicated", "d", &patch).await;
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("line 2")), "{err:?}");

    assert_eq!(std::fs::read_to_string(root.path().join("alice/orders.jsonl")).unwrap(), ORDERS);
    assert_eq!(std::fs::read_to_string(root.path().join("alice/duplicated.jsonl")).unwrap(), duplicated);
    assert!(stray_files(&root.path().join("alice")).is_empty());
}

#[tokio::test]
async fn file_erase_counts_then_finds_nothing_and_keeps_the_markers() {
    let root = file_root(&[("orders", ORDERS), ("contact", "{\"email\":\"alice@example.org\"}\n")]);
    let connector = file_connector(&root);
    connector.restrict(&alice(), "orders", "k:1").await.unwrap();
    connector.object(&alice(), "orders", "Marketing", "k:2").await.unwrap();

    let done = connector.erase(&alice(), "orders", "k:3").await.unwrap();
    assert_eq!(done, WriteDone { records: Some(4), ..WriteDone::default() });
    assert_eq!(connector.erase(&alice(), "orders", "k:3").await.unwrap().records, Some(0));
    assert_eq!(fetch(&connector, "alice", "orders").await.unwrap(), Vec::<Record>::new());
    let dir = root.path().join("alice");
    assert!(!dir.join("orders.jsonl").exists());
    assert!(dir.join("orders.restricted").is_file() && dir.join("orders.objections.json").is_file());
    assert_eq!(fetch(&connector, "alice", "contact").await.unwrap().len(), 1, "other categories stay");
    let err = connector.erase(&SubjectRef::parse("bob").unwrap(), "orders", "k:4").await.unwrap_err();
    assert!(matches!(err, ConnectorError::SubjectNotFound), "{err:?}");
}

#[tokio::test]
async fn file_restriction_marker_comes_and_goes() {
    let root = file_root(&[("orders", ORDERS)]);
    let connector = file_connector(&root);
    let marker = root.path().join("alice/orders.restricted");
    connector.restrict(&alice(), "orders", "k:1").await.unwrap();
    let first: Value = serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    assert!(first["since"].as_u64().unwrap() > 1_700_000_000, "{first}");
    // Restricting again keeps the first time; a restricted category can still be read.
    std::fs::write(&marker, "{\"since\":1}\n").unwrap();
    connector.restrict(&alice(), "orders", "k:2").await.unwrap();
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "{\"since\":1}\n");
    assert_eq!(fetch(&connector, "alice", "orders").await.unwrap().len(), 4);

    connector.lift_restriction(&alice(), "orders", "k:3").await.unwrap();
    assert!(!marker.exists());
    connector.lift_restriction(&alice(), "orders", "k:3").await.unwrap();
    assert!(stray_files(&root.path().join("alice")).is_empty());
}

#[tokio::test]
async fn file_objection_is_recorded_once() {
    let root = file_root(&[("orders", ORDERS)]);
    let connector = file_connector(&root);
    connector.object(&alice(), "orders", "Marketing e-mails", "k:1").await.unwrap();
    connector.object(&alice(), "orders", "Marketing e-mails", "k:1").await.unwrap();
    connector.object(&alice(), "orders", "Profiling", "k:2").await.unwrap();
    let file = root.path().join("alice/orders.objections.json");
    let purposes: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(purposes, json!(["Marketing e-mails", "Profiling"]));
    std::fs::write(&file, "{\"not\": \"an array\"}").unwrap();
    let err = connector.object(&alice(), "orders", "Analytics", "k:3").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Malformed(_)), "{err:?}");
}

/// The temporary files interrupted rewrites left in `dir`.
fn stray_files(dir: &std::path::Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap());
    names.filter(|n| n.starts_with('.') && n.ends_with(".tmp")).collect()
}

// ---- A rewrite killed mid-way ----

/// Set in the child process of [`file_rewrite_killed_mid_way_leaves_the_old_or_the_new_file`]:
/// the file connector's root.
const REWRITE_CHILD_DIR: &str = "GDPR_REWRITE_CHILD_DIR";
/// Records in the rewritten file: about 2 MB.
const REWRITE_RECORDS: usize = 10_000;
/// The two values the child writes, in turn, into the last record.
const REWRITE_VALUES: [&str; 2] = ["old", "a new and longer value"];

/// The rewritten file, its last record's `v` being `value`.
fn rewrite_version(value: &str) -> String {
    let mut text = String::new();
    for i in 0..REWRITE_RECORDS {
        let v = if i == REWRITE_RECORDS - 1 { value } else { "fixed" };
        text.push_str(&json!({"id": format!("r{i}"), "v": v, "pad": format!("{i:0>180}")}).to_string());
        text.push('\n');
    }
    text
}

/// Rectifies `alice/events.jsonl` under `root`, setting its last record's `v`.
async fn rewrite_once(connector: &FileConnector, value: &str) {
    let patch = records(json!([{"v": value}])).remove(0);
    let last = format!("r{}", REWRITE_RECORDS - 1);
    connector.rectify(&alice(), "events", "id", &last, &patch, "kill-test").await.unwrap();
}

/// Not a test of its own: the child process of the kill test, which rewrites the file
/// for ever (or a minute, should its parent be gone) until it is killed. Does nothing
/// without [`REWRITE_CHILD_DIR`].
#[test]
fn file_rewrite_child() {
    let Some(root) = std::env::var_os(REWRITE_CHILD_DIR) else { return };
    let root = std::path::PathBuf::from(root);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let connector = FileConnector::new(root.clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        for round in 0.. {
            rewrite_once(&connector, REWRITE_VALUES[(round + 1) % 2]).await;
            if round == 0 {
                std::fs::write(root.join("started"), "").unwrap();
            }
            if std::time::Instant::now() > deadline {
                break;
            }
        }
    });
}

/// A random duration below `max`.
fn random_below(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    Duration::from_micros(random % max.as_micros() as u64)
}

/// A process rewriting a category file is killed (SIGKILL) at random moments: every time
/// the file is the old version or the new one, whole, a stray temporary file does not
/// disturb a fetch, and the next rewrite removes it.
#[test]
fn file_rewrite_killed_mid_way_leaves_the_old_or_the_new_file() {
    const MAX_ROUNDS: usize = 20;
    let versions = REWRITE_VALUES.map(rewrite_version);
    let root = file_root(&[("events", &versions[0])]);
    let (started, path, dir) =
        (root.path().join("started"), root.path().join("alice/events.jsonl"), root.path().join("alice"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let connector = file_connector(&root);
    let (mut kills_mid_rewrite, mut rounds) = (0, 0);
    for round in 0..MAX_ROUNDS {
        rounds += 1;
        let _ = std::fs::remove_file(&started);
        // The test harness's own arguments, so both libtest and nextest runs work.
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["connectors::file_rewrite_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(REWRITE_CHILD_DIR, root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let waiting = std::time::Instant::now();
        while !started.exists() {
            assert!(child.try_wait().unwrap().is_none(), "round {round}: the child ended before rewriting");
            assert!(waiting.elapsed() < Duration::from_secs(60), "round {round}: the child never rewrote");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(random_below(Duration::from_millis(60)));
        child.kill().unwrap();
        child.wait().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(versions.contains(&text), "round {round}: a torn file of {} bytes", text.len());
        let strays = stray_files(&dir);
        assert!(strays.len() <= 1, "round {round}: {strays:?}");
        if !strays.is_empty() {
            kills_mid_rewrite += 1;
        }
        let got = runtime.block_on(fetch(&connector, "alice", "events")).unwrap();
        assert_eq!(got.len(), REWRITE_RECORDS, "round {round}");
        if round >= 4 && kills_mid_rewrite > 0 {
            break;
        }
    }
    eprintln!("{kills_mid_rewrite} of {rounds} kills landed mid-rewrite");
    assert!(kills_mid_rewrite > 0, "no kill in {MAX_ROUNDS} rounds landed mid-rewrite");
    runtime.block_on(rewrite_once(&connector, REWRITE_VALUES[0]));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), versions[0]);
    assert!(stray_files(&dir).is_empty(), "the next rewrite removes what a killed one left");
}
