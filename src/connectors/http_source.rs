//! The HTTP connector: `GET {base_url}/subjects/{subject_ref}/{category}` on a source
//! system, answering a JSON array of objects or JSON Lines (`application/x-ndjson`),
//! authenticated by a static bearer token or OAuth 2.0 client credentials. The writes
//! configured in `operations` are sent by `http_writes`.
//!
//! Retention's `dated_before` is a GET of the configured path with `?field=…&before=…`
//! answered the same two ways, one object per person: `{"subject", "records", "oldest"}`.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use tokio::io::BufReader;
use tokio::sync::Mutex;
use tokio_util::io::StreamReader;

use super::http_writes::Write;
use super::{
    Capabilities, Connector, ConnectorError, Cutoff, DatedRecords, DatedStream, Record, RecordStream, WriteDone,
    check_patch, json_lines,
};
use crate::config::{HttpAuth, HttpOperations, Secret};
use crate::protocol::subject::SubjectRef;

/// Connection set-up limit, separate from the whole-request timeout.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifetime assumed for an access token whose response has no `expires_in`.
pub(super) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// A cached token is renewed this long before it expires.
pub(super) const TOKEN_RENEW_MARGIN: Duration = Duration::from_secs(30);

const NDJSON: &str = "application/x-ndjson";
const JSON: &str = "application/json";
const MERGE_PATCH: &str = "application/merge-patch+json";
/// Longest a readiness probe of the source may take.
pub(super) const REACHABILITY_TIMEOUT: Duration = Duration::from_secs(3);

/// What an HTTP connector needs from the config.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub base_url: String,
    pub auth: Option<HttpAuth>,
    pub timeout: Duration,
    pub max_response_bytes: u64,
    /// The writes the source carries out; each must pass [`HttpOperations::check`].
    pub operations: HttpOperations,
}

pub struct HttpConnector {
    pub(super) base_url: url::Url,
    pub(super) client: reqwest::Client,
    auth: Auth,
    pub(super) max_response_bytes: u64,
    pub(super) operations: HttpOperations,
}

enum Auth {
    None,
    Bearer(Secret),
    ClientCredentials(Box<ClientCredentials>),
}

struct ClientCredentials {
    token_url: TokenUrl,
    client_id: ClientId,
    client_secret: Secret,
    scopes: Vec<String>,
    /// Held across a renewal so concurrent fetches wait for one token request.
    cached: Mutex<Option<(Secret, Instant)>>,
}

impl HttpConnector {
    pub fn new(settings: HttpSettings) -> Result<Self, ConnectorError> {
        settings.operations.check().map_err(|(key, m)| ConnectorError::Setup(format!("operations.{key}: {m}")))?;
        let base_url = url::Url::parse(&settings.base_url)
            .map_err(|e| ConnectorError::Unreachable(format!("invalid base_url: {e}")))?;
        if base_url.cannot_be_a_base() {
            return Err(ConnectorError::Unreachable("base_url cannot be a base URL".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(settings.timeout)
            // A source system has no business redirecting us elsewhere; following
            // redirects would also carry our credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectorError::Unreachable(format!("cannot build HTTP client: {e}")))?;
        let auth = match settings.auth {
            None => Auth::None,
            Some(HttpAuth::Bearer { token }) => Auth::Bearer(token),
            Some(HttpAuth::Oauth2ClientCredentials { token_url, client_id, client_secret, scopes }) => {
                Auth::ClientCredentials(Box::new(ClientCredentials {
                    token_url: TokenUrl::new(token_url)
                        .map_err(|e| ConnectorError::Unauthorized(format!("invalid token_url: {e}")))?,
                    client_id: ClientId::new(client_id),
                    client_secret,
                    scopes,
                    cached: Mutex::new(None),
                }))
            }
        };
        let max_response_bytes = settings.max_response_bytes;
        Ok(Self { base_url, client, auth, max_response_bytes, operations: settings.operations })
    }

    fn url(&self, subject: &SubjectRef, category: &str) -> url::Url {
        let mut url = self.base_url.clone();
        // `cannot_be_a_base` was ruled out in `new`, so segments can be pushed.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["subjects", subject.as_str(), category]);
        }
        url
    }

    /// Whether a refused token may be renewed: tokens from OAuth 2.0 client credentials.
    pub(super) fn renews_tokens(&self) -> bool {
        matches!(self.auth, Auth::ClientCredentials(_))
    }

    pub(super) async fn bearer(&self, renew: bool) -> Result<Option<Secret>, ConnectorError> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::Bearer(token) => Ok(Some(token.clone())),
            Auth::ClientCredentials(cc) => cc.token(&self.client, renew).await.map(Some),
        }
    }

