//! One persistence concept: [`Db`] opens SQLite (the zero-config default) or PostgreSQL
//! (several instances on one database), and each table group has one store written once
//! with `$N` SQL that both backends run. A new table group adds a migration per backend
//! and a `*_store.rs` here, tested on both (`tests/it/store/<name>_store.rs`).

pub mod action_store;
pub mod audit_chain;
pub mod audit_store;
pub mod breach_store;
pub(crate) mod db;
pub mod document_store;
pub mod erasure_store;
pub mod export_store;
pub mod import_store;
mod migrations;
pub mod outbox_store;
pub mod pairing_store;
mod postgres;
pub mod relay_store;
pub mod request_store;
pub mod retention_store;
mod sqlite;

use std::path::Path;

use crate::config::DatabaseUrl;
pub use db::Db;
pub use export_store::{ExportRecord, ExportStore};

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

/// Opens PostgreSQL when a URL is given, else SQLite in `data_dir`, and applies the
/// migrations.
pub async fn open(database_url: Option<&DatabaseUrl>, data_dir: &Path) -> Result<Db, StoreError> {
    match database_url {
        Some(url) => Ok(Db::Postgres(postgres::connect(url).await?)),
        None => Ok(Db::Sqlite(sqlite::open(&data_dir.join(SQLITE_FILE)).await?)),
    }
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} does not fit the database")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} is negative")))
}
