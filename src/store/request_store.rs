//! The register of rights requests and their histories, written once for both backends.
//! A request's history is only ever appended to.

use sqlx::Row;

use crate::calendar::Date;
use crate::clock::UnixSeconds;
pub use crate::protocol::rights::{RequestChannel, RequestKind, RequestState};
use crate::store::action_store::{Action, insert_actions, insert_receipt};
use crate::store::audit_chain::NewAuditEntry;
use crate::store::audit_store::append_audit;
use crate::store::db::{Db, on_db};
use crate::store::outbox_store::{Notice, insert_notices};
use crate::store::{StoreError, to_i64, to_u64};

/// One rights request, as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequest {
    pub id: String,
    /// `2026-000123`: the year of receipt and a number unique within it.
    pub number: String,
    pub kind: RequestKind,
    pub subject_ref: String,
    pub channel: RequestChannel,
    /// Who filed it: `portal:<client>`, `connection:<id>` or `staff:<name>`.
    pub filed_by: String,
    /// The categories concerned; empty means all.
    pub categories: Vec<String>,
    pub details: Option<String>,
    /// For rectification: the proposed values, by category and field.
    pub proposed: Option<serde_json::Value>,
    pub state: RequestState,
    pub phase: String,
    /// How identity was checked (`portal session`, `wallet connection`), or `pending`.
    pub identification: String,
    /// Once ended: why it was refused, or what was done.
    pub outcome: Option<String>,
    pub received_at: UnixSeconds,
    pub received_on: Date,
    pub due_on: Date,
    /// The last second of `due_on` in the organisation's zone.
    pub due_at: UnixSeconds,
    pub updated_at: UnixSeconds,
    /// The id the filing wallet gave its request, so a retry finds it again.
    pub intake_ref: Option<String>,
    /// Who filed a written request on the person's behalf (a lawyer, a relative), and how
    /// to reach them.
    pub intermediary: Option<String>,
}

/// At most `max` requests per subject filed at or after `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimit {
    pub since: UnixSeconds,
    pub max: u64,
}

/// What a step of the workflow changes; fields it leaves alone carry their current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestChange<'a> {
    pub id: &'a str,
    /// The phase and due date the request must still have for the change to apply: a
    /// step read them, and another member's step may have changed them since.
    pub expected_phase: &'a str,
    pub expected_due_on: Date,
    /// The identification the step read: recording it races no other step.
    pub expected_identification: &'a str,
    pub phase: &'a str,
    pub state: RequestState,
    pub identification: &'a str,
    pub outcome: Option<&'a str>,
    pub due_on: Date,
    pub due_at: UnixSeconds,
    pub at: UnixSeconds,
    /// The operations a step into execution plans.
    pub actions: &'a [Action],
    /// The signed receipt of a step that ends the request.
    pub receipt: Option<&'a str>,
    /// How many operations a step that ends the request found unsettled and refuses with
    /// it: the receipt says so, so the step applies only if that is still the number.
    pub unsettled: u64,
}

/// Which requests a listing shows; every condition set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterFilter {
    pub subject_ref: Option<String>,
    pub state: Option<RequestState>,
    pub kind: Option<RequestKind>,
    /// Only requests due before this instant (overdue ones, with `now`).
    pub due_before: Option<UnixSeconds>,
}

/// One line of a request's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    pub at: UnixSeconds,
    /// Who acted, named as in [`RightsRequest::filed_by`], or `gateway`.
    pub actor: String,
    /// The phase the request was in when it happened.
    pub phase: String,
    /// What happened: `received`, `acknowledged`, …
    pub action: String,
    pub detail: Option<String>,
}

