//! The gateway's portal API as this backend calls it: always with the portal token, and
//! answers passed on to the browser unchanged (status, content type, body streamed).

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use reqwest::Method;
use serde_json::Value;

use crate::problem::{self, Failure};

/// A JSON call must answer within this; a download only has to keep moving.
const JSON_TIMEOUT: Duration = Duration::from_secs(30);
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

pub struct Gateway {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Gateway {
    pub fn new(base: &str, token: String) -> Result<Self, String> {
        let parsed = url::Url::parse(base).map_err(|e| format!("--gateway {base:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("--gateway {base:?}: must be an http(s) URL"));
        }
        if token.trim().is_empty() {
            return Err("--portal-token is empty".into());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token: token.trim().to_owned(), http })
    }

    /// The gateway's base URL as configured; the browser loads QR codes and events from it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request with the portal token. `Err` is already the 502 the browser gets.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<reqwest::Response, Failure> {
        let timeout = if path.contains("/exports") { DOWNLOAD_TIMEOUT } else { JSON_TIMEOUT };
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token).timeout(timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.map_err(|e| {
            eprintln!("portal: gateway call {path} failed: {e}");
            Box::new(problem::gateway_unavailable(&describe(&e)))
        })
    }

    /// A JSON answer read whole, for the backend to pick from; a gateway error comes back
    /// as the response to pass on.
    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let answer = self.send(method, path, body).await?;
        if !answer.status().is_success() {
            return Err(Box::new(pass_on(answer)));
        }
        answer
            .json::<Value>()
            .await
            .map_err(|e| Box::new(problem::gateway_unavailable(&format!("unreadable answer: {e}"))))
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "it did not answer in time".into()
    } else if error.is_connect() {
        "connection refused or unreachable".into()
    } else {
        error.to_string()
    }
}

/// The gateway's answer as ours: same status and content type, the body streamed through
/// as it arrives (a zip package may be large; nothing is buffered whole).
pub fn pass_on(answer: reqwest::Response) -> Response {
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type =
        answer.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let length = answer.content_length();
    let mut response = Response::new(Body::from_stream(answer.bytes_stream()));
    *response.status_mut() = status;
    if let Some(value) = content_type.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    if let Some(length) = length {
        response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}
