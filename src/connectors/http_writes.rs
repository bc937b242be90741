//! The HTTP connector's writes: each configured operation (`[sources.operations]`) sent as
//! its method to its path under `base_url`, with the fetch's credentials and an
//! `Idempotency-Key` header, so the source can recognise a retry.
//!
//! The answer: 2xx is done, its optional JSON object body
//! `{"records": n, "confirmation": "…", "record": {…}}` read for what it says; 401 and 403
//! are [`ConnectorError::Unauthorized`]; 404 is the record unknown (rectify) or the subject
//! unknown (the others); 408 and 429 are [`ConnectorError::Status`] (worth a retry); any
//! other 4xx is [`ConnectorError::Rejected`] with the start of the body as its detail; the
//! rest is [`ConnectorError::Status`]. Redirects are never followed.

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::http_source::{HttpConnector, capped, describe};
use super::{ConnectorError, WriteDone};
use crate::config::{HttpMethod, HttpOperation};
use crate::protocol::subject::SubjectRef;

const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Bytes of a refusal's body read for its detail.
const DETAIL_READ_BYTES: u64 = 4096;
/// Characters of a refusal's body kept as its detail.
const DETAIL_CHARS: usize = 300;

/// One write to send.
pub(super) struct Write<'a> {
    pub op: &'a HttpOperation,
    /// The path's placeholder values.
    pub values: &'a [(&'static str, &'a str)],
    /// Content type and body, if the operation has one.
    pub body: Option<(&'static str, Bytes)>,
    pub idempotency_key: &'a str,
}

impl HttpConnector {
    /// A write whose only values are the subject and category: erase, restrict, lift.
    pub(super) async fn plain_write(
        &self,
        op: Option<&HttpOperation>,
        name: &'static str,
        subject: &SubjectRef,
        category: &str,
        idempotency_key: &str,
    ) -> Result<WriteDone, ConnectorError> {
        let Some(op) = op else { return Err(ConnectorError::Unsupported(name)) };
        let values = [("subject", subject.as_str()), ("category", category)];
        self.write(Write { op, values: &values, body: None, idempotency_key }, unknown_to_source).await
    }

    /// Sends `write`; a 404 answers `not_found()`.
    ///
    /// A write's 404 never counts as "nothing held": a wrong route answers 404 too, and an
    /// erasure reported done on it would be false. It is a handler's task.
    pub(super) async fn write(
        &self,
        write: Write<'_>,
        not_found: fn() -> ConnectorError,
    ) -> Result<WriteDone, ConnectorError> {
        let url = self.operation_url(write.op, write.values)?;
        let key = HeaderValue::from_str(write.idempotency_key)
            .map_err(|_| ConnectorError::Setup("the idempotency key is not a valid header value".into()))?;
        let mut response = self.send_write(&write, &url, &key, false).await?;
        if response.status() == StatusCode::UNAUTHORIZED && self.renews_tokens() {
            // The cached token may have been revoked early: renew once. The source refused
            // the first try, so sending it again cannot apply it twice.
            response = self.send_write(&write, &url, &key, true).await?;
        }
        match response.status() {
            s if s.is_success() => Ok(self.write_done(response).await),
            s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                Err(ConnectorError::Unauthorized(format!("HTTP {}", s.as_u16())))
            }
            StatusCode::NOT_FOUND => Err(not_found()),
            s @ (StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) => {
                Err(ConnectorError::Status(s.as_u16()))
            }
            s if s.is_client_error() => {
                let status = s.as_u16();
                Err(ConnectorError::Rejected { status, detail: self.detail(response).await })
            }
            s => Err(ConnectorError::Status(s.as_u16())),
        }
    }

    /// `base_url` with `op`'s path appended, each of `values` within its segment.
    pub(super) fn operation_url(
        &self,
        op: &HttpOperation,
        values: &[(&'static str, &str)],
    ) -> Result<url::Url, ConnectorError> {
        let value = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let allowed: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
        let segments = op.segments(&allowed, value).map_err(ConnectorError::Setup)?;
        // The URL library drops `.` and `..` segments, which would address another resource.
        if let Some(dots) = segments.iter().find(|s| matches!(s.as_str(), "." | "..")) {
            return Err(ConnectorError::Setup(format!("{dots:?} cannot be a path segment of {:?}", op.path)));
        }
        let mut url = self.base_url.clone();
        // `cannot_be_a_base` was ruled out in `new`, so segments can be pushed.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&segments);
        }
        Ok(url)
    }

    async fn send_write(
        &self,
        write: &Write<'_>,
        url: &url::Url,
        key: &HeaderValue,
        renew: bool,
    ) -> Result<reqwest::Response, ConnectorError> {
        let method = match write.op.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
            HttpMethod::Delete => Method::DELETE,
        };
        let mut request =
            self.client.request(method, url.clone()).header(ACCEPT, "application/json").header(IDEMPOTENCY_KEY, key);
        if let Some((content_type, body)) = &write.body {
            request = request.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        if let Some(token) = self.bearer(renew).await? {
            request = request.bearer_auth(token.expose());
        }
        request.send().await.map_err(|e| ConnectorError::Unreachable(describe(&e)))
    }

    /// What a successful answer says. The status is what counts: the write is done, so a
    /// body that is too large or not the expected object is logged and ignored.
    async fn write_done(&self, response: reqwest::Response) -> WriteDone {
        let mut body = capped(response, self.max_response_bytes);
        let mut bytes = Vec::new();
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => {
                    tracing::warn!(error = %e, "a source's answer to a write could not be read; ignored");
                    return WriteDone::default();
                }
            }
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return WriteDone::default();
        }
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(&bytes) else {
            tracing::warn!("a source answered a write with something other than a JSON object; ignored");
            return WriteDone::default();
        };
        WriteDone {
            records: answer.get("records").and_then(Value::as_u64),
            confirmation: answer.get("confirmation").and_then(Value::as_str).map(str::to_owned),
            record: answer.get("record").and_then(Value::as_object).cloned(),
        }
    }

    /// The start of a refusal's body, as text on one line.
    async fn detail(&self, response: reqwest::Response) -> String {
        let limit = DETAIL_READ_BYTES.min(self.max_response_bytes);
        let mut body = response.bytes_stream();
        let mut bytes = Vec::new();
        while (bytes.len() as u64) < limit {
            match body.next().await {
                Some(Ok(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let detail: String = text.chars().take(DETAIL_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
        detail.trim().to_owned()
    }
}

/// A 404 to a write: the source (or a route that is not its own) does not know the target.
pub(super) fn unknown_to_source() -> ConnectorError {
    ConnectorError::Rejected { status: 404, detail: "the source answered 404 Not Found".to_owned() }
}
