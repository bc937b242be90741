//! Behavioural suites for the stores, one per table group, each run on SQLite always and on
//! PostgreSQL when `GDPR_GATEWAY_TEST_DATABASE_URL` is set (CI sets it).

use gdpr_gateway::config::DatabaseUrl;
use gdpr_gateway::store::{self, Db, ExportRecord, ExportStore, StoreError};

use crate::common::{PG_ENV, PgSchema};

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
fn export(id: &str, subject: &str, created_at: u64) -> ExportRecord {
    ExportRecord {
        id: id.into(),
        client_id: "portal".into(),
        subject_ref: subject.into(),
        purpose: "portability".into(),
        format: "zip".into(),
        categories: vec!["contact".into(), "notes – ü".into()],
        kid: "kid-1".into(),
        created_at,
    }
}

/// The export register's behaviour on every backend.
#[tokio::test]
async fn export_store_behaves_alike_on_every_backend() {
    for (db, backend) in each_backend().await {
        db.ping().await.unwrap();
        exports_suite(&ExportStore::new(db.clone())).await;
        backend.finish(db).await;
    }
}

async fn exports_suite(store: &ExportStore) {
    assert!(store.of_subject("alice", 10).await.unwrap().is_empty());

    let first = export("e1", "alice", 100);
    store.record(&first).await.unwrap();
    store.record(&export("e2", "alice", 300)).await.unwrap();
    store.record(&export("e3", "bob", 200)).await.unwrap();
    store.record(&export("e4", "alice", 200)).await.unwrap();

    let alice = store.of_subject("alice", 10).await.unwrap();
    assert_eq!(alice.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e4", "e1"]);
    assert_eq!(alice[2], first, "every field round-trips");
    assert_eq!(store.of_subject("alice", 2).await.unwrap().len(), 2);
    assert_eq!(store.of_subject("bob", 10).await.unwrap().len(), 1);
    assert!(store.of_subject("carol", 10).await.unwrap().is_empty());

    let duplicate = store.record(&export("e1", "bob", 999)).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)), "{duplicate:?}");
    let too_late = store.record(&export("e9", "bob", u64::MAX)).await.unwrap_err();
    assert!(matches!(too_late, StoreError::Corrupt(_)), "{too_late:?}");

    assert_eq!(store.delete_before(200).await.unwrap(), 1);
    assert_eq!(store.delete_before(200).await.unwrap(), 0);
    let left = store.of_subject("alice", 10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e2", "e4"]);
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

/// The relay's token redemption under 50 concurrent wallets, on PostgreSQL: exactly one wins.
#[tokio::test]
async fn postgres_relay_store_redeems_a_token_once() {
    let Ok(url) = std::env::var(PG_ENV) else {
        eprintln!("postgres_relay_store_redeems_a_token_once: {PG_ENV} not set (.ci/run sets it)");
        return;
    };
    let (schema, scoped) = PgSchema::create(&url).await;
    let db = store::open(Some(&scoped), dir_unused()).await.unwrap();
    crate::relay::redemption_race(gdpr_gateway::relay::RelayStore::new(db.clone())).await;
    Backend::Postgres(schema).finish(db).await;
}
