//! The `[requests]` section: the calendar deadlines are counted in, and how many requests
//! one person may file a day. Defaults hold without configuration.

use serde::Deserialize;

use super::request_phases::{self, PhaseConfig, default_phases};
use crate::calendar::{Date, DeadlineRules, RulesError};
use crate::protocol::rights::RequestKind;

pub(super) const DEFAULT_MAX_PER_SUBJECT_PER_DAY: u32 = 10;
pub(super) const DEFAULT_WARNING_DAYS: [u32; 2] = [7, 2];
/// How long a written request's document is kept after receipt: two years.
pub const DEFAULT_DOCUMENT_RETENTION_DAYS: u32 = 730;
/// Largest document attached to a written request (a scanned letter).
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 10 * 1024 * 1024;
/// Largest document cap that may be configured.
pub const MAX_DOCUMENT_BYTES_LIMIT: u64 = 100 * 1024 * 1024;
/// Shortest document retention that may be configured: longer than a request can stay
/// open (a month and an extension of two), so no document goes while its request runs.
const MIN_DOCUMENT_RETENTION_DAYS: u32 = 100;
/// Longest document retention that may be configured: ten years.
const MAX_DOCUMENT_RETENTION_DAYS: u32 = 3660;
/// Days a receipt may go unacknowledged by the person's wallet before staff are told to
/// send it another way.
pub const DEFAULT_RECEIPT_ACK_DAYS: u32 = 7;
/// Longest wait for an acknowledgement that may be configured.
const MAX_RECEIPT_ACK_DAYS: u32 = 90;
/// Seconds a source system has for one operation (rectify, erase, …) by default.
pub(super) const DEFAULT_OPERATION_TIMEOUT_SECONDS: u64 = 60;
/// Shortest operation timeout that may be configured: the outbox's claim on a delivery is
/// twice it, and must outlast the relay's and webhooks' own timeouts (15 s and 10 s).
const MIN_OPERATION_TIMEOUT_SECONDS: u64 = 15;
/// Longest operation timeout that may be configured.
const MAX_OPERATION_TIMEOUT_SECONDS: u64 = 600;
/// Most warning distances.
const MAX_WARNINGS: usize = 5;
/// Most holidays a config may list (decades of them).
const MAX_HOLIDAYS: usize = 1000;
/// Most requests per person per day that may be allowed.
const MAX_PER_DAY_LIMIT: u32 = 1000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestsConfig {
    /// The organisation's offset from UTC in minutes: its days are when requests are
    /// received and fall due (60 for Central European Time).
    pub utc_offset_minutes: i32,
    /// Public holidays, `YYYY-MM-DD`: a deadline on one moves to the next working day.
    pub holidays: Vec<String>,
    /// Requests one person may file per day, over all channels.
    pub max_per_subject_per_day: u32,
    /// Days before a deadline at which open requests count as due soon, in `/metrics`.
    pub warning_days: Vec<u32>,
    /// The phases every request goes through, in order.
    pub phases: Vec<PhaseConfig>,
    /// Types whose approval must come from someone other than who prepared them.
    pub four_eyes: Vec<RequestKind>,
    /// Days a written request's document (letter, e-mail) is kept after receipt.
    pub document_retention_days: u32,
    /// Largest document a written request may carry, in bytes.
    pub max_document_bytes: u64,
    /// Days after which a receipt no wallet acknowledged is flagged, so staff send it
    /// another way (`request.receipt_unacknowledged`).
    pub receipt_ack_days: u32,
    /// Seconds a source system has to carry out one operation before the attempt counts
    /// as failed and is retried. A gateway that stopped mid-operation (a crash, a kill)
    /// leaves it claimed for twice this; then another instance, or this one restarted,
    /// tries again under the same idempotency key.
    pub operation_timeout_seconds: u64,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            utc_offset_minutes: 0,
            holidays: Vec::new(),
            max_per_subject_per_day: DEFAULT_MAX_PER_SUBJECT_PER_DAY,
            warning_days: DEFAULT_WARNING_DAYS.to_vec(),
            phases: default_phases(),
            four_eyes: vec![RequestKind::Erasure, RequestKind::Rectification, RequestKind::Restriction],
            document_retention_days: DEFAULT_DOCUMENT_RETENTION_DAYS,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            receipt_ack_days: DEFAULT_RECEIPT_ACK_DAYS,
            operation_timeout_seconds: DEFAULT_OPERATION_TIMEOUT_SECONDS,
        }
    }
}

