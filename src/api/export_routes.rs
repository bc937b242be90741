//! `POST /v1/subjects/{subject_ref}/exports`: the portal's download button.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::AppState;
use super::portal_auth::PortalClient;
use super::subject_routes::SubjectPath;
use super::views::{ExportRequest, Format};
use crate::bundle::package::WriteError;
use crate::bundle::{self};
use crate::gateway::ExportRequest as DomainRequest;
use crate::gateway::PackageError;
use crate::http::problem_responses::problems;
use crate::http::{ApiError, ApiJson};
use crate::protocol::message::BundleForm;

impl From<Format> for BundleForm {
    fn from(format: Format) -> Self {
        match format {
            Format::Jwt => Self::Jwt,
            Format::Zip => Self::Zip,
        }
    }
}

problems!(CreateExportProblems: InvalidParameter, MalformedBody, PayloadTooLarge, MissingBearerToken, InvalidBearerToken, SubjectNotFound, CategoryNotFound, UnsupportedMediaType, CategoryNotPortable, BundleTooLarge, UpstreamUnavailable, SourceUnavailable);

/// Builds, signs and returns the subject's bundle, and records the export (who, when,
/// which categories, bundle id; never the contents).
#[utoipa::path(
    post, path = "/v1/subjects/{subject_ref}/exports", tag = "portal",
    security(("portal_token" = [])),
    params(("subject_ref" = String, Path, description = "The organisation's reference for the data subject", pattern = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")),
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The signed bundle: a compact JWS (`application/jwt`) or a zip package (`application/zip`), streamed",
            content(
                (String = "application/jwt", example = json!("eyJhbGciOiJFZERTQSIsImtpZCI6Im1OM3AiLCJ0eXAiOiJnZHByLWJ1bmRsZStqd3QifQ.eyJpc3MiOiJodHRwczovL3pvbm5lc3Ryb29tLmV4YW1wbGUifQ.c2lnbmF0dXJl")),
                (String = "application/zip")
            ),
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"gdpr-bundle-<bundle id>.jwt\"` (`.zip` for a package)"))),
        CreateExportProblems
    )
)]
pub(crate) async fn create_export(
    State(state): State<Arc<AppState>>,
    client: PortalClient,
    SubjectPath(subject): SubjectPath,
    ApiJson(request): ApiJson<ExportRequest>,
) -> Result<Response, ApiError> {
    let asked = DomainRequest { purpose: request.purpose, categories: request.categories, form: request.format.into() };
    let export = state.gateway.prepare_export(&client.caller(), subject, &asked).await?;
    let file_name = format!("gdpr-bundle-{}.{}", export.record.id, export.record.format);
    let (media_type, body) = match request.format {
        Format::Jwt => {
            let (token, record) = state.gateway.signed_jwt(export).await?;
            state.gateway.record_export(&record).await?;
            (bundle::JWT_MEDIA_TYPE, Body::from(token))
        }
        Format::Zip => {
            // Recorded before the first byte leaves: a download that breaks off was still begun.
            state.gateway.record_export(&export.record).await?;
            (bundle::package::MEDIA_TYPE, stream_package(&state, export))
        }
    };
    let disposition = format!("attachment; filename=\"{file_name}\"");
    Ok(([(CONTENT_TYPE, media_type.to_owned()), (CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// Chunks in flight between the package writer and the HTTP body; with [`CHUNK_BYTES`]
/// this bounds the memory one download holds.
const CHANNEL_CHUNKS: usize = 8;
const CHUNK_BYTES: usize = 64 * 1024;

/// Runs the blocking package writer and streams its output as the response body. A
/// failure mid-way ends the body with an error, so the client sees a broken download,
/// never a short package that looks whole.
fn stream_package(state: &AppState, export: crate::gateway::PreparedExport) -> Body {
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
    let request_id = crate::http::request_id::current();
    let bundle_id = export.record.id.clone();
    let gateway = state.gateway.clone();
    let writer = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK_BYTES) };
    tokio::spawn(async move {
        let result = gateway.write_package(export, writer).await;
        match result {
            Ok(_) => {}
            Err(PackageError::Spool(e) | PackageError::Write(WriteError::Io(e)))
                if e.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                tracing::warn!(request_id = %request_id, bundle_id = %bundle_id, "the client left during the zip download");
            }
            Err(e) => {
                tracing::error!(request_id = %request_id, bundle_id = %bundle_id, "zip package failed mid-stream: {e}");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
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
