//! The operations that carry out a request (`request_actions`) and the receipt signed when
//! it ends (`request_receipts`). Actions are planned in the transaction that moves the
//! request into execution; a receipt is written in the one that ends it, so each request
//! has one receipt, signed once.

use sqlx::Row;

use crate::bundle::Evidence;
use crate::clock::UnixSeconds;
pub use crate::protocol::rights::{ActionStatus, Operation};
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::outbox_store::{Notice, insert_notices};
use crate::store::request_store::{RequestEvent, append_event, insert_event};
use crate::store::{StoreError, to_i64, to_u64};

/// One operation of a request on one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub request_id: String,
    /// 1, 2, … within the request; with the request id, the source's idempotency key.
    pub seq: u32,
    pub category: String,
    pub operation: Operation,
    /// What the operation needs besides the category: the record and patch of a
    /// rectification, the purpose of an objection.
    pub argument: Option<serde_json::Value>,
    pub status: ActionStatus,
    /// The ground of a refusal, a handler's account of a task done by hand, or why an
    /// operation became a task.
    pub note: Option<String>,
    pub evidence: Evidence,
    pub updated_at: UnixSeconds,
    /// `gateway` or `staff:<id>`.
    pub updated_by: String,
}

impl Action {
    /// The key a source sees on every attempt of this operation, so a retry is not a second
    /// operation.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.request_id, self.seq)
    }
}

/// A request's receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// The compact JWS; `None` once the person it names was forgotten.
    pub token: Option<String>,
    pub token_sha256: String,
    pub signed_at: UnixSeconds,
    /// When the person's wallet said it received and verified the receipt.
    pub acknowledged_at: Option<UnixSeconds>,
    /// When staff were told no wallet acknowledged it in time.
    pub flagged_at: Option<UnixSeconds>,
}

/// Adds actions inside a transaction another store opened, so they commit with the step
/// that planned them.
macro_rules! insert_actions {
    ($tx:expr, $actions:expr) => {
        for action in $actions {
            let argument = action.argument.as_ref().map(serde_json::Value::to_string);
            let evidence = $crate::store::action_store::evidence_text(&action.evidence)?;
            sqlx::query(
                "INSERT INTO request_actions
                   (request_id, seq, category, operation, argument, status, note, evidence, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&action.request_id)
            .bind(i64::from(action.seq))
            .bind(&action.category)
            .bind(action.operation.as_str())
            .bind(argument)
            .bind(action.status.as_str())
            .bind(&action.note)
            .bind(evidence)
            .bind($crate::store::to_i64(action.updated_at, "updated_at")?)
            .bind(&action.updated_by)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use insert_actions;

/// Adds a request's receipt inside the transaction that ends the request.
macro_rules! insert_receipt {
    ($tx:expr, $request_id:expr, $token:expr, $signed_at:expr) => {
        sqlx::query("INSERT INTO request_receipts (request_id, token, token_sha256, signed_at) VALUES ($1, $2, $3, $4)")
            .bind($request_id)
            .bind($token)
            .bind($crate::store::action_store::token_digest($token))
            .bind($crate::store::to_i64($signed_at, "signed_at")?)
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use insert_receipt;

/// `sha256:<hex>` of a receipt token: what the register keeps of it once the person is
/// forgotten, so a receipt they show later is still recognised.
pub(crate) fn token_digest(token: &str) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
}

pub(crate) fn evidence_text(evidence: &Evidence) -> Result<Option<String>, StoreError> {
    if evidence.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(evidence).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const COLUMNS: &str = "request_id, seq, category, operation, argument, status, note, evidence, updated_at, updated_by";

/// How an operation settled, or why it became a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement<'a> {
    pub status: ActionStatus,
    pub note: Option<&'a str>,
    pub evidence: &'a Evidence,
    pub at: UnixSeconds,
    pub by: &'a str,
}

#[derive(Debug, Clone)]
pub struct ActionStore {
    db: Db,
}

impl ActionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// A request's operations, in order.
    pub async fn of_request(&self, request_id: &str) -> Result<Vec<Action>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM request_actions WHERE request_id = $1 ORDER BY seq");
        on_db!(&self.db, pool => {
            let rows = sqlx::query(&sql).bind(request_id).fetch_all(pool).await?;
            rows.iter().map(action_from_row).collect()
        })
    }

    pub async fn action(&self, request_id: &str, seq: u32) -> Result<Option<Action>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM request_actions WHERE request_id = $1 AND seq = $2");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(request_id).bind(i64::from(seq)).fetch_optional(pool).await?;
            row.as_ref().map(action_from_row).transpose()
        })
    }

    /// Moves operation `seq` to `settlement` if it is still in one of `from`; false when
    /// it no longer is (another attempt or a handler settled it first).
    pub async fn settle(
        &self,
        request_id: &str,
        seq: u32,
        from: &[ActionStatus],
        settlement: &Settlement<'_>,
    ) -> Result<bool, StoreError> {
        let evidence = evidence_text(settlement.evidence)?;
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", 8 + i)).collect();
        let sql = format!(
            "UPDATE request_actions SET status = $1, note = $2, evidence = $3, updated_at = $4, updated_by = $5
             WHERE request_id = $6 AND seq = $7 AND status IN ({})",
            placeholders.join(", ")
        );
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql)
                .bind(settlement.status.as_str())
                .bind(settlement.note)
                .bind(evidence)
                .bind(to_i64(settlement.at, "at")?)
                .bind(settlement.by)
                .bind(request_id)
                .bind(i64::from(seq));
            for status in from {
                query = query.bind(status.as_str());
            }
            Ok(query.execute(pool).await?.rows_affected() == 1)
        })
    }

    pub async fn receipt(&self, request_id: &str) -> Result<Option<StoredReceipt>, StoreError> {
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "SELECT token, token_sha256, signed_at, acknowledged_at, flagged_at FROM request_receipts
                 WHERE request_id = $1",
            )
            .bind(request_id)
            .fetch_optional(pool)
            .await?;
            row.map(|row| {
                let time = |column: &'static str| -> Result<Option<UnixSeconds>, StoreError> {
                    let value: Option<i64> = row.try_get(column)?;
                    value.map(|t| to_u64(t, column)).transpose()
                };
                Ok(StoredReceipt {
                    token: row.try_get("token")?,
                    token_sha256: row.try_get("token_sha256")?,
                    signed_at: to_u64(row.try_get("signed_at")?, "signed_at")?,
                    acknowledged_at: time("acknowledged_at")?,
                    flagged_at: time("flagged_at")?,
                })
            })
            .transpose()
        })
    }

    /// Records when the person acknowledged the receipt, with a history line naming who
    /// (`actor`); the first acknowledgement counts.
    pub async fn acknowledge_receipt(
        &self,
        request_id: &str,
        at: UnixSeconds,
        actor: &str,
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let line = gateway_line(at, actor, "receipt acknowledged", None);
        let at = to_i64(at, "at")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE request_receipts SET acknowledged_at = $1 WHERE request_id = $2 AND acknowledged_at IS NULL",
            )
            .bind(at)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            append_event!(tx, request_id, line);
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }
}

