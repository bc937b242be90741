//! Connectors fetch a data subject's records of one category from the system that holds
//! them. The gateway never stores personal data itself; it streams through.

mod file_source;
mod http_source;
mod json_lines;

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

pub use file_source::FileConnector;
pub use http_source::{HttpConnector, HttpSettings};

use crate::config::SourceConfig;
use crate::protocol::subject::SubjectRef;

/// Longest single record a connector accepts (one JSON object).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One record: a JSON object.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// Records in source order; an error ends the stream.
pub type RecordStream = BoxStream<'static, Result<Record, ConnectorError>>;

/// Why a connector could not deliver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    #[error("the source does not know this subject")]
    SubjectNotFound,
    #[error("the source does not support {0}")]
    Unsupported(&'static str),
    #[error("the source is unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Setup(String),
    #[error("the source refused our credentials: {0}")]
    Unauthorized(String),
    #[error("the source answered HTTP {0}")]
    Status(u16),
    #[error("the source sent more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the source sent malformed data: {0}")]
    Malformed(String),
    #[error("reading the source failed: {0}")]
    Io(std::io::Error),
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

/// A source of personal data. Fetch is required; erase and rectify are optional
/// operations that rights requests will use where a source supports them.
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

    /// Erases the subject's records of `category` at the source.
    fn erase<'a>(&'a self, _subject: &'a SubjectRef, _category: &'a str) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("erasure")) })
    }

    /// Applies `changes` to the subject's records of `category` at the source.
    fn rectify<'a>(
        &'a self,
        _subject: &'a SubjectRef,
        _category: &'a str,
        _changes: &'a Record,
    ) -> BoxFuture<'a, Result<(), ConnectorError>> {
        Box::pin(async { Err(ConnectorError::Unsupported("rectification")) })
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
                SourceConfig::Http { base_url, auth, timeout_seconds, max_response_bytes, .. } => {
                    Arc::new(http_source::HttpConnector::new(http_source::HttpSettings {
                        base_url: base_url.clone(),
                        auth: auth.clone(),
                        timeout: std::time::Duration::from_secs(*timeout_seconds),
                        max_response_bytes: *max_response_bytes,
                    })?)
                }
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
