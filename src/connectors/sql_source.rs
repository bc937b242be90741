//! The `sql` connector: a PostgreSQL or SQLite database read and written by the queries
//! an organisation configures per category, so data kept in a database needs no service
//! in front of it. Every value is bound to a placeholder (`sql_queries`), never spliced.
//!
//! - fetch streams the rows of the category's fetch query, in a read-only transaction on
//!   PostgreSQL, from a task that holds the connection while the records are read (the
//!   stream ends it when dropped). No rows is an empty stream: a query cannot tell an
//!   unknown person from one without records, so a `sql` source never answers
//!   [`ConnectorError::SubjectNotFound`];
//! - each write runs its query in a transaction; rectify must change exactly one record
//!   (none is [`ConnectorError::RecordNotFound`], more are rolled back), then the fetch
//!   query is read again for the record as it now is;
//! - the pool is made at first use and connects then: the gateway starts while the
//!   database is down, and [`Connector::check_reachable`] tells readyz.
//!
//! Writes are idempotent only as the configured queries are (`DELETE` twice deletes
//! nothing the second time; `INSERT … ON CONFLICT DO NOTHING`); the idempotency key is
//! not used. Error messages never carry a bound value: they are personal data.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteError, SqlitePool, SqlitePoolOptions};
use tokio::sync::mpsc;

use super::sql_queries::{Bound, Inputs, RowReader, bind_pg, bind_sqlite, unbound_field, values};
use super::{
    Capabilities, Connector, ConnectorError, Cutoff, DatedRecords, DatedStream, Record, RecordStream, WriteDone,
    check_patch, id_matches,
};
use crate::config::{DatabaseUrl, SqlBackend, SqlOperation, SqlQueries, SqlStatement};
use crate::protocol::subject::SubjectRef;

/// Longest a readiness probe of the database may take.
const REACHABILITY_TIMEOUT: Duration = Duration::from_secs(3);
/// Records read ahead of the consumer of a fetch.
const FETCH_BUFFER: usize = 64;

/// What a `sql` connector needs from the config.
#[derive(Debug, Clone)]
pub struct SqlSettings {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    /// Longest wait for a connection, a statement, or the next row.
    pub timeout: Duration,
    /// The queries of each category, by category id.
    pub queries: BTreeMap<String, SqlQueries>,
}

pub struct SqlConnector {
    target: Target,
    pool: OnceLock<Pool>,
    max_connections: u32,
    timeout: Duration,
    categories: HashMap<String, Vec<(SqlOperation, SqlStatement)>>,
}

enum Target {
    Postgres(PgConnectOptions),
    Sqlite(SqliteConnectOptions),
}

#[derive(Clone)]
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// What the fetch task sends: records, then the end or what went wrong.
enum Item {
    Record(Record),
    End,
    Failed(ConnectorError),
}

impl SqlConnector {
    /// Parses the URL and prepares every query; connects at first use.
    pub fn new(settings: SqlSettings) -> Result<Self, ConnectorError> {
        let url = settings.url.expose();
        let bad_url = |e: sqlx::Error| ConnectorError::Setup(format!("url: not a usable database URL: {e}"));
        let (backend, target) = match SqlBackend::of_url(url) {
            Some(SqlBackend::Postgres) => {
                (SqlBackend::Postgres, Target::Postgres(PgConnectOptions::from_str(url).map_err(bad_url)?))
            }
            Some(SqlBackend::Sqlite) => {
                (SqlBackend::Sqlite, Target::Sqlite(SqliteConnectOptions::from_str(url).map_err(bad_url)?))
            }
            None => return Err(ConnectorError::Setup("url: must be a postgres:// or sqlite: URL".into())),
        };
        if settings.max_connections == 0 || settings.timeout.is_zero() {
            return Err(ConnectorError::Setup("max_connections and timeout_seconds must be at least 1".into()));
        }
        let mut categories = HashMap::new();
        for (category, queries) in settings.queries {
            let prepared = queries
                .prepare(backend)
                .map_err(|(key, m)| ConnectorError::Setup(format!("queries.{category}.{key}: {m}")))?;
            categories.insert(category, prepared);
        }
        let (max_connections, timeout) = (settings.max_connections, settings.timeout);
        Ok(Self { target, pool: OnceLock::new(), max_connections, timeout, categories })
    }