    async fn get(&self, url: url::Url, renew: bool) -> Result<reqwest::Response, ConnectorError> {
        let mut request = self.client.get(url).header(ACCEPT, format!("{NDJSON}, application/json"));
        if let Some(token) = self.bearer(renew).await? {
            request = request.bearer_auth(token.expose());
        }
        request.send().await.map_err(|e| ConnectorError::Unreachable(describe(&e)))
    }

    /// The records a GET of `url` answers, a JSON array or JSON Lines; a 404 answers
    /// `not_found()`.
    async fn records(&self, url: url::Url, not_found: fn() -> ConnectorError) -> Result<RecordStream, ConnectorError> {
        let mut response = self.get(url.clone(), false).await?;
        if response.status() == StatusCode::UNAUTHORIZED && self.renews_tokens() {
            // The cached token may have been revoked early: renew once.
            response = self.get(url, true).await?;
        }
        match response.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Err(not_found()),
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                return Err(ConnectorError::Unauthorized(format!("HTTP {}", s.as_u16())));
            }
            s => return Err(ConnectorError::Status(s.as_u16())),
        }
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(ConnectorError::TooLarge { limit });
        }
        let is_ndjson =
            response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(NDJSON));
        let body = capped(response, limit);
        if is_ndjson {
            let reader = StreamReader::new(body.map_err(std::io::Error::other));
            Ok(json_lines::records(BufReader::new(reader)))
        } else {
            let records = json_array(body).await?;
            Ok(stream::iter(records.into_iter().map(Ok)).boxed())
        }
    }
}

impl ClientCredentials {
    async fn token(&self, client: &reqwest::Client, renew: bool) -> Result<Secret, ConnectorError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            if !renew && Instant::now() + TOKEN_RENEW_MARGIN < *expires {
                return Ok(token.clone());
            }
        }
        let oauth = BasicClient::new(self.client_id.clone())
            .set_client_secret(ClientSecret::new(self.client_secret.expose().to_owned()))
            .set_token_uri(self.token_url.clone());
        let response = oauth
            .exchange_client_credentials()
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .request_async(client)
            .await
            .map_err(|e| ConnectorError::Unauthorized(format!("token request failed: {e}")))?;
        let token = Secret::new(response.access_token().secret().clone());
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }
}

