//! Connectors fetch a data subject's records of one category from the system that holds
//! them, and carry out rights requests there where the source can (rectify, erase,
//! restrict, object). The gateway never stores personal data itself; it streams through.

mod dated_records;
mod file_source;
mod file_writes;
mod http_source;
mod http_writes;
mod json_lines;
mod merge_patch;
mod sql_queries;
mod sql_source;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

pub use dated_records::{Cutoff, DatedRecords, DatedStream};
pub use file_source::FileConnector;
pub use http_source::{HttpConnector, HttpSettings};
pub use merge_patch::merge_patch;
pub use sql_queries::MAX_SQL_RECORDS;
pub use sql_source::{SqlConnector, SqlSettings};

use crate::config::{HttpOperations, SourceConfig};
use crate::protocol::subject::SubjectRef;

/// Longest single record a connector accepts (one JSON object).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One record: a JSON object.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// Records in source order; an error ends the stream.
pub type RecordStream = BoxStream<'static, Result<Record, ConnectorError>>;

/// Why a connector could not deliver, or could not carry out a write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    #[error("the source does not know this subject")]
    SubjectNotFound,
    /// A rectification named a record the source does not hold.
    #[error("the source holds no record with that id")]
    RecordNotFound,
    #[error("the source does not support {0}")]
    Unsupported(&'static str),
    /// Refused connections, timeouts and broken transfers.
    #[error("the source is unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Setup(String),
    /// The source refused our credentials (HTTP 401 or 403), or no token was issued.
    #[error("the source refused our credentials: {0}")]
    Unauthorized(String),
    /// The source answered a 5xx status, or one a connector does not expect.
    #[error("the source answered HTTP {0}")]
    Status(u16),
    /// The source refused the operation for good (an HTTP 4xx other than 401, 403, 408,
    /// 429 and a 404 that names the subject or record): sending it again will not help.
    #[error("the source refused the operation: HTTP {status}: {detail}")]
    Rejected { status: u16, detail: String },
    /// A rectification whose patch would change the record's id, or leave no object.
    #[error("invalid patch: {0}")]
    InvalidPatch(String),
    #[error("the source sent more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the source sent malformed data: {0}")]
    Malformed(String),
    #[error("reading the source failed: {0}")]
    Io(std::io::Error),
    /// A database source refused a statement: `code` is the SQLSTATE (PostgreSQL) or the
    /// result code (SQLite). A serialization failure, deadlock, cancelled statement or busy
    /// database is `transient`; a violated constraint or a mistake in a configured query is
    /// not. The message never quotes a value.
    #[error("the database refused the statement ({code}): {message}")]
    Database { code: String, message: String, transient: bool },
}

impl ConnectorError {
    /// Whether the same operation may succeed when tried again later, unchanged: the
    /// source was unreachable or timed out, answered a 5xx (or 408 Request Timeout, 429
    /// Too Many Requests), a file operation failed at the operating system, or a database
    /// refused a statement for a passing reason (a deadlock, say). Everything
    /// else (an unknown subject or record, a refusal, bad credentials, a misconfiguration,
    /// malformed or oversized data, an unsupported operation) needs a person.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Io(_) => true,
            Self::Status(status) => *status >= 500 || matches!(status, 408 | 429),
            Self::Database { transient, .. } => *transient,
            Self::SubjectNotFound
            | Self::RecordNotFound
            | Self::Unsupported(_)
            | Self::Setup(_)
            | Self::Unauthorized(_)
            | Self::Rejected { .. }
            | Self::InvalidPatch(_)
            | Self::TooLarge { .. }
            | Self::Malformed(_) => false,
        }
    }
}

/// What a source supports besides fetch; anything else becomes a handler's task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// [`Connector::rectify`].
    pub rectify: bool,
    /// [`Connector::erase`].
    pub erase: bool,
    /// [`Connector::restrict`] and [`Connector::lift_restriction`], always both.
    pub restrict: bool,
    /// [`Connector::object`].
    pub object: bool,
    /// [`Connector::dated_before`]: which people have records dated before a cutoff.
    pub dated: bool,
    /// [`Connector::erase_dated_before`].
    pub erase_dated: bool,
}

/// What a source reports of a write it carried out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteDone {
    /// Records the operation affected, when the source says.
    pub records: Option<u64>,
    /// The source's own id of the operation, when it gives one.
    pub confirmation: Option<String>,
    /// For rectify: the record as the source holds it after the change, when it says.
    pub record: Option<Record>,
}

/// Whether a record's id member holds `record_id`: a JSON string equal to it, or a JSON
/// number whose text equals it.
pub(crate) fn id_matches(value: &serde_json::Value, record_id: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s == record_id,
        serde_json::Value::Number(n) => n.to_string() == record_id,
        _ => false,
    }
}

/// A rectification may not touch the member that identifies the record.
pub(crate) fn check_patch(id_field: &str, patch: &Record) -> Result<(), ConnectorError> {
    if patch.contains_key(id_field) {
        return Err(ConnectorError::InvalidPatch(format!("the patch may not change the id field {id_field:?}")));
    }
    Ok(())
}

