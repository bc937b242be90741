//! Retention at the sources (001 Atlas): for each category whose records carry a date,
//! what its source holds past the retention period, a warning ahead of it, and, where the
//! organisation turned it on, erasure through the connector once the warning is the
//! warning period old. Nobody under a legal hold loses a record; every erasure is audited.

use std::collections::{BTreeMap, HashSet};

use futures_util::StreamExt;
use serde_json::json;

use super::{Caller, Gateway};
use crate::clock::{UnixSeconds, rfc3339};
use crate::config::SOURCE_RETENTION_UPCOMING_EVENT;
use crate::connectors::{Connector, ConnectorError, Connectors, Cutoff, DatedRecords};
use crate::inventory::{Category, Inventory, IsoDuration};
use crate::store::StoreError;

/// Most people listed per category in the report; the tallies count everyone.
pub const MAX_SOURCE_SUBJECTS_LISTED: usize = 100;

/// Records and the people they are about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub records: u64,
    pub subjects: u64,
}

impl Tally {
    fn add(&mut self, records: u64) {
        self.records += records;
        self.subjects += 1;
    }
}

/// One person's records past retention in a category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectPastRetention {
    pub subject_ref: String,
    pub records: u64,
    pub oldest: Option<String>,
    pub held: bool,
}

/// What one category's source holds past its retention, and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRetention {
    pub source: String,
    pub category: String,
    pub date_field: String,
    pub retention: IsoDuration,
    /// Whether the gateway erases these records itself (`erase_when_expired`).
    pub erase: bool,
    /// Records dated before this are past retention now (`None`: none can be yet).
    pub cutoff: Option<Cutoff>,
    /// Past retention now, people under a legal hold included.
    pub expired: Tally,
    /// Of those, kept for a legal hold.
    pub held: Tally,
    /// Not yet past retention, but within the warning period.
    pub upcoming: Tally,
    /// When erasing, through which instant records due have been announced long enough
    /// to go (`None`: nothing has yet).
    pub erasable_through: Option<UnixSeconds>,
    /// The first [`MAX_SOURCE_SUBJECTS_LISTED`] people past retention, most records first.
    pub subjects: Vec<SubjectPastRetention>,
    /// Why the source could not be asked, when it could not.
    pub error: Option<String>,
}

/// The warning-log key of a category's source retention.
fn warning_kind(category: &str) -> String {
    format!("source:{category}")
}

/// The cutoff for records kept `period` at `at`: before it, they are past retention.
fn cutoff_at(period: &IsoDuration, at: UnixSeconds) -> Option<Cutoff> {
    period.expired_through(at).map(|through| Cutoff::after(through, period.counts_days()))
}

/// Checks the categories that count retention from a record date against what their
/// sources can do: erasing needs a source that erases by date (an error), a report one
/// that lists by date (a warning, returned).
pub fn check_source_retention(connectors: &Connectors, inventory: &Inventory) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for category in inventory.categories().iter().filter(|c| c.retention_date_field.is_some()) {
        let can = connectors.source(&category.source).map(|c| c.capabilities_for(&category.id)).unwrap_or_default();
        if category.erase_when_expired && !(can.dated && can.erase_dated) {
            return Err(format!(
                "category {:?} has erase_when_expired, but source {:?} cannot list and erase records by date \
                 (sql and http sources need dated_before and erase_dated_before configured for it)",
                category.id, category.source
            ));
        }
        if !can.dated {
            warnings.push(format!(
                "category {:?} names retention_date_field, but source {:?} cannot list records by date: \
                 GET /v1/retention/sources reports it as unsupported",
                category.id, category.source
            ));
        }
    }
    Ok(warnings)
}

impl Gateway {
    fn dated_categories(&self) -> impl Iterator<Item = (&Category, &str)> {
        self.inventory.categories().iter().filter_map(|c| c.retention_date_field.as_deref().map(|f| (c, f)))
    }

