//! The relay's HTTP client, shared by the gateway (as a controller) and the wallet SDK:
//! every request carries a fresh `DPoP` proof signed by the caller's key, and every refusal
//! comes back as the relay's `error_code`. No server dependencies.

pub mod blob_transfer;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::clock::Clock;
use crate::jose::{SigningKeyPair, dpop};
use crate::protocol::blob;
use crate::protocol::relay_wire::{
    ConnectRequest, Connected, ConnectionInfo, JOSE_MEDIA_TYPE, MAX_WAIT_SECS, MailboxItem, MailboxItems,
    OpenConnection, Posted, RegisterToken, StoredBlob,
};
use crate::protocol::{ErrorCode, RemoteErrorCode};

/// How long a request may take beyond any `?wait=` it asked for.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a blob upload or download may take in all.
pub const BLOB_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest answer read from the relay.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Why a relay call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    #[error("relay unreachable: {0}")]
    Transport(String),
    #[error("relay refused ({status}, {error_code}): {detail}")]
    Refused { status: u16, error_code: RemoteErrorCode, detail: String },
    #[error("relay answered something unexpected: {0}")]
    Protocol(String),
}

impl RelayError {
    /// The relay's `error_code`, when it refused.
    pub fn error_code(&self) -> Option<&RemoteErrorCode> {
        match self {
            Self::Refused { error_code, .. } => Some(error_code),
            _ => None,
        }
    }

    /// True when the relay refused with `code`.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.error_code().is_some_and(|c| c.is(code))
    }
}

/// A client of one relay, acting with one key.
#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
    key: Arc<SigningKeyPair>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient").field("base", &self.base).field("kid", &self.key.kid()).finish()
    }
}

impl RelayClient {
    /// `base` is the relay's base URL (`https://relay.example`, or `…/relay` all-in-one).
    pub fn new(base: &str, key: Arc<SigningKeyPair>, clock: Arc<dyn Clock>) -> Result<Self, RelayError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        Ok(Self { http, base: base.trim_end_matches('/').to_owned(), key, clock })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn key(&self) -> &SigningKeyPair {
        &self.key
    }

    /// The signed trust list (compact JWS); verify it against the operator's pinned keys.
    pub async fn trust_list(&self) -> Result<String, RelayError> {
        let response = self.send(Method::GET, "/v1/trust-list", None, None, Duration::ZERO).await?;
        text(response).await
    }

    /// The operator's public keys (check one against a pin before using it).
    pub async fn operator_jwks(&self) -> Result<crate::jose::Jwks, RelayError> {
        json(self.send(Method::GET, "/v1/operator-jwks", None, None, Duration::ZERO).await?).await
    }

    /// Controller: registers a connect token by its digest.
    pub async fn register_token(&self, request: &RegisterToken) -> Result<(), RelayError> {
        let body = json_body(request)?;
        self.send(Method::POST, "/v1/connect-tokens", None, Some(body), Duration::ZERO).await?;
        Ok(())
    }

    /// Wallet: redeems a connect token; this client's key becomes the connection's key.
    pub async fn connect(&self, request: &ConnectRequest) -> Result<Connected, RelayError> {
        let body = json_body(request)?;
        json(self.send(Method::POST, "/v1/connect", None, Some(body), Duration::ZERO).await?).await
    }

    /// Wallet: opens a connection to a listed controller, without a token.
    pub async fn open_connection(&self, request: &OpenConnection) -> Result<Connected, RelayError> {
        let body = json_body(request)?;
        json(self.send(Method::POST, "/v1/connections", None, Some(body), Duration::ZERO).await?).await
    }

    pub async fn connection(&self, id: &str) -> Result<ConnectionInfo, RelayError> {
        json(self.send(Method::GET, &format!("/v1/connections/{id}"), None, None, Duration::ZERO).await?).await
    }

    pub async fn revoke(&self, id: &str) -> Result<(), RelayError> {
        self.send(Method::DELETE, &format!("/v1/connections/{id}"), None, None, Duration::ZERO).await?;
        Ok(())
    }

    /// Posts a compact JWE to the other party of connection `id`.
    pub async fn post(&self, id: &str, envelope: &str) -> Result<Posted, RelayError> {
        let body = (JOSE_MEDIA_TYPE, envelope.as_bytes().to_vec());
        json(
            self.send(Method::POST, &format!("/v1/connections/{id}/messages"), None, Some(body), Duration::ZERO)
                .await?,
        )
        .await
    }

    /// This side's unacknowledged items of connection `id`, waiting up to `wait_secs`.
    pub async fn messages(&self, id: &str, wait_secs: u64) -> Result<Vec<MailboxItem>, RelayError> {
        let wait = wait_secs.min(MAX_WAIT_SECS);
        let path = format!("/v1/connections/{id}/messages");
        let response = self.send(Method::GET, &path, Some(wait), None, Duration::from_secs(wait)).await?;
        Ok(json::<MailboxItems>(response).await?.items)
    }

