//! When a rights request is due. Art. 12(3) GDPR gives one month from receipt, counted as
//! Regulation (EEC, Euratom) 1182/71 counts months: the same date in the next month, or
//! that month's last day when it has no such date, moved to the next working day when it
//! is a Saturday, a Sunday or a public holiday. One extension may bring it to three months
//! from receipt. Dates are the organisation's, at its configured UTC offset.

use std::collections::BTreeSet;

use super::Date;
use crate::clock::UnixSeconds;

/// The period every request has, in months.
pub const FIRST_PERIOD_MONTHS: u32 = 1;
/// The most an extension may add, in months (art. 12(3): "two further months").
pub const MAX_EXTENSION_MONTHS: u32 = 2;
/// Longest run of days off the calendar may hold, so moving off them always ends.
const MAX_DAYS_OFF_IN_A_ROW: usize = 31;

/// The organisation's calendar: its offset from UTC and its public holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadlineRules {
    utc_offset_seconds: i32,
    holidays: BTreeSet<Date>,
}

/// A calendar that cannot bound a deadline.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RulesError {
    #[error("the UTC offset must be within ±14 hours")]
    Offset,
    #[error("more than {MAX_DAYS_OFF_IN_A_ROW} days off in a row from {0}: no working day to move a deadline to")]
    NoWorkingDay(Date),
}

impl DeadlineRules {
    pub fn new(utc_offset_minutes: i32, holidays: impl IntoIterator<Item = Date>) -> Result<Self, RulesError> {
        if utc_offset_minutes.abs() > 14 * 60 {
            return Err(RulesError::Offset);
        }
        let rules = Self { utc_offset_seconds: utc_offset_minutes * 60, holidays: holidays.into_iter().collect() };
        for &holiday in &rules.holidays {
            let mut day = holiday;
            for _ in 0..=MAX_DAYS_OFF_IN_A_ROW {
                if !rules.is_day_off(day) {
                    break;
                }
                day = day.add_days(1);
            }
            if rules.is_day_off(day) {
                return Err(RulesError::NoWorkingDay(holiday));
            }
        }
        Ok(rules)
    }

    /// The organisation's date at `instant`: the day a request was received.
    pub fn date_of(&self, instant: UnixSeconds) -> Date {
        Date::at(instant, self.utc_offset_seconds)
    }

    /// The due date `months` after a request received on `received`.
    pub fn due(&self, received: Date, months: u32) -> Date {
        let mut due = received.add_months(months);
        // `new` checked that every run of days off ends.
        while self.is_day_off(due) {
            due = due.add_days(1);
        }
        due
    }

    /// The first second of `date`.
    pub fn start_of(&self, date: Date) -> UnixSeconds {
        date.start(self.utc_offset_seconds)
    }

    /// The last second of `date`, the instant a deadline on that date passes.
    pub fn end_of(&self, date: Date) -> UnixSeconds {
        date.add_days(1).start(self.utc_offset_seconds) - 1
    }

    /// The last second of `date` in RFC 3339 with the organisation's offset,
    /// `2026-03-02T23:59:59+01:00`: what a person reads as "due on 2 March".
    pub fn end_of_text(&self, date: Date) -> String {
        let minutes = self.utc_offset_seconds / 60;
        let sign = if minutes < 0 { '-' } else { '+' };
        format!("{date}T23:59:59{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60)
    }

    fn is_day_off(&self, date: Date) -> bool {
        date.is_weekend() || self.holidays.contains(&date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    /// Dutch public holidays around the dates below.
    fn dutch() -> DeadlineRules {
        let holidays =
            ["2026-04-27", "2026-05-05", "2026-05-14", "2026-05-25", "2026-12-25", "2026-12-26", "2027-01-01"];
        DeadlineRules::new(60, holidays.map(date)).unwrap()
    }

    /// Received on, months, due on: month ends, leap years, weekends and holidays.
    #[test]
    fn due_dates_follow_the_regulation() {
        let rules = dutch();
        for (received, months, due) in [
            ("2026-01-15", 1, "2026-02-16"), // 15 Feb is a Sunday
            ("2026-01-31", 1, "2026-03-02"), // 28 Feb is a Saturday: Monday 2 March
            ("2027-01-29", 1, "2027-03-01"), // no 29 Feb 2027: 28 Feb, a Sunday
            ("2028-01-31", 1, "2028-02-29"), // leap year, a Tuesday
            ("2028-01-29", 1, "2028-02-29"),
            ("2026-03-31", 1, "2026-04-30"),
            ("2026-03-27", 1, "2026-04-28"), // 27 April is King's Day
            ("2026-04-05", 1, "2026-05-06"), // 5 May is Liberation Day
            ("2026-11-25", 1, "2026-12-28"), // Christmas Friday, Boxing Day Saturday, Sunday
            ("2026-12-01", 1, "2027-01-04"), // New Year's Day (Fri), weekend
            ("2026-12-31", 1, "2027-02-01"), // 31 Jan 2027 is a Sunday
            ("2026-11-30", 3, "2027-03-01"), // extended: 28 Feb 2027 is a Sunday
            ("2026-10-31", 3, "2027-02-01"), // extended across the year end
            ("2027-11-30", 3, "2028-02-29"), // extended into a leap February
        ] {
            assert_eq!(rules.due(date(received), months).to_string(), due, "received {received}, {months} months");
        }
    }

    #[test]
    fn receipt_and_deadline_are_the_organisations_days() {
        let rules = dutch();
        // 23:30 UTC on 31 December is 00:30 on New Year's Day in Amsterdam.
        let new_year = date("2027-01-01").start(0);
        assert_eq!(rules.date_of(new_year - 1800).to_string(), "2027-01-01");
        assert_eq!(rules.date_of(new_year - 3601).to_string(), "2026-12-31");
        let due = date("2026-03-02");
        assert_eq!(rules.end_of(due), date("2026-03-03").start(0) - 3600 - 1);
        assert_eq!(rules.end_of_text(due), "2026-03-02T23:59:59+01:00");
        let west = DeadlineRules::new(-210, []).unwrap();
        assert_eq!(west.end_of_text(due), "2026-03-02T23:59:59-03:30");
    }

    #[test]
    fn a_calendar_without_working_days_is_refused() {
        assert_eq!(DeadlineRules::new(15 * 60, []), Err(RulesError::Offset));
        let start = date("2026-06-01");
        let month_off = (0..40).map(|d| start.add_days(d));
        assert_eq!(DeadlineRules::new(0, month_off), Err(RulesError::NoWorkingDay(start)));
    }
}
