//! The file connector: `<root>/<subject_ref>/<category>.jsonl`, one JSON object a line.
//! Used by the demo and by organisations that export their systems to files.

use std::path::PathBuf;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use tokio::io::BufReader;

use super::{Connector, ConnectorError, RecordStream, json_lines};
use crate::protocol::subject::SubjectRef;

/// Read size: each read of a tokio file is a trip through the blocking pool, so reads are
/// large.
const READ_BUFFER_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct FileConnector {
    root: PathBuf,
}

impl FileConnector {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
}

impl FileConnector {
    /// The root, as its metadata says: a directory, or why the source is unusable.
    fn root_is_a_dir(&self, meta: std::io::Result<std::fs::Metadata>) -> Result<(), ConnectorError> {
        match meta {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(ConnectorError::Unreachable(format!("{} is not a directory", self.root.display()))),
            Err(e) => Err(ConnectorError::Unreachable(format!("{}: {e}", self.root.display()))),
        }
    }
}

impl Connector for FileConnector {
    fn check_setup(&self) -> Result<(), ConnectorError> {
        self.root_is_a_dir(std::fs::metadata(&self.root))
    }

    fn check_reachable(&self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move { self.root_is_a_dir(tokio::fs::metadata(&self.root).await) })
    }

    fn fetch<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
    ) -> BoxFuture<'a, Result<RecordStream, ConnectorError>> {
        Box::pin(async move {
            // Both segments are validated ids (no separators, no leading dot), so the
            // joined path cannot leave `root`.
            let dir = self.root.join(subject.as_str());
            if !tokio::fs::metadata(&dir).await.map(|m| m.is_dir()).unwrap_or(false) {
                // A missing root is the source gone, not a subject it does not know.
                self.check_reachable().await?;
                return Err(ConnectorError::SubjectNotFound);
            }
            match tokio::fs::File::open(dir.join(format!("{category}.jsonl"))).await {
                Ok(file) => Ok(json_lines::records(BufReader::with_capacity(READ_BUFFER_BYTES, file))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(stream::empty().boxed()),
                Err(e) => Err(e.into()),
            }
        })
    }
}