    /// Per person, the records of `category` dated before `cutoff`.
    async fn dated(
        &self,
        category: &Category,
        date_field: &str,
        cutoff: Cutoff,
    ) -> Result<BTreeMap<String, DatedRecords>, ConnectorError> {
        let connector = self.source_of(category)?;
        let mut found = BTreeMap::new();
        let mut stream = connector.dated_before(&category.id, date_field, cutoff).await?;
        while let Some(row) = stream.next().await {
            let row = row?;
            found.insert(row.subject.as_str().to_owned(), row);
        }
        Ok(found)
    }

    fn source_of(&self, category: &Category) -> Result<&std::sync::Arc<dyn Connector>, ConnectorError> {
        self.connectors
            .source(&category.source)
            .ok_or_else(|| ConnectorError::Setup(format!("no source {:?} is configured", category.source)))
    }

    /// What every source holds past its retention, per dated category (staff).
    pub async fn source_retention(&self, caller: &Caller) -> Result<Option<Vec<SourceRetention>>, StoreError> {
        if !caller.reads_register() {
            return Ok(None);
        }
        let now = self.clock.now();
        let held = self.retention_store.held_subjects().await?;
        let mut all = Vec::new();
        for (category, date_field) in self.dated_categories() {
            let erasable_through = match category.erase_when_expired {
                true => self.erasable_through(&category.id, now).await?,
                false => None,
            };
            let mut report = SourceRetention {
                source: category.source.clone(),
                category: category.id.clone(),
                date_field: date_field.to_owned(),
                retention: category.retention,
                erase: category.erase_when_expired,
                cutoff: cutoff_at(&category.retention, now),
                expired: Tally::default(),
                held: Tally::default(),
                upcoming: Tally::default(),
                erasable_through,
                subjects: Vec::new(),
                error: None,
            };
            if let Err(e) = self.tally(category, date_field, &held, &mut report).await {
                report.error = Some(e.to_string());
            }
            all.push(report);
        }
        Ok(Some(all))
    }

