//! The HTTP connector against a real source system (axum on 127.0.0.1:0) that requires a
//! token, and the file connector against a temporary directory.

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
use gdpr_gateway::config::{HttpAuth, Secret};

use gdpr_gateway::connectors::{
    Connector, ConnectorError, FileConnector, HttpConnector, HttpSettings, MAX_RECORD_BYTES, Record,
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
    HttpSettings { base_url: base_url.to_owned(), auth, timeout: Duration::from_secs(10), max_response_bytes: 1 << 20 }
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
        (Method::GET, "/subjects/alice/contact") => oauth_data(&source, &headers),
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

/// Starts an [`OAuthSource`]; returns it and a connector using `client_secret`.
async fn oauth_source(first_accepted: usize, client_secret: &str) -> (Arc<OAuthSource>, HttpConnector) {
    let source = Arc::new(OAuthSource { token_requests: AtomicUsize::new(0), first_accepted });
    let url = serve(Router::new().fallback(oauth_endpoints).with_state(source.clone())).await;
    let auth = HttpAuth::Oauth2ClientCredentials {
        token_url: format!("{url}/oauth/token"),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(client_secret),
        scopes: Vec::new(),
    };
    (source, HttpConnector::new(settings(&url, Some(auth))).unwrap())
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
