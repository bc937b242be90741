//! Behavioural suites for the stores, one module per table group, each run on SQLite always
//! and on PostgreSQL when `GDPR_GATEWAY_TEST_DATABASE_URL` is set (CI sets it); and the
//! backends' own behaviour (reopening, failures).

mod audit_store;
mod export_store;
mod import_store;
mod outbox_store;
mod pairing_store;
mod relay_store;
mod request_store;

use gdpr_gateway::config::DatabaseUrl;
use gdpr_gateway::store::{self, Db, ExportStore, StoreError};

use crate::common::{PG_ENV, PgSchema};
use export_store::export;

/// A fresh database on each backend this run can reach, with what keeps it alive.
pub async fn each_backend() -> Vec<(Db, Backend)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store::open(None, dir.path()).await.unwrap();
    let mut all = vec![(sqlite, Backend::Sqlite { _dir: dir })];
    if let Ok(url) = std::env::var(PG_ENV) {
        let (schema, scoped) = PgSchema::create(&url).await;
        all.push((store::open(Some(&scoped), dir_unused()).await.unwrap(), Backend::Postgres(schema)));
    }
    all
}

fn dir_unused() -> &'static std::path::Path {
    std::path::Path::new("/nonexistent-unused")
}

/// Keeps a test database until the test ends.
pub enum Backend {
    Sqlite { _dir: tempfile::TempDir },
    Postgres(PgSchema),
}

impl Backend {
    pub async fn finish(self, db: Db) {
        match (self, db) {
            (Self::Postgres(schema), Db::Postgres(pool)) => {
                pool.close().await;
                schema.drop().await;
            }
            (_, Db::Sqlite(pool)) => pool.close().await,
            _ => {}
        }
    }
}
#[tokio::test]
async fn sqlite_keeps_data_across_reopen_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::open(None, dir.path()).await.unwrap();
    ExportStore::new(db.clone()).record(&export("e1", "alice", 100), &[]).await.unwrap();
    let Db::Sqlite(pool) = db else { unreachable!("no URL opens SQLite") };
    pool.close().await;
    // Reopening applies no migration twice and keeps the rows.
    let again = store::open(None, dir.path()).await.unwrap();
    assert_eq!(ExportStore::new(again.clone()).of_subject("alice", 10).await.unwrap().len(), 1);
    let Db::Sqlite(pool) = again else { unreachable!() };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_open_fails_cleanly_on_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let err = store::open(None, &not_a_dir).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn postgres_connect_failure_is_clear_and_hides_the_password() {
    let url = DatabaseUrl::new("postgres://gw:s3cret-pw@127.0.0.1:1/nothing");
    let err = store::open(Some(&url), dir_unused()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)));
    assert!(text.contains("127.0.0.1:1") && !text.contains("s3cret-pw"), "{text}");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The database holds imported bundles and personal references: only its owner may read
/// it, its WAL and shared-memory files included, whatever the umask or the dir's mode.
#[tokio::test]
async fn sqlite_files_are_the_owners_alone_even_in_an_open_dir() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = store::open(None, dir.path()).await.unwrap();
    ExportStore::new(db.clone()).record(&export("e1", "alice", 100), &[]).await.unwrap();
    for name in ["gateway.sqlite3", "gateway.sqlite3-wal", "gateway.sqlite3-shm"] {
        assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
    }
    let Db::Sqlite(pool) = db else { unreachable!("no URL opens SQLite") };
    pool.close().await;

    // A file an older version left readable by others is narrowed at the next start.
    let file = dir.path().join("gateway.sqlite3");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    store::open(None, dir.path()).await.unwrap();
    assert_eq!(mode(&file), 0o600);
}

/// A data dir others may write to is refused: they could swap the keys or the database.
#[test]
fn a_data_dir_others_may_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    for open in [0o775, 0o777, 0o1777] {
        let dir = parent.path().join(format!("data-{open:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(open)).unwrap();
        let err = gdpr_gateway::serve::ensure_writable_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("writable by group or others") && err.contains("chmod 700"), "{err}");
    }
    let fine = parent.path().join("data-755");
    std::fs::create_dir(&fine).unwrap();
    std::fs::set_permissions(&fine, std::fs::Permissions::from_mode(0o755)).unwrap();
    gdpr_gateway::serve::ensure_writable_dir(&fine).unwrap();
    let fresh = parent.path().join("new/data");
    gdpr_gateway::serve::ensure_writable_dir(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
}
