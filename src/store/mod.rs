//! Persistence behind one `Store` trait, with an embedded SQLite backend (the zero-config
//! default) and a PostgreSQL backend for running several instances on one database.

pub mod db;
mod migrations;
pub mod postgres;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::clock::UnixSeconds;
use crate::config::DatabaseUrl;
pub use db::Db;

/// SQLite database file name inside the data dir.
pub const SQLITE_FILE: &str = "gateway.sqlite3";
/// How long to wait for a database connection before giving up.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Most rows one listing returns.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("database holds unreadable data: {0}")]
    Corrupt(String),
    #[error("migrating the database failed: {0}")]
    Migration(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(db.message().to_owned()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                Self::Corrupt(e.to_string())
            }
            _ => Self::Unavailable(e.to_string()),
        }
    }
}

/// One entry of the export register. Names what left the organisation, never contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    /// The bundle id (`jti`).
    pub id: String,
    /// The portal client (or connection) that asked.
    pub client_id: String,
    pub subject_ref: String,
    pub purpose: String,
    pub format: String,
    pub categories: Vec<String>,
    /// The signing key used.
    pub kid: String,
    pub created_at: UnixSeconds,
}

/// Everything the gateway persists. Both backends pass the same behavioural suite.
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers a query.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Adds an export to the register; a duplicate id is a `Conflict`.
    fn record_export<'a>(&'a self, export: &'a ExportRecord) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The subject's exports, newest first, at most `limit` (capped at [`MAX_PAGE`]).
    fn exports_for_subject<'a>(
        &'a self,
        subject_ref: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<ExportRecord>, StoreError>>;

    /// Deletes register entries created before `cutoff`; returns how many.
    fn delete_exports_before(&self, cutoff: UnixSeconds) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// Opens PostgreSQL when a URL is given, else SQLite in `data_dir`; applies migrations.
/// Returns the register store and the same pool for the stores written against [`Db`].
pub async fn open(database_url: Option<&DatabaseUrl>, data_dir: &Path) -> Result<(Arc<dyn Store>, Db), StoreError> {
    Ok(match database_url {
        Some(url) => {
            let store = postgres::PostgresStore::connect(url).await?;
            let db = Db::Postgres(store.pool().clone());
            (Arc::new(store), db)
        }
        None => {
            let store = sqlite::SqliteStore::open(&data_dir.join(SQLITE_FILE)).await?;
            let db = Db::Sqlite(store.pool().clone());
            (Arc::new(store), db)
        }
    })
}

/// Decodes an `exports` row from either backend (`categories` selected as JSON text).
fn export_from_row<'r, R>(row: &'r R) -> Result<ExportRecord, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let categories: String = row.try_get("categories")?;
    Ok(ExportRecord {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        subject_ref: row.try_get("subject_ref")?,
        purpose: row.try_get("purpose")?,
        format: row.try_get("format")?,
        categories: serde_json::from_str(&categories)
            .map_err(|e| StoreError::Corrupt(format!("exports.categories: {e}")))?,
        kid: row.try_get("kid")?,
        created_at: to_u64(row.try_get("created_at")?, "created_at")?,
    })
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} does not fit the database")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative")))
}
