//! The file connector: `<root>/<subject_ref>/<category>.jsonl`, one JSON object a line.
//! Used by the demo and by organisations that export their systems to files.
//!
//! It carries out every write (`file_writes`), each file replaced atomically:
//! - rectify rewrites `<category>.jsonl` with the one record patched;
//! - erase removes `<category>.jsonl`;
//! - restrict writes the marker `<category>.restricted` (`{"since": <unix seconds>}`), which
//!   tells the systems that use the files to leave the category alone; lifting the
//!   restriction removes it. A fetch still returns a restricted category's records: access
//!   is still a right;
//! - object adds the purpose to `<category>.objections.json` (a JSON array of purposes),
//!   which the systems that use the files honour;
//! - retention erases the records of a category dated before a cutoff, line by line as
//!   rectify does, and finds them by reading every subject's file of the category.
//!
//! Erasure keeps the markers: they are the organisation's record of what it may still do.
//! One gateway process writes a source: writes are serialised within the process, not
//! across processes. The idempotency key is not needed: every write is idempotent as is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use tokio::io::BufReader;
use tokio::sync::Mutex;

use super::{
    Capabilities, Connector, ConnectorError, Cutoff, DatedRecords, DatedStream, Record, RecordStream, WriteDone,
    file_writes, json_lines,
};
use crate::protocol::subject::SubjectRef;

/// Read size: each read of a tokio file is a trip through the blocking pool, so reads are
/// large.
const READ_BUFFER_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct FileConnector {
    root: PathBuf,
    /// Held for the whole of each write, across clones.
    writes: Arc<Mutex<()>>,
}

impl FileConnector {
    pub fn new(root: PathBuf) -> Self {
        Self { root, writes: Arc::default() }
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

    /// The subject's directory, or that the source does not know the subject.
    async fn subject_dir(&self, subject: &SubjectRef) -> Result<PathBuf, ConnectorError> {
        // A subject ref is a validated id (no separators, no leading dot), so the joined
        // path cannot leave `root`.
        let dir = self.root.join(subject.as_str());
        if !tokio::fs::metadata(&dir).await.map(|m| m.is_dir()).unwrap_or(false) {
            // A missing root is the source gone, not a subject it does not know.
            self.check_reachable().await?;
            return Err(ConnectorError::SubjectNotFound);
        }
        Ok(dir)
    }

    /// Runs `write` on the subject's directory in the blocking pool, under the write lock
    /// (which the blocking task keeps even if the caller stops waiting).
    fn write<'a, F>(&'a self, subject: &'a SubjectRef, write: F) -> BoxFuture<'a, Result<WriteDone, ConnectorError>>
    where
        F: FnOnce(&Path) -> Result<WriteDone, ConnectorError> + Send + 'static,
    {
        Box::pin(async move {
            let dir = self.subject_dir(subject).await?;
            let guard = self.writes.clone().lock_owned().await;
            let task = tokio::task::spawn_blocking(move || {
                let _guard = guard;
                write(&dir)
            });
            task.await.map_err(|e| ConnectorError::Io(std::io::Error::other(e)))?
        })
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
            // The category is an inventory id, as safe a path segment as the subject.
            let dir = self.subject_dir(subject).await?;
            match tokio::fs::File::open(dir.join(format!("{category}.jsonl"))).await {
                Ok(file) => Ok(json_lines::records(BufReader::with_capacity(READ_BUFFER_BYTES, file))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(stream::empty().boxed()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { rectify: true, erase: true, restrict: true, object: true, dated: true, erase_dated: true }
    }

    fn dated_before<'a>(
        &'a self,
        category: &'a str,
        date_field: &'a str,
        before: Cutoff,
    ) -> BoxFuture<'a, Result<DatedStream, ConnectorError>> {
        let (root, category, date_field) = (self.root.clone(), category.to_owned(), date_field.to_owned());
        Box::pin(async move {
            self.check_reachable().await?;
            let scan = tokio::task::spawn_blocking(move || dated_in(&root, &category, &date_field, before));
            let found = scan.await.map_err(|e| ConnectorError::Io(std::io::Error::other(e)))??;
            Ok(stream::iter(found.into_iter().map(Ok)).boxed())
        })
    }

    fn erase_dated_before<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        date_field: &'a str,
        before: Cutoff,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let (category, date_field) = (category.to_owned(), date_field.to_owned());
        self.write(subject, move |dir| file_writes::erase_dated(dir, &category, &date_field, before))
    }

    fn rectify<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        id_field: &'a str,
        record_id: &'a str,
        patch: &'a Record,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let (category, id_field, record_id, patch) =
            (category.to_owned(), id_field.to_owned(), record_id.to_owned(), patch.clone());
        self.write(subject, move |dir| file_writes::rectify(dir, &category, &id_field, &record_id, &patch))
    }

    fn erase<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let category = category.to_owned();
        self.write(subject, move |dir| file_writes::erase(dir, &category))
    }

    fn restrict<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let category = category.to_owned();
        self.write(subject, move |dir| file_writes::restrict(dir, &category))
    }

    fn lift_restriction<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let category = category.to_owned();
        self.write(subject, move |dir| file_writes::lift_restriction(dir, &category))
    }

    fn object<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        purpose: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let (category, purpose) = (category.to_owned(), purpose.to_owned());
        self.write(subject, move |dir| file_writes::object(dir, &category, &purpose))
    }
}

/// Every subject directory under `root` with records of `category` dated before `before`.
/// Entries that are no subject reference (dot files, stray files) are passed over.
fn dated_in(
    root: &Path,
    category: &str,
    date_field: &str,
    before: Cutoff,
) -> Result<Vec<DatedRecords>, ConnectorError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let Some(subject) = entry.file_name().to_str().and_then(|name| SubjectRef::parse(name).ok()) else { continue };
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some((records, oldest)) = file_writes::count_dated(&entry.path(), category, date_field, before)? {
            if records > 0 {
                found.push(DatedRecords { subject, records, oldest });
            }
        }
    }
    Ok(found)
}