    async fn tally(
        &self,
        category: &Category,
        date_field: &str,
        held: &HashSet<String>,
        report: &mut SourceRetention,
    ) -> Result<(), ConnectorError> {
        let horizon = self.retention.warn_before.after(self.clock.now());
        let Some(soon) = cutoff_at(&category.retention, horizon) else { return Ok(()) };
        let due = self.dated(category, date_field, soon).await?;
        let expired = match report.cutoff {
            Some(cutoff) => self.dated(category, date_field, cutoff).await?,
            None => BTreeMap::new(),
        };
        for (subject, row) in &due {
            let past = expired.get(subject).map_or(0, |r| r.records);
            if row.records > past {
                report.upcoming.add(row.records - past);
            }
        }
        for row in expired.into_values() {
            let on_hold = held.contains(row.subject.as_str());
            report.expired.add(row.records);
            if on_hold {
                report.held.add(row.records);
            }
            report.subjects.push(SubjectPastRetention {
                subject_ref: row.subject.as_str().to_owned(),
                records: row.records,
                oldest: row.oldest,
                held: on_hold,
            });
        }
        report.subjects.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.subject_ref.cmp(&b.subject_ref)));
        report.subjects.truncate(MAX_SOURCE_SUBJECTS_LISTED);
        Ok(())
    }

    /// Through which instant a category's records due have been announced at least the
    /// warning period ago, capped at now: what may be erased.
    async fn erasable_through(&self, category: &str, now: UnixSeconds) -> Result<Option<UnixSeconds>, StoreError> {
        let Some(sent_by) = self.retention.warn_before.expired_through(now) else { return Ok(None) };
        let announced = self.retention_store.warned_by(&warning_kind(category), sent_by).await?;
        Ok(announced.map(|through| through.min(now)))
    }

    /// Warns of records coming past retention at each source, once across instances
    /// (`retention.source_upcoming`), then erases what is past it where the
    /// organisation turned that on and the warning is old enough. Answers the records erased.
    pub async fn sweep_source_retention(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let held = self.retention_store.held_subjects().await?;
        let mut erased = 0;
        for (category, date_field) in self.dated_categories() {
            if !self.source_of(category).is_ok_and(|c| c.capabilities_for(&category.id).dated) {
                continue;
            }
            if let Err(e) = self.warn_at_source(category, date_field, now).await {
                tracing::warn!(category = %category.id, "retention at the source: warning failed: {e}");
            }
            if category.erase_when_expired {
                erased += self.erase_at_source(category, date_field, &held, now).await?;
            }
        }
        Ok(erased)
    }

    async fn warn_at_source(&self, category: &Category, date_field: &str, now: UnixSeconds) -> Result<(), String> {
        let kind = warning_kind(&category.id);
        let horizon = self.retention.warn_before.after(now);
        let from = self.retention_store.warned_through(&kind).await.map_err(|e| e.to_string())?;
        if from.is_some_and(|from| from >= horizon) {
            return Ok(());
        }
        let count = |cutoff: Option<Cutoff>| async move {
            let Some(cutoff) = cutoff else { return Ok::<_, ConnectorError>(0) };
            Ok(self.dated(category, date_field, cutoff).await?.values().map(|r| r.records).sum::<u64>())
        };
        let period = &category.retention;
        let due = count(cutoff_at(period, horizon)).await.map_err(|e| e.to_string())?;
        let announced = count(from.and_then(|from| cutoff_at(period, from))).await.map_err(|e| e.to_string())?;
        let coming = due.saturating_sub(announced);
        let notices = match coming {
            0 => Vec::new(),
            n => {
                let data = json!({ "source": category.source, "category": category.id,
                    "count": n, "through": rfc3339(horizon), "erase": category.erase_when_expired });
                self.webhook_notices(SOURCE_RETENTION_UPCOMING_EVENT, data)
            }
        };
        let sent = (now, self.retention.warn_before.expired_through(now).unwrap_or_default());
        let moved = self.retention_store.record_warning(&kind, from, horizon, sent, &notices).await;
        if moved.map_err(|e| e.to_string())? && !notices.is_empty() {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    /// Erases, person by person, the category's records past retention and announced long
    /// enough ago; a person under a legal hold keeps theirs. One audit entry per person.
    async fn erase_at_source(
        &self,
        category: &Category,
        date_field: &str,
        held: &HashSet<String>,
        now: UnixSeconds,
    ) -> Result<u64, StoreError> {
        let Some(through) = self.erasable_through(&category.id, now).await? else { return Ok(0) };
        let Some(cutoff) = cutoff_at(&category.retention, through) else { return Ok(0) };
        let (connector, due) = match (self.source_of(category), self.dated(category, date_field, cutoff).await) {
            (Ok(connector), Ok(due)) => (connector, due),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(category = %category.id, "retention at the source: listing failed: {e}");
                return Ok(0);
            }
        };
        let mut erased = 0;
        for row in due.into_values().filter(|row| !held.contains(row.subject.as_str())) {
            let key = format!("retention:{}:{}:{}", category.id, cutoff.text(), row.subject.as_str());
            let done = connector.erase_dated_before(&row.subject, &category.id, date_field, cutoff, &key).await;
            let records = match done {
                Ok(done) => done.records.unwrap_or(row.records),
                Err(e) => {
                    tracing::warn!(category = %category.id, "retention at the source: erasing failed: {e}");
                    continue;
                }
            };
            if records == 0 {
                continue;
            }
            erased += records;
            let noun = if records == 1 { "record" } else { "records" };
            let detail =
                format!("{records} {noun} dated before {} erased at source {}", cutoff.text(), category.source);
            let objects = vec![format!("source:{}", category.source), format!("category:{}", category.id)];
            let entry = self.audit_entry_by(
                "system",
                "retention.source_erased",
                objects,
                Some(row.subject.as_str()),
                Some(detail),
            );
            self.audit(&[entry]).await?;
        }
        Ok(erased)
    }
}