impl Connector for HttpConnector {
    /// Any HTTP answer from the base URL will do: the source is there; a transport failure
    /// (refused, timed out, no TLS) is not.
    fn check_reachable(&self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            let probe = self.client.head(self.base_url.clone()).timeout(REACHABILITY_TIMEOUT);
            probe.send().await.map(|_| ()).map_err(|e| ConnectorError::Unreachable(describe(&e)))
        })
    }

    fn fetch<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
    ) -> BoxFuture<'a, Result<RecordStream, ConnectorError>> {
        Box::pin(async move { self.records(self.url(subject, category), || ConnectorError::SubjectNotFound).await })
    }

    fn capabilities(&self) -> Capabilities {
        let ops = &self.operations;
        Capabilities {
            rectify: ops.rectify.is_some(),
            erase: ops.erase.is_some(),
            restrict: ops.restrict.is_some() && ops.lift_restriction.is_some(),
            object: ops.object.is_some(),
            dated: ops.dated_before.is_some(),
            erase_dated: ops.erase_dated_before.is_some(),
        }
    }

    fn rectify<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        id_field: &'a str,
        record_id: &'a str,
        patch: &'a Record,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async move {
            let Some(op) = &self.operations.rectify else { return Err(ConnectorError::Unsupported("rectification")) };
            check_patch(id_field, patch)?;
            let body = serde_json::to_vec(patch).map_err(|e| ConnectorError::InvalidPatch(e.to_string()))?;
            let values = [("subject", subject.as_str()), ("category", category), ("id", record_id)];
            let write = Write { op, values: &values, body: Some((MERGE_PATCH, body.into())), idempotency_key };
            self.write(write, || ConnectorError::RecordNotFound).await
        })
    }

    fn erase<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(self.plain_write(self.operations.erase.as_ref(), "erasure", subject, category, idempotency_key))
    }

    fn restrict<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(self.plain_write(self.operations.restrict.as_ref(), "restriction", subject, category, idempotency_key))
    }

    fn lift_restriction<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let op = self.operations.lift_restriction.as_ref();
        Box::pin(self.plain_write(op, "lifting a restriction", subject, category, idempotency_key))
    }

    fn object<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        purpose: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async move {
            let Some(op) = &self.operations.object else { return Err(ConnectorError::Unsupported("objection")) };
            let body = serde_json::json!({ "purpose": purpose }).to_string().into_bytes();
            let values = [("subject", subject.as_str()), ("category", category), ("purpose", purpose)];
            let write = Write { op, values: &values, body: Some((JSON, body.into())), idempotency_key };
            self.write(write, super::http_writes::unknown_to_source).await
        })
    }

    fn dated_before<'a>(
        &'a self,
        category: &'a str,
        date_field: &'a str,
        before: Cutoff,
    ) -> BoxFuture<'a, Result<DatedStream, ConnectorError>> {
        Box::pin(async move {
            let Some(op) = &self.operations.dated_before else {
                return Err(ConnectorError::Unsupported("listing records by date"));
            };
            let before = before.text();
            let values = [("category", category), ("field", date_field), ("before", before.as_str())];
            let mut url = self.operation_url(op, &values)?;
            url.query_pairs_mut().append_pair("field", date_field).append_pair("before", &before);
            let rows = self.records(url, super::http_writes::unknown_to_source).await?;
            Ok(rows.map(|row| DatedRecords::from_row(row?, "the dated_before answer")).boxed())
        })
    }

    fn erase_dated_before<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        date_field: &'a str,
        before: Cutoff,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async move {
            let Some(op) = &self.operations.erase_dated_before else {
                return Err(ConnectorError::Unsupported("erasing records by date"));
            };
            let before = before.text();
            let values =
                [("subject", subject.as_str()), ("category", category), ("field", date_field), ("before", &before)];
            let write = Write { op, values: &values, body: None, idempotency_key };
            self.write(write, super::http_writes::unknown_to_source).await
        })
    }
}

/// The response body as a byte stream that fails once more than `limit` bytes arrived.
pub(super) fn capped(
    response: reqwest::Response,
    limit: u64,
) -> stream::BoxStream<'static, Result<bytes::Bytes, ConnectorError>> {
    let mut seen = 0u64;
    response
        .bytes_stream()
        .map_err(|e| ConnectorError::Unreachable(describe(&e)))
        .and_then(move |chunk| {
            seen += chunk.len() as u64;
            std::future::ready(if seen > limit { Err(ConnectorError::TooLarge { limit }) } else { Ok(chunk) })
        })
        .boxed()
}

async fn json_array(
    mut body: stream::BoxStream<'static, Result<bytes::Bytes, ConnectorError>>,
) -> Result<Vec<Record>, ConnectorError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    let values: Vec<serde_json::Value> = serde_json::from_slice(&bytes)
        .map_err(|e| ConnectorError::Malformed(format!("expected a JSON array of objects: {e}")))?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            serde_json::Value::Object(map) => Ok(map),
            _ => Err(ConnectorError::Malformed(format!("element {i} is not a JSON object"))),
        })
        .collect()
}

/// reqwest's Display omits the cause chain; the cause is what an operator needs.
pub(super) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