    /// The pool, made at the first call (within the runtime: the pool's upkeep is a task).
    fn pool(&self) -> Pool {
        let make = || match &self.target {
            Target::Postgres(options) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.timeout)
                    .connect_lazy_with(options.clone()),
            ),
            Target::Sqlite(options) => Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.timeout)
                    .connect_lazy_with(options.clone()),
            ),
        };
        self.pool.get_or_init(make).clone()
    }

    /// The category's query for `op`: `Ok(None)` when the category has none for it.
    fn statement(&self, category: &str, op: SqlOperation) -> Result<Option<&SqlStatement>, ConnectorError> {
        let statements = self.categories.get(category).ok_or_else(|| {
            ConnectorError::Setup(format!("this sql source has no queries for category {category:?}"))
        })?;
        Ok(statements.iter().find(|(o, _)| *o == op).map(|(_, s)| s))
    }

    fn capabilities_of(statements: &[(SqlOperation, SqlStatement)]) -> Capabilities {
        let has = |op: SqlOperation| statements.iter().any(|(o, _)| *o == op);
        Capabilities {
            rectify: has(SqlOperation::Rectify),
            erase: has(SqlOperation::Erase),
            restrict: has(SqlOperation::Restrict) && has(SqlOperation::LiftRestriction),
            object: has(SqlOperation::Object),
            dated: has(SqlOperation::DatedBefore),
            erase_dated: has(SqlOperation::EraseDatedBefore),
        }
    }

    /// The rows of `statement` as records, read by a task of their own.
    async fn records(&self, statement: &SqlStatement, values: Vec<Bound>) -> Result<RecordStream, ConnectorError> {
        let (sender, mut receiver) = mpsc::channel(FETCH_BUFFER);
        let (sql, timeout) = (statement.text.clone(), self.timeout);
        match self.pool() {
            Pool::Postgres(pool) => tokio::spawn(pg_fetch(pool, sql, values, timeout, sender)),
            Pool::Sqlite(pool) => tokio::spawn(sqlite_fetch(pool, sql, values, timeout, sender)),
        };
        // The first answer tells a database that cannot be reached before any record is sent.
        let first = match receiver.recv().await {
            Some(Item::Record(record)) => record,
            Some(Item::End) => return Ok(stream::empty().boxed()),
            Some(Item::Failed(e)) => return Err(e),
            None => return Err(ended_early()),
        };
        let rest = stream::unfold(Some(receiver), |receiver| async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(Item::Record(record)) => Some((Ok(record), Some(receiver))),
                Some(Item::End) => None,
                Some(Item::Failed(e)) => Some((Err(e), None)),
                None => Some((Err(ended_early()), None)),
            }
        });
        Ok(stream::once(async move { Ok(first) }).chain(rest).boxed())
    }

    /// Runs a write in a transaction and commits it; for rectify, only if it changed
    /// exactly one record. Answers the records affected.
    async fn write(&self, statement: &SqlStatement, values: Vec<Bound>, rectify: bool) -> Result<u64, ConnectorError> {
        let check = |n: u64| match n {
            1 => Ok(()),
            _ if !rectify => Ok(()),
            0 => Err(ConnectorError::RecordNotFound),
            n => Err(ConnectorError::Malformed(format!("the rectify query changed {n} records; it was rolled back"))),
        };
        // A rectification's placeholders change type with the patch, so PostgreSQL
        // prepares it afresh each time rather than reuse a cached statement.
        let persistent = !rectify;
        let run = async {
            match self.pool() {
                Pool::Postgres(pool) => {
                    let mut tx = pool.begin().await.map_err(from_sqlx)?;
                    let query = bind_pg(sqlx::query(&statement.text), values).persistent(persistent);
                    let n = query.execute(&mut *tx).await.map_err(from_sqlx)?.rows_affected();
                    check(n)?;
                    tx.commit().await.map_err(from_sqlx)?;
                    Ok(n)
                }
                Pool::Sqlite(pool) => {
                    let mut tx = pool.begin().await.map_err(from_sqlx)?;
                    let query = bind_sqlite(sqlx::query(&statement.text), values).persistent(persistent);
                    let n = query.execute(&mut *tx).await.map_err(from_sqlx)?.rows_affected();
                    check(n)?;
                    tx.commit().await.map_err(from_sqlx)?;
                    Ok(n)
                }
            }
        };
        tokio::time::timeout(self.timeout, run).await.map_err(|_| timed_out(self.timeout))?
    }

    /// A write whose only value is the subject: erase, restrict, lift.
    async fn plain_write(
        &self,
        subject: &SubjectRef,
        category: &str,
        op: SqlOperation,
        name: &'static str,
        purpose: Option<&str>,
    ) -> Result<WriteDone, ConnectorError> {
        let Some(statement) = self.statement(category, op)? else { return Err(ConnectorError::Unsupported(name)) };
        let inputs = Inputs { purpose, ..Inputs::subject(subject.as_str()) };
        let n = self.write(statement, values(statement, &inputs), false).await?;
        Ok(WriteDone { records: Some(n), ..WriteDone::default() })
    }

    /// The record of `category` whose `id_field` is `record_id`, as the fetch query reads it.
    async fn read_back(
        &self,
        subject: &SubjectRef,
        category: &str,
        id_field: &str,
        record_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let mut records = self.fetch(subject, category).await?;
        while let Some(record) = records.next().await {
            let record = record?;
            if record.get(id_field).is_some_and(|v| id_matches(v, record_id)) {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }
}

impl Connector for SqlConnector {
    /// The URL was parsed and the queries prepared in [`SqlConnector::new`]; nothing here
    /// reaches the database.
    fn check_setup(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    fn check_reachable(&self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            let limit = REACHABILITY_TIMEOUT.min(self.timeout);
            let probe = async {
                match self.pool() {
                    Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(&pool).await.map(drop),
                    Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(&pool).await.map(drop),
                }
            };
            tokio::time::timeout(limit, probe).await.map_err(|_| timed_out(limit))?.map_err(from_sqlx)
        })
    }

    fn fetch<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
    ) -> BoxFuture<'a, Result<RecordStream, ConnectorError>> {
        Box::pin(async move {
            let Some(statement) = self.statement(category, SqlOperation::Fetch)? else {
                return Err(ConnectorError::Setup(format!("category {category:?} has no fetch query")));
            };
            self.records(statement, values(statement, &Inputs::subject(subject.as_str()))).await
        })
    }

    /// The writes every category of the source has queries for; see
    /// [`Connector::capabilities_for`] for one category's.
    fn capabilities(&self) -> Capabilities {
        let mut all = self.categories.values().map(|s| Self::capabilities_of(s));
        let first = all.next().unwrap_or_default();
        all.fold(first, |a, b| Capabilities {
            rectify: a.rectify && b.rectify,
            erase: a.erase && b.erase,
            restrict: a.restrict && b.restrict,
            object: a.object && b.object,
            dated: a.dated && b.dated,
            erase_dated: a.erase_dated && b.erase_dated,
        })
    }

    fn capabilities_for(&self, category: &str) -> Capabilities {
        self.categories.get(category).map(|s| Self::capabilities_of(s)).unwrap_or_default()
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
        Box::pin(async move {
            let Some(statement) = self.statement(category, SqlOperation::Rectify)? else {
                return Err(ConnectorError::Unsupported("rectification"));
            };
            check_patch(id_field, patch)?;
            if let Some(field) = unbound_field(statement, patch) {
                return Err(ConnectorError::InvalidPatch(format!(
                    "the rectify query of {category:?} has no parameter :{field}, so it would not change it"
                )));
            }
            let inputs = Inputs { id: Some(record_id), patch: Some(patch), ..Inputs::subject(subject.as_str()) };
            let n = self.write(statement, values(statement, &inputs), true).await?;
            // The change is committed: failing to read it back does not undo it.
            let record = self.read_back(subject, category, id_field, record_id).await.unwrap_or_else(|e| {
                tracing::warn!(category, error = %e, "reading a rectified record back failed");
                None
            });
            Ok(WriteDone { records: Some(n), confirmation: None, record })
        })
    }

    fn erase<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(self.plain_write(subject, category, SqlOperation::Erase, "erasure", None))
    }

    fn restrict<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(self.plain_write(subject, category, SqlOperation::Restrict, "restriction", None))
    }

    fn lift_restriction<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        let op = SqlOperation::LiftRestriction;
        Box::pin(self.plain_write(subject, category, op, "lifting a restriction", None))
    }

    fn object<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        purpose: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(self.plain_write(subject, category, SqlOperation::Object, "objection", Some(purpose)))
    }
    fn dated_before<'a>(
        &'a self,
        category: &'a str,
        _date_field: &'a str,
        before: Cutoff,
    ) -> BoxFuture<'a, Result<DatedStream, ConnectorError>> {
        Box::pin(async move {
            let Some(statement) = self.statement(category, SqlOperation::DatedBefore)? else {
                return Err(ConnectorError::Unsupported("listing records by date"));
            };
            let before = before.text();
            let inputs = Inputs { before: Some(&before), ..Inputs::subject("") };
            let rows = self.records(statement, values(statement, &inputs)).await?;
            Ok(rows.map(|row| DatedRecords::from_row(row?, "the dated_before query")).boxed())
        })
    }

    fn erase_dated_before<'a>(
        &'a self,
        subject: &'a SubjectRef,
        category: &'a str,
        _date_field: &'a str,
        before: Cutoff,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<WriteDone, ConnectorError>> {
        Box::pin(async move {
            let Some(statement) = self.statement(category, SqlOperation::EraseDatedBefore)? else {
                return Err(ConnectorError::Unsupported("erasing records by date"));
            };
            let before = before.text();
            let inputs = Inputs { before: Some(&before), ..Inputs::subject(subject.as_str()) };
            let n = self.write(statement, values(statement, &inputs), false).await?;
            Ok(WriteDone { records: Some(n), ..WriteDone::default() })
        })
    }
}