impl ActionStore {
    /// Requests whose receipt was signed before `signed_before`, never acknowledged and not
    /// yet flagged: at most `limit`, oldest first.
    pub async fn unacknowledged(&self, signed_before: UnixSeconds, limit: u32) -> Result<Vec<String>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT request_id FROM request_receipts
                 WHERE acknowledged_at IS NULL AND flagged_at IS NULL AND signed_at < $1
                 ORDER BY signed_at LIMIT $2",
            )
            .bind(to_i64(signed_before, "signed_before")?)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(row.try_get("request_id")?)).collect()
        })
    }

    /// Flags request `request_id`'s receipt as unacknowledged, with a history line and the
    /// `notices` that tell staff, in one transaction; false when it was acknowledged or
    /// flagged meanwhile.
    pub async fn flag_unacknowledged(
        &self,
        request_id: &str,
        at: UnixSeconds,
        notices: &[Notice],
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let detail = "no wallet acknowledged the receipt: send it another way";
        let line = gateway_line(at, "gateway", "receipt unacknowledged", Some(detail));
        let at = to_i64(at, "at")?;
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE request_receipts SET flagged_at = $1
                 WHERE request_id = $2 AND acknowledged_at IS NULL AND flagged_at IS NULL",
            )
            .bind(at)
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            append_event!(tx, request_id, line);
            insert_notices!(tx, notices);
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("request_actions.{column} {value:?}"))
}

fn action_from_row<'r, R>(row: &'r R) -> Result<Action, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let (operation, status): (String, String) = (row.try_get("operation")?, row.try_get("status")?);
    let argument: Option<String> = row.try_get("argument")?;
    let evidence: Option<String> = row.try_get("evidence")?;
    let seq = to_u64(row.try_get("seq")?, "seq")?;
    Ok(Action {
        request_id: row.try_get("request_id")?,
        seq: u32::try_from(seq).map_err(|_| corrupt("seq", &seq.to_string()))?,
        category: row.try_get("category")?,
        operation: Operation::parse(&operation).ok_or_else(|| corrupt("operation", &operation))?,
        argument: argument.map(|a| serde_json::from_str(&a).map_err(|_| corrupt("argument", &a))).transpose()?,
        status: ActionStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        note: row.try_get("note")?,
        evidence: evidence
            .map(|e| serde_json::from_str(&e).map_err(|_| corrupt("evidence", &e)))
            .transpose()?
            .unwrap_or_default(),
        updated_at: to_u64(row.try_get("updated_at")?, "updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

/// A history line of an ended request (phase `closed`).
fn gateway_line(at: UnixSeconds, actor: &str, action: &str, detail: Option<&str>) -> RequestEvent {
    RequestEvent {
        at,
        actor: actor.to_owned(),
        phase: "closed".to_owned(),
        action: action.to_owned(),
        detail: detail.map(str::to_owned),
    }
}