/// The `WHERE` clause of a listing, its text values in placeholder order from `$first`,
/// and the due instant bound last.
fn where_clause(
    filter: &RegisterFilter,
    before: Option<&str>,
    first: usize,
) -> Result<(String, Vec<String>, Option<i64>), StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut text_condition = |sql: &str, value: String| {
        conditions.push(sql.replace('?', &format!("${}", first + texts.len())));
        texts.push(value);
    };
    if let Some(subject) = &filter.subject_ref {
        text_condition("subject_ref = ?", subject.clone());
    }
    if let Some(state) = filter.state {
        text_condition("state = ?", state.as_str().to_owned());
    }
    if let Some(kind) = filter.kind {
        text_condition("kind = ?", kind.as_str().to_owned());
    }
    if let Some(before) = before {
        text_condition(
            "(received_at, number) < (SELECT received_at, number FROM rights_requests WHERE id = ?)",
            before.to_owned(),
        );
    }
    let due_before = filter.due_before.map(|t| to_i64(t, "due_before")).transpose()?;
    if due_before.is_some() {
        conditions.push(format!("due_at < ${}", first + texts.len()));
    }
    let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    Ok((clause, texts, due_before))
}

/// Appends one history line inside a transaction; a macro, so each backend's executor
/// type stays concrete (and its future `Send`).
macro_rules! insert_event {
    ($tx:expr, $request_id:expr, $seq:expr, $event:expr) => {
        sqlx::query(
            "INSERT INTO request_events (request_id, seq, at, actor, phase, action, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($request_id)
        .bind($seq)
        .bind(to_i64($event.at, "at")?)
        .bind(&$event.actor)
        .bind(&$event.phase)
        .bind(&$event.action)
        .bind(&$event.detail)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use insert_event;

/// Appends `$event` to request `$request_id`'s history as its next line, inside `$tx`. The
/// request's row is locked first, so lines written at once get consecutive numbers.
macro_rules! append_event {
    ($tx:expr, $request_id:expr, $event:expr) => {{
        sqlx::query("UPDATE rights_requests SET updated_at = updated_at WHERE id = $1")
            .bind($request_id)
            .execute(&mut *$tx)
            .await?;
        let last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM request_events WHERE request_id = $1")
            .bind($request_id)
            .fetch_one(&mut *$tx)
            .await?
            .try_get("last")?;
        insert_event!($tx, $request_id, last + 1, $event);
    }};
}
pub(crate) use append_event;

const COLUMNS: &str = "id, number, kind, subject_ref, channel, filed_by, categories, details, proposed, state, \
    phase, identification, outcome, received_at, received_on, due_on, due_at, updated_at, intake_ref, intermediary";

#[derive(Debug, Clone)]
pub struct RequestStore {
    db: Db,
}

impl RequestStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores a new request with the next number of its year of receipt and the first
    /// lines of its history, in one transaction; answers the number given, or `None` when
    /// the subject already filed `limit.max` requests since `limit.since` (then nothing is
    /// stored). Taking the number first locks the year's counter, so filings at the same
    /// instant are counted one after the other. `notices` (which need the number) are
    /// made once it is known and go into the outbox in the same transaction.
    pub async fn insert(
        &self,
        request: &RightsRequest,
        history: &[RequestEvent],
        limit: Option<DailyLimit>,
        notices: impl FnOnce(&str) -> Vec<Notice> + Send,
        audit: &[NewAuditEntry],
    ) -> Result<Option<String>, StoreError> {
        let year = i64::from(request.received_on.year());
        let categories = serde_json::to_string(&request.categories).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let proposed = request.proposed.as_ref().map(serde_json::Value::to_string);
        let times = [
            to_i64(request.received_at, "received_at")?,
            to_i64(request.due_at, "due_at")?,
            to_i64(request.updated_at, "updated_at")?,
        ];
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let last: i64 = sqlx::query(
                "INSERT INTO request_numbers (year, last) VALUES ($1, 1)
                 ON CONFLICT (year) DO UPDATE SET last = request_numbers.last + 1 RETURNING last",
            )
            .bind(year)
            .fetch_one(&mut *tx)
            .await?
            .try_get("last")?;
            if let Some(limit) = limit {
                let filed: i64 = sqlx::query(
                    "SELECT COUNT(*) AS n FROM rights_requests WHERE subject_ref = $1 AND received_at >= $2",
                )
                .bind(&request.subject_ref)
                .bind(to_i64(limit.since, "since")?)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                if to_u64(filed, "count")? >= limit.max {
                    tx.rollback().await?;
                    return Ok(None);
                }
            }
            let number = format!("{year:04}-{last:06}");
            sqlx::query(&format!(
                "INSERT INTO rights_requests ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                         $19, $20)"
            ))
            .bind(&request.id)
            .bind(&number)
            .bind(request.kind.as_str())
            .bind(&request.subject_ref)
            .bind(request.channel.as_str())
            .bind(&request.filed_by)
            .bind(&categories)
            .bind(&request.details)
            .bind(&proposed)
            .bind(request.state.as_str())
            .bind(&request.phase)
            .bind(&request.identification)
            .bind(&request.outcome)
            .bind(times[0])
            .bind(request.received_on.to_string())
            .bind(request.due_on.to_string())
            .bind(times[1])
            .bind(times[2])
            .bind(&request.intake_ref)
            .bind(&request.intermediary)
            .execute(&mut *tx)
            .await?;
            for (seq, event) in history.iter().enumerate() {
                insert_event!(tx, &request.id, seq as i64 + 1, event);
            }
            insert_notices!(tx, &notices(&number));
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(Some(number))
        })
    }

    /// Applies `change` and appends `events` in one transaction, provided the request is
    /// still open, in `change.expected_phase`, due on `change.expected_due_on` and
    /// identified as `change.expected_identification`; false
    /// when it no longer is (another member moved or extended it first), and then nothing
    /// is written. `notices` report the change and commit with it.
    pub async fn change(
        &self,
        change: &RequestChange<'_>,
        events: &[RequestEvent],
        notices: &[Notice],
        audit: &[NewAuditEntry],
    ) -> Result<bool, StoreError> {
        let (due_at, at) = (to_i64(change.due_at, "due_at")?, to_i64(change.at, "at")?);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // The update also locks the row, so histories get their lines one at a time.
            let updated = sqlx::query(
                "UPDATE rights_requests SET phase = $1, state = $2, outcome = $3, due_on = $4, due_at = $5,
                     updated_at = $6, identification = $10
                 WHERE id = $7 AND phase = $8 AND due_on = $9 AND state = 'open' AND identification = $11",
            )
            .bind(change.phase)
            .bind(change.state.as_str())
            .bind(change.outcome)
            .bind(change.due_on.to_string())
            .bind(due_at)
            .bind(at)
            .bind(change.id)
            .bind(change.expected_phase)
            .bind(change.expected_due_on.to_string())
            .bind(change.identification)
            .bind(change.expected_identification)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(false);
            }
            let last: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS last FROM request_events WHERE request_id = $1")
                .bind(change.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("last")?;
            for (i, event) in events.iter().enumerate() {
                insert_event!(tx, change.id, last + i as i64 + 1, event);
            }
            insert_actions!(tx, change.actions);
            // An ended request's unsettled operations are refused with it, exactly those
            // its receipt names: one settled meanwhile makes the step read again.
            if change.state != RequestState::Open {
                let refused = sqlx::query(
                    "UPDATE request_actions SET status = 'refused', note = $1, updated_at = $2, updated_by = 'gateway'
                     WHERE request_id = $3 AND status IN ('pending', 'task')",
                )
                .bind(change.outcome)
                .bind(at)
                .bind(change.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if refused != change.unsettled {
                    tx.rollback().await?;
                    return Ok(false);
                }
            }
            if let Some(token) = change.receipt {
                insert_receipt!(tx, change.id, token, change.at);
            }
            insert_notices!(tx, notices);
            append_audit!(tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn by_id(&self, id: &str) -> Result<Option<RightsRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM rights_requests WHERE id = $1");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// The request a wallet filed under its own id `intake_ref`, if it did.
    pub async fn by_intake(&self, filed_by: &str, intake_ref: &str) -> Result<Option<RightsRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM rights_requests WHERE filed_by = $1 AND intake_ref = $2");
        on_db!(&self.db, pool => {
            let row = sqlx::query(&sql).bind(filed_by).bind(intake_ref).fetch_optional(pool).await?;
            row.as_ref().map(request_from_row).transpose()
        })
    }

    /// Requests that pass `filter`, newest first, at most `limit`, strictly older than
    /// request `before` when given.
    pub async fn list(
        &self,
        filter: &RegisterFilter,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<RightsRequest>, StoreError> {
        let (conditions, texts, due_before) = where_clause(filter, before, 2)?;
        let sql = format!(
            "SELECT {COLUMNS} FROM rights_requests {conditions} ORDER BY received_at DESC, number DESC LIMIT $1"
        );
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql).bind(i64::from(limit));
            for value in &texts {
                query = query.bind(value);
            }
            if let Some(due_before) = due_before {
                query = query.bind(due_before);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(request_from_row).collect()
        })
    }

    /// How many requests pass `filter`.
    pub async fn count(&self, filter: &RegisterFilter) -> Result<u64, StoreError> {
        let (conditions, texts, due_before) = where_clause(filter, None, 1)?;
        let sql = format!("SELECT COUNT(*) AS n FROM rights_requests {conditions}");
        on_db!(&self.db, pool => {
            let mut query = sqlx::query(&sql);
            for value in &texts {
                query = query.bind(value);
            }
            if let Some(due_before) = due_before {
                query = query.bind(due_before);
            }
            to_u64(query.fetch_one(pool).await?.try_get("n")?, "count")
        })
    }

    /// A request's history, oldest first.
    pub async fn history(&self, id: &str) -> Result<Vec<RequestEvent>, StoreError> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT at, actor, phase, action, detail FROM request_events WHERE request_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(RequestEvent {
                        at: to_u64(row.try_get("at")?, "at")?,
                        actor: row.try_get("actor")?,
                        phase: row.try_get("phase")?,
                        action: row.try_get("action")?,
                        detail: row.try_get("detail")?,
                    })
                })
                .collect()
        })
    }
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("rights_requests.{column} {value:?}"))
}

