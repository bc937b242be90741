//! The embedded default: SQLite in WAL mode in the data dir.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{ACQUIRE_TIMEOUT, StoreError, migrations};

/// Connections in the pool; SQLite serialises writers, so more would only queue.
const POOL_SIZE: u32 = 4;

/// Opens (creating when absent) and migrates the database file at `path`, readable by its
/// owner only (it holds imported bundles and personal references).
pub(super) async fn open(path: &Path) -> Result<SqlitePool, StoreError> {
    owner_only(path)?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(ACQUIRE_TIMEOUT)
        .foreign_keys(true)
        // Deleted rows are overwritten, not left in free pages: an erased person's data
        // must not stay readable in the file.
        .pragma("secure_delete", "ON");
    let pool = SqlitePoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    migrations::sqlite().run(&pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(pool)
}

/// Creates the database file 0600 before SQLite does, whatever the umask: SQLite gives its
/// `-wal` and `-shm` files the database file's mode. Files an older version left open to
/// group or others are narrowed to 0600.
#[cfg(unix)]
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |e: std::io::Error, p: &Path| StoreError::Unavailable(format!("cannot open {}: {e}", p.display()));
    let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    match created {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(e, path)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| failed(e, &file))?;
            tracing::warn!(file = %file.display(), "narrowed the database file from mode {mode:04o} to 0600");
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}