impl RequestsConfig {
    /// The calendar deadlines are counted in; the first key out of range, with what it must be.
    pub fn deadline_rules(&self) -> Result<DeadlineRules, (String, String)> {
        if self.holidays.len() > MAX_HOLIDAYS {
            return Err(("requests.holidays".to_owned(), format!("at most {MAX_HOLIDAYS} dates")));
        }
        let mut holidays = Vec::with_capacity(self.holidays.len());
        for (i, text) in self.holidays.iter().enumerate() {
            let date = Date::parse(text)
                .ok_or_else(|| (format!("requests.holidays[{i}]"), format!("{text:?} is not a date (YYYY-MM-DD)")))?;
            holidays.push(date);
        }
        DeadlineRules::new(self.utc_offset_minutes, holidays).map_err(|e| match e {
            RulesError::Offset => ("requests.utc_offset_minutes".to_owned(), "must be -840 to 840".to_owned()),
            e @ RulesError::NoWorkingDay(_) => ("requests.holidays".to_owned(), e.to_string()),
        })
    }

    pub(super) fn check(&self) -> Result<(), (String, String)> {
        self.deadline_rules()?;
        if !(MIN_DOCUMENT_RETENTION_DAYS..=MAX_DOCUMENT_RETENTION_DAYS).contains(&self.document_retention_days) {
            let message = format!("must be {MIN_DOCUMENT_RETENTION_DAYS} to {MAX_DOCUMENT_RETENTION_DAYS} days");
            return Err(("requests.document_retention_days".to_owned(), message));
        }
        if !(1..=MAX_DOCUMENT_BYTES_LIMIT).contains(&self.max_document_bytes) {
            let message = format!("must be 1 to {MAX_DOCUMENT_BYTES_LIMIT} bytes");
            return Err(("requests.max_document_bytes".to_owned(), message));
        }
        if !(1..=MAX_RECEIPT_ACK_DAYS).contains(&self.receipt_ack_days) {
            return Err(("requests.receipt_ack_days".to_owned(), format!("must be 1 to {MAX_RECEIPT_ACK_DAYS} days")));
        }
        if !(MIN_OPERATION_TIMEOUT_SECONDS..=MAX_OPERATION_TIMEOUT_SECONDS).contains(&self.operation_timeout_seconds) {
            let message = format!("must be {MIN_OPERATION_TIMEOUT_SECONDS} to {MAX_OPERATION_TIMEOUT_SECONDS} seconds");
            return Err(("requests.operation_timeout_seconds".to_owned(), message));
        }
        request_phases::check(&self.phases)?;
        // Four eyes bind at an approval: every such type must pass one.
        for (i, kind) in self.four_eyes.iter().enumerate() {
            let approved =
                self.phases.iter().any(|p| p.approver_role.is_some() && (p.types.is_empty() || p.types.contains(kind)));
            if !approved {
                return Err((
                    format!("requests.four_eyes[{i}]"),
                    format!(
                        "{} requests pass no phase with an approver_role, so no second member would see them",
                        kind.as_str()
                    ),
                ));
            }
        }
        if self.warning_days.len() > MAX_WARNINGS || self.warning_days.iter().any(|d| !(1..=31).contains(d)) {
            return Err((
                "requests.warning_days".to_owned(),
                format!("at most {MAX_WARNINGS} distances, each 1 to 31 days"),
            ));
        }
        if !(1..=MAX_PER_DAY_LIMIT).contains(&self.max_per_subject_per_day) {
            return Err(("requests.max_per_subject_per_day".to_owned(), format!("must be 1 to {MAX_PER_DAY_LIMIT}")));
        }
        Ok(())
    }
}
