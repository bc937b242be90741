//! Behavioural suites for the stores, one module per table group, each run on SQLite always
//! and on PostgreSQL when `GDPR_GATEWAY_TEST_DATABASE_URL` is set (CI sets it); and the
//! backends' own behaviour (reopening, failures).

mod export_store;
mod import_store;
mod pairing_store;
mod relay_store;

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
    ExportStore::new(db.clone()).record(&export("e1", "alice", 100)).await.unwrap();
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