async fn pg_fetch(pool: PgPool, sql: String, values: Vec<Bound>, timeout: Duration, out: mpsc::Sender<Item>) {
    let result = async {
        let mut tx = within(timeout, pool.begin()).await?;
        // A fetch query reads; the database refuses one that would write.
        within(timeout, sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx)).await?;
        let mut rows = bind_pg(sqlx::query(&sql), values).fetch(&mut *tx);
        let mut reader = RowReader::default();
        while let Some(row) = tokio::time::timeout(timeout, rows.next()).await.map_err(|_| timed_out(timeout))? {
            let record = reader.pg(&row.map_err(from_sqlx)?)?;
            if out.send(Item::Record(record)).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    let _ = out.send(result.map_or_else(Item::Failed, |()| Item::End)).await;
}

async fn sqlite_fetch(pool: SqlitePool, sql: String, values: Vec<Bound>, timeout: Duration, out: mpsc::Sender<Item>) {
    let result = async {
        let mut connection = within(timeout, pool.acquire()).await?;
        let mut rows = bind_sqlite(sqlx::query(&sql), values).fetch(&mut *connection);
        let mut reader = RowReader::default();
        while let Some(row) = tokio::time::timeout(timeout, rows.next()).await.map_err(|_| timed_out(timeout))? {
            let record = reader.sqlite(&row.map_err(from_sqlx)?)?;
            if out.send(Item::Record(record)).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    let _ = out.send(result.map_or_else(Item::Failed, |()| Item::End)).await;
}

async fn within<T>(timeout: Duration, work: impl Future<Output = Result<T, sqlx::Error>>) -> Result<T, ConnectorError> {
    tokio::time::timeout(timeout, work).await.map_err(|_| timed_out(timeout))?.map_err(from_sqlx)
}

fn timed_out(limit: Duration) -> ConnectorError {
    ConnectorError::Unreachable(format!("the database did not answer within {} s", limit.as_secs_f32()))
}

fn ended_early() -> ConnectorError {
    ConnectorError::Io(std::io::Error::other("reading the database's rows stopped unexpectedly"))
}

/// What a driver error means for the gateway: no connection is [`ConnectorError::Unreachable`];
/// a statement the database refused is [`ConnectorError::Database`].
fn from_sqlx(e: sqlx::Error) -> ConnectorError {
    match e {
        sqlx::Error::Database(db) => database_error(db.as_ref()),
        sqlx::Error::Io(e) => ConnectorError::Unreachable(format!("the database connection failed: {e}")),
        sqlx::Error::Tls(e) => ConnectorError::Unreachable(format!("TLS to the database failed: {e}")),
        sqlx::Error::PoolTimedOut => ConnectorError::Unreachable("no database connection within the timeout".into()),
        e @ (sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_)) => {
            ConnectorError::Unreachable(e.to_string())
        }
        e @ (sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) => ConnectorError::Malformed(e.to_string()),
        e => ConnectorError::Setup(format!("the database driver failed: {e}")),
    }
}

/// PostgreSQL's SQLSTATE classes whose messages name objects (constraints, columns,
/// relations) and never a value; a data exception (22…) may quote one, and is withheld.
const PG_CLASSES_SHOWN: &[&str] = &["08", "0A", "23", "25", "28", "3D", "3F", "40", "42", "53", "54", "55", "57", "58"];

fn database_error(db: &dyn DatabaseError) -> ConnectorError {
    if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
        let code = pg.code().to_owned();
        let class = code.get(..2).unwrap_or_default();
        let message = if PG_CLASSES_SHOWN.contains(&class) {
            pg.message().to_owned()
        } else if class == "22" {
            "a value does not fit its column (message withheld: it may quote the value)".to_owned()
        } else {
            "message withheld: it may quote a value".to_owned()
        };
        return match class {
            "08" | "57" if code != "57014" => ConnectorError::Unreachable(format!("{message} ({code})")),
            "28" => ConnectorError::Unauthorized(format!("{message} ({code})")),
            _ => {
                let transient = matches!(class, "40" | "53" | "58") || matches!(code.as_str(), "55P03" | "57014");
                ConnectorError::Database { code, message, transient }
            }
        };
    }
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if db.try_downcast_ref::<SqliteError>().is_some() {
        // SQLite's primary result code is the extended code's low byte.
        let primary = code.parse::<u32>().map_or(0, |c| c & 0xff);
        let message = db.message().to_owned();
        return match primary {
            // SQLITE_CANTOPEN, SQLITE_NOTADB: the file is missing or not a database.
            14 | 26 => ConnectorError::Unreachable(format!("{message} ({code})")),
            // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR: another writer, or the disk.
            _ => ConnectorError::Database { transient: matches!(primary, 5 | 6 | 10), code, message },
        };
    }
    ConnectorError::Database { code, message: "message withheld".into(), transient: false }
}
