//! `POST /v1/subjects/{subject_ref}/exports`: the portal's download button.

use std::io::Write;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;
use utoipa::ToSchema;

use super::auth::PortalClient;
use super::subjects::SubjectPath;
use super::{ApiError, AppState};

use crate::bundle::package::WriteError;
use crate::bundle::{self, Purpose};
use crate::connectors::RecordStream;
use crate::gateway::exports::MAX_REQUESTED_CATEGORIES;
use crate::gateway::package::PackageError;
use crate::gateway::{exports, package};
use crate::protocol::{ErrorCode, Problem};
use crate::store::ExportRecord;

/// The bundle's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A compact JWS (`application/jwt`).
    Jwt,
    /// A BagIt zip package with `signature.jwt` (`application/zip`).
    Zip,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Zip => "zip",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    pub format: Format,
    pub purpose: Purpose,
    /// Category ids; all the purpose allows when absent.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

/// Builds, signs and returns the subject's bundle, and records the export (who, when,
/// which categories, bundle id; never the contents).
#[utoipa::path(
    post, path = "/v1/subjects/{subject_ref}/exports", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, description = "The organisation's reference for the data subject")),
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The signed bundle: a compact JWS (`application/jwt`) or a zip package (`application/zip`), streamed", content_type = "application/jwt", body = String),
        (status = 400, description = "invalid_parameter, malformed_body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing_bearer_token, invalid_bearer_token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "subject_not_found, category_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "category_not_portable, bundle_too_large", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "upstream_unavailable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_export(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    body: Result<Json<ExportRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    if request.categories.as_ref().is_some_and(|c| c.len() > MAX_REQUESTED_CATEGORIES) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("name at most {MAX_REQUESTED_CATEGORIES} categories"),
        ));
    }
    if request.format == Format::Jwt {
        let requested = request.categories.as_deref();
        let (token, record) = exports::signed_jwt(&state, &subject, request.purpose, requested, &client.id).await?;
        state.store.record_export(&record).await?;
        let disposition = format!("attachment; filename=\"gdpr-bundle-{}.jwt\"", record.id);
        let headers = [(CONTENT_TYPE, bundle::JWT_MEDIA_TYPE.to_owned()), (CONTENT_DISPOSITION, disposition)];
        return Ok((headers, token).into_response());
    }
    let categories = exports::select(state.inventory.categories(), request.purpose, request.categories.as_deref())?;
    let open = exports::open(&state, &subject, &categories).await?;
    let jti = uuid::Uuid::new_v4().to_string();
    let record = ExportRecord {
        id: jti.clone(),
        client_id: client.id,
        subject_ref: subject.as_str().to_owned(),
        purpose: request.purpose.as_str().to_owned(),
        format: request.format.as_str().to_owned(),
        categories: categories.iter().map(|c| c.id.clone()).collect(),
        kid: state.keyring.active_signing().kid().to_owned(),
        created_at: state.clock.now(),
    };
    // Recorded before the first byte leaves: a download that breaks off was still begun.
    state.store.record_export(&record).await?;
    let request = package::PackageRequest { subject, purpose: request.purpose, jti: jti.clone() };
    let ids = open.into_iter().map(|(c, stream)| (c.id.clone(), stream)).collect();
    let body = stream_package(state.clone(), request, ids);
    let disposition = format!("attachment; filename=\"gdpr-bundle-{jti}.zip\"");
    Ok(([(CONTENT_TYPE, bundle::package::MEDIA_TYPE.to_owned()), (CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// Chunks in flight between the package writer and the HTTP body; with [`CHUNK_BYTES`]
/// this bounds the memory one download holds.
const CHANNEL_CHUNKS: usize = 8;
const CHUNK_BYTES: usize = 64 * 1024;

/// Runs the blocking package writer and streams its output as the response body. A
/// failure mid-way ends the body with an error, so the client sees a broken download,
/// never a short package that looks whole.
fn stream_package(
    state: Arc<AppState>,
    request: package::PackageRequest,
    open: Vec<(String, Option<RecordStream>)>,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    let handle = tokio::runtime::Handle::current();
    let request_id = super::request_id::current();
    tokio::task::spawn_blocking(move || {
        // Ids come from the inventory in `state`, so every lookup succeeds.
        let open =
            open.into_iter().filter_map(|(id, stream)| state.inventory.category(&id).map(|c| (c, stream))).collect();
        let writer = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK_BYTES) };
        let result = package::write(&state, &handle, &request, open, writer).and_then(|mut w| Ok(w.flush()?));
        match result {
            Ok(()) => {}
            Err(PackageError::Spool(e) | PackageError::Write(WriteError::Io(e)))
                if e.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                tracing::warn!(request_id = %request_id, bundle_id = %request.jti, "the client left during the zip download");
            }
            Err(e) => {
                tracing::error!(request_id = %request_id, bundle_id = %request.jti, "zip package failed mid-stream: {e}");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A blocking `Write` that hands full chunks to the async response body.
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