    /// Controller: items across all its connections, waiting up to `wait_secs`.
    pub async fn inbox(&self, wait_secs: u64) -> Result<Vec<MailboxItem>, RelayError> {
        let wait = wait_secs.min(MAX_WAIT_SECS);
        let response = self.send(Method::GET, "/v1/inbox", Some(wait), None, Duration::from_secs(wait)).await?;
        Ok(json::<MailboxItems>(response).await?.items)
    }

    /// Acknowledges one item, which deletes it at the relay.
    pub async fn ack(&self, connection_id: &str, message_id: &str) -> Result<(), RelayError> {
        let path = format!("/v1/connections/{connection_id}/messages/{message_id}");
        self.send(Method::DELETE, &path, None, None, Duration::ZERO).await?;
        Ok(())
    }

    /// Uploads a blob for the other side of connection `id`, streaming `chunks` as they
    /// come; `size` is their total length. An error from the stream aborts the upload.
    pub async fn put_blob<S>(&self, id: &str, size: u64, chunks: S) -> Result<StoredBlob, RelayError>
    where
        S: futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + Sync + 'static,
    {
        let url = format!("{}/v1/connections/{id}/blobs", self.base);
        let proof = dpop::sign(&self.key, "POST", &url, self.clock.now());
        let body = reqwest::Body::wrap_stream(chunks);
        let request = self
            .http
            .post(&url)
            .header(dpop::HEADER, proof)
            .header(reqwest::header::CONTENT_TYPE, blob::MEDIA_TYPE)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .timeout(BLOB_TIMEOUT)
            .body(body);
        let response = request.send().await.map_err(|e| RelayError::Transport(e.to_string()))?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        json(response).await
    }

    /// Starts fetching a blob stored for this side; read the answer's body as a stream.
    pub async fn blob(&self, id: &str, blob_id: &str) -> Result<reqwest::Response, RelayError> {
        let path = format!("/v1/connections/{id}/blobs/{blob_id}");
        self.send(Method::GET, &path, None, None, BLOB_TIMEOUT).await
    }

    pub async fn delete_blob(&self, id: &str, blob_id: &str) -> Result<(), RelayError> {
        let path = format!("/v1/connections/{id}/blobs/{blob_id}");
        self.send(Method::DELETE, &path, None, None, Duration::ZERO).await?;
        Ok(())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        wait: Option<u64>,
        body: Option<(&str, Vec<u8>)>,
        extra_time: Duration,
    ) -> Result<reqwest::Response, RelayError> {
        let url = format!("{}{path}", self.base);
        let proof = dpop::sign(&self.key, method.as_str(), &url, self.clock.now());
        let mut request =
            self.http.request(method, &url).header(dpop::HEADER, proof).timeout(REQUEST_TIMEOUT + extra_time);
        if let Some(wait) = wait {
            request = request.query(&[("wait", wait)]);
        }
        if let Some((media_type, bytes)) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, media_type).body(bytes);
        }
        let response = request.send().await.map_err(|e| RelayError::Transport(e.to_string()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(refusal(response).await)
    }
}

fn json_body<T: serde::Serialize>(value: &T) -> Result<(&'static str, Vec<u8>), RelayError> {
    serde_json::to_vec(value).map(|bytes| ("application/json", bytes)).map_err(|e| RelayError::Protocol(e.to_string()))
}

async fn capped(response: reqwest::Response) -> Result<Vec<u8>, RelayError> {
    if response.content_length().is_some_and(|len| len > MAX_RESPONSE_BYTES as u64) {
        return Err(RelayError::Protocol(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
    }
    let bytes = response.bytes().await.map_err(|e| RelayError::Transport(e.to_string()))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(RelayError::Protocol(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
    }
    Ok(bytes.to_vec())
}

async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, RelayError> {
    let bytes = capped(response).await?;
    serde_json::from_slice(&bytes).map_err(|e| RelayError::Protocol(e.to_string()))
}

async fn text(response: reqwest::Response) -> Result<String, RelayError> {
    String::from_utf8(capped(response).await?).map_err(|_| RelayError::Protocol("the answer is not UTF-8".into()))
}

async fn refusal(response: reqwest::Response) -> RelayError {
    let status = response.status();
    let body: serde_json::Value = match capped(response).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(e) => return e,
    };
    let field = |name: &str| body.get(name).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let error_code = field("error_code");
    if error_code.is_empty() {
        let reason = status.canonical_reason().unwrap_or("error");
        let error_code = RemoteErrorCode::Unknown("unknown".into());
        return RelayError::Refused { status: status.as_u16(), error_code, detail: reason.into() };
    }
    RelayError::Refused {
        status: status.as_u16(),
        error_code: RemoteErrorCode::parse(&error_code),
        detail: field("detail"),
    }
}

/// True for answers worth retrying later (the relay or the network, not the request).
pub fn is_transient(error: &RelayError) -> bool {
    match error {
        RelayError::Transport(_) => true,
        RelayError::Refused { status, .. } => *status == StatusCode::TOO_MANY_REQUESTS.as_u16() || *status >= 500,
        RelayError::Protocol(_) => false,
    }
}
