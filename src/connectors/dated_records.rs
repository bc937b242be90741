//! Retention at the sources (001 Atlas) as a connector sees it: a cutoff before which a
//! category's records are past their retention, and per person how many such records a
//! source holds. The gateway works out the cutoff; a source only compares dates.

use futures_util::stream::BoxStream;

use super::{ConnectorError, Record};
use crate::calendar::Date;
use crate::clock::{UnixSeconds, rfc3339};
use crate::protocol::subject::SubjectRef;

/// Records dated before this are past their retention; those dated at it or later are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// For periods in days, weeks, months or years, which keep a record through whole
    /// days: every record whose date (in UTC) is before this day.
    Day(Date),
    /// For periods of hours, minutes and seconds only: every record before this instant.
    Instant(UnixSeconds),
}

impl Cutoff {
    /// The cutoff that goes with `expired_through`, the last instant whose records have
    /// expired; `whole_days` when the period counts calendar days.
    pub fn after(expired_through: UnixSeconds, whole_days: bool) -> Self {
        if whole_days {
            Self::Day(Date::at(expired_through, 0).add_days(1))
        } else {
            Self::Instant(expired_through.saturating_add(1))
        }
    }

    /// As a source's query gets it (`:before`, `before=`): `YYYY-MM-DD` for a day, which
    /// compares correctly as text with dates and with UTC timestamps, or an RFC 3339 instant.
    pub fn text(&self) -> String {
        match self {
            Self::Day(day) => day.to_string(),
            Self::Instant(at) => rfc3339(*at),
        }
    }

    /// Whether a record dated `value` is past its retention; `None` when `value` is no
    /// date or time ([`Date::parse_timestamp`]), which never expires.
    pub fn has_passed(&self, value: &serde_json::Value) -> Option<bool> {
        let at = Date::parse_timestamp(value.as_str()?)?;
        Some(match self {
            Self::Day(day) => Date::at(at, 0) < *day,
            Self::Instant(cutoff) => at < *cutoff,
        })
    }
}

/// One person's records of a category dated before a cutoff, at one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedRecords {
    pub subject: SubjectRef,
    pub records: u64,
    /// The earliest of their dates, as the source writes it.
    pub oldest: Option<String>,
}

impl DatedRecords {
    /// One row of a source's answer (`what`, for errors): `subject`, `records` (a whole
    /// number, or its text) and `oldest` (any value; its text).
    pub(super) fn from_row(row: Record, what: &str) -> Result<Self, ConnectorError> {
        let malformed = |m: &str| ConnectorError::Malformed(format!("{what}: {m}"));
        let subject = row.get("subject").and_then(|v| v.as_str()).ok_or_else(|| malformed("no text `subject`"))?;
        let subject = SubjectRef::parse(subject).map_err(|e| malformed(&format!("`subject`: {e}")))?;
        let records = row
            .get("records")
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|t| t.parse().ok())))
            .ok_or_else(|| malformed("no whole number `records`"))?;
        let oldest = match row.get("oldest") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(other) => Some(other.to_string()),
        };
        Ok(Self { subject, records, oldest })
    }
}

/// Per person, in no particular order; an error ends the stream.
pub type DatedStream = BoxStream<'static, Result<DatedRecords, ConnectorError>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_cutoff_compares_dates_and_times_by_their_utc_day() {
        let end_of_feb = Date::parse_instant("2028-02-29T23:59:59Z").unwrap_or_default();
        let cutoff = Cutoff::after(end_of_feb, true);
        assert_eq!(cutoff.text(), "2028-03-01");
        let passed = |v: &str| cutoff.has_passed(&serde_json::json!(v));
        assert_eq!(passed("2028-02-29"), Some(true));
        assert_eq!(passed("2028-02-29T23:59:59Z"), Some(true));
        assert_eq!(passed("2028-03-01T00:30:00+01:00"), Some(true), "23:30 UTC on the 29th");
        assert_eq!(passed("2028-03-01"), Some(false));
        assert_eq!(passed("29 February"), None);
        assert_eq!(cutoff.has_passed(&serde_json::json!(20280229)), None);
        let exact = Cutoff::after(end_of_feb, false);
        assert_eq!(exact.text(), "2028-03-01T00:00:00Z");
        assert_eq!(exact.has_passed(&serde_json::json!("2028-02-29T23:59:59Z")), Some(true));
        assert_eq!(exact.has_passed(&serde_json::json!("2028-03-01")), Some(false));
    }
}