fn request_from_row<'r, R>(row: &'r R) -> Result<RightsRequest, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let text = |column: &'static str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(column)?) };
    let date = |column: &'static str| -> Result<Date, StoreError> {
        let value = text(column)?;
        Date::parse(&value).ok_or_else(|| corrupt(column, &value))
    };
    let (kind, channel, state) = (text("kind")?, text("channel")?, text("state")?);
    let categories = text("categories")?;
    let proposed: Option<String> = row.try_get("proposed")?;
    Ok(RightsRequest {
        id: text("id")?,
        number: text("number")?,
        kind: RequestKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        subject_ref: text("subject_ref")?,
        channel: RequestChannel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        filed_by: text("filed_by")?,
        categories: serde_json::from_str(&categories).map_err(|_| corrupt("categories", &categories))?,
        details: row.try_get("details")?,
        proposed: proposed.map(|p| serde_json::from_str(&p).map_err(|_| corrupt("proposed", &p))).transpose()?,
        state: RequestState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        phase: text("phase")?,
        identification: text("identification")?,
        outcome: row.try_get("outcome")?,
        received_at: to_u64(row.try_get("received_at")?, "received_at")?,
        received_on: date("received_on")?,
        due_on: date("due_on")?,
        due_at: to_u64(row.try_get("due_at")?, "due_at")?,
        updated_at: to_u64(row.try_get("updated_at")?, "updated_at")?,
        intake_ref: row.try_get("intake_ref")?,
        intermediary: row.try_get("intermediary")?,
    })
}