impl From<std::io::Error> for ConnectorError {
    /// Byte streams carry our own errors wrapped in `io::Error`; unwrap them again so a
    /// size cap or a network failure keeps its name.
    fn from(e: std::io::Error) -> Self {
        if !e.get_ref().is_some_and(|inner| inner.is::<ConnectorError>()) {
            return Self::Io(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<ConnectorError>()) {
            Some(Ok(ours)) => *ours,
            _ => Self::Io(kind.into()),
        }
    }
}

/// A source of personal data. Fetch is required; the writes are optional operations that
/// rights requests use where [`Connector::capabilities`] says the source supports them.
///
/// Every write carries an idempotency key from the caller (`<request id>:<action seq>`):
/// the same key means the same operation, so a retry after a transient failure
/// ([`ConnectorError::is_transient`]) cannot apply it twice. A write a source does not
/// support answers [`ConnectorError::Unsupported`]; one for a subject the source does not
/// know, [`ConnectorError::SubjectNotFound`].
pub trait Connector: Send + Sync + 'static {
    /// The subject's records of `category`; an empty stream when there are none.
    fn fetch<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
    ) -> BoxFuture<'a, Result<RecordStream, ConnectorError>>;

    /// Whether the source is set up as configured, without reaching it: checked at start
    /// and by `check-config`, so a typo fails loudly instead of every export saying "we hold
    /// nothing about you".
    fn check_setup(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Whether the source can be reached now, for `readyz`.
    fn check_reachable(&self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async { self.check_setup() })
    }

    /// The writes this source carries out; none by default.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// The writes this source carries out for `category`: [`Connector::capabilities`]
    /// unless they differ by category (a `sql` source's are the queries configured for it).
    fn capabilities_for(&self, _category: &str) -> Capabilities {
        self.capabilities()
    }

    /// Applies JSON Merge Patch `patch` (RFC 7396) to the subject's one record of
    /// `category` whose `id_field` equals `record_id` ([`ConnectorError::RecordNotFound`]
    /// when there is none; [`ConnectorError::InvalidPatch`] when the patch names `id_field`).
    fn rectify<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _id_field: &'a str,
        _record_id: &'a str,
        _patch: &'a Record,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("rectification")) })
    }

    /// Erases every record of the subject in `category`; erasing what is already gone
    /// succeeds (records: `Some(0)`).
    fn erase<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("erasure")) })
    }

    /// Restricts processing of the subject's records of `category` (art. 18): the source
    /// keeps them but uses them for nothing else until the restriction is lifted.
    /// Restricting what is already restricted succeeds.
    fn restrict<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("restriction")) })
    }

    /// Lifts a restriction of [`Connector::restrict`]; lifting none succeeds.
    fn lift_restriction<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("lifting a restriction")) })
    }

    /// Records the subject's objection to `purpose` for `category` (art. 21): the source
    /// stops that processing. Objecting twice to the same purpose succeeds.
    fn object<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _purpose: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("objection")) })
    }

    /// Per person, the records of `category` whose `date_field` is before `before`, across
    /// everyone the source holds (retention at the source). Records without a readable
    /// date are not counted.
    fn dated_before<'a>(
        &'a self,
        _category: &'a str,
        _date_field: &'a str,
        _before: Cutoff,
    ) -> BoxFuture<'a, Result<DatedStream, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("listing records by date")) })
    }

    /// Erases the subject's records of `category` whose `date_field` is before `before`,
    /// and nothing else of theirs; erasing what is already gone succeeds.
    fn erase_dated_before<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _date_field: &'a str,
        _before: Cutoff,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("erasing records by date")) })
    }
}

/// The configured connectors by source id.
#[derive(Clone, Default)]
pub struct Connectors {
    by_source: HashMap<String, Arc<dyn Connector>>,
}

impl Connectors {
    /// The connectors of `sources`, each checked as set up ([`Connector::check_setup`]).
    pub fn from_config(sources: &[SourceConfig]) -> Result<Self, ConnectorError> {
        let mut by_source: HashMap<String, Arc<dyn Connector>> = HashMap::new();
        for source in sources {
            let connector: Arc<dyn Connector> = match source {
                SourceConfig::File { path, .. } => Arc::new(file_source::FileConnector::new(path.clone())),
                SourceConfig::Http { base_url, auth, timeout_seconds, max_response_bytes, operations, .. } => {
                    Arc::new(http_source::HttpConnector::new(http_source::HttpSettings {
                        base_url: base_url.clone(),
                        auth: auth.clone(),
                        timeout: std::time::Duration::from_secs(*timeout_seconds),
                        max_response_bytes: *max_response_bytes,
                        operations: HttpOperations::clone(operations),
                    })?)
                }
                SourceConfig::Sql { url, max_connections, timeout_seconds, queries, .. } => Arc::new(
                    sql_source::SqlConnector::new(sql_source::SqlSettings {
                        url: url.clone(),
                        max_connections: *max_connections,
                        timeout: std::time::Duration::from_secs(*timeout_seconds),
                        queries: queries.clone(),
                    })
                    .map_err(|e| ConnectorError::Setup(format!("source {}: {e}", source.id())))?,
                ),
            };
            connector.check_setup().map_err(|e| ConnectorError::Setup(format!("source {}: {e}", source.id())))?;
            by_source.insert(source.id().to_owned(), connector);
        }
        Ok(Self { by_source })
    }

    /// Every source that cannot be reached now, with why; all are asked at once.
    pub async fn unreachable(&self) -> Vec<(String, ConnectorError)> {
        let checks = self
            .by_source
            .iter()
            .map(|(id, connector)| async move { connector.check_reachable().await.err().map(|e| (id.clone(), e)) });
        let mut failed: Vec<_> = futures_util::future::join_all(checks).await.into_iter().flatten().collect();
        failed.sort_by(|a, b| a.0.cmp(&b.0));
        failed
    }

    pub fn insert(&mut self, source_id: impl Into<String>, connector: Arc<dyn Connector>) {
        self.by_source.insert(source_id.into(), connector);
    }

    pub fn source(&self, source_id: &str) -> Option<&Arc<dyn Connector>> {
        self.by_source.get(source_id)
    }
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_source.keys()).finish()
    }
}
