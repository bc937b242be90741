//! The embedded default: SQLite in WAL mode in the data dir.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{ACQUIRE_TIMEOUT, StoreError, migrations};

/// Connections in the pool; SQLite serialises writers, so more would only queue.
const POOL_SIZE: u32 = 4;

/// Opens (creating when absent) and migrates the database file at `path`.
pub(super) async fn open(path: &Path) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(ACQUIRE_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    migrations::sqlite().run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(pool)
}
