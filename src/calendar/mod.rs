//! Civil dates (proleptic Gregorian) for periods counted in days and months: the receipt
//! and due dates of rights requests. A date is what a fixed UTC offset makes of an instant;
//! no time zone database is needed.

mod deadline;

use std::fmt;

pub use deadline::{DeadlineRules, FIRST_PERIOD_MONTHS, MAX_EXTENSION_MONTHS, RulesError};

use crate::clock::UnixSeconds;

const SECS_PER_DAY: i64 = 86_400;

/// A day of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, if it exists (years 1 to 9999).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let valid =
            (1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// Reads `YYYY-MM-DD`, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = &text[range];
            part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
        };
        Self::new(digits(0..4)? as i32, digits(5..7)? as u8, digits(8..10)? as u8)
    }

    /// Reads an RFC 3339 instant in UTC, `YYYY-MM-DDTHH:MM:SSZ`, exactly: what
    /// [`crate::clock::rfc3339`] writes.
    pub fn parse_instant(text: &str) -> Option<UnixSeconds> {
        let (date, time) = text.split_once('T')?;
        let time = time.strip_suffix('Z')?.as_bytes();
        let digits_at = [0, 1, 3, 4, 6, 7];
        if time.len() != 8 || time[2] != b':' || time[5] != b':' || !digits_at.iter().all(|&i| time[i].is_ascii_digit())
        {
            return None;
        }
        let two = |i: usize| u64::from(time[i] - b'0') * 10 + u64::from(time[i + 1] - b'0');
        let (h, m, s) = (two(0), two(3), two(6));
        if h > 23 || m > 59 || s > 59 {
            return None;
        }
        let day = Self::parse(date)?.days();
        (day >= 0).then(|| day as u64 * SECS_PER_DAY as u64 + h * 3600 + m * 60 + s)
    }

    /// Reads the date or time a record carries, as sources write them: a date
    /// (`YYYY-MM-DD`, its first instant in UTC) or a date and time (`T` or a space between),
    /// with optional fractions of a second and an optional `Z` or `±HH:MM` offset (none
    /// means UTC, as a database's `timestamp` column reads).
    pub fn parse_timestamp(text: &str) -> Option<UnixSeconds> {
        if text.len() == 10 {
            return Some(Self::parse(text)?.start(0));
        }
        let (date, rest) = (text.get(..10)?, text.get(10..)?);
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (clock, zone) = rest.split_at(rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len()));
        let (clock, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let offset: i64 = match zone.as_bytes() {
            [] | [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
                let minutes =
                    i64::from((h1 - b'0') * 10 + (h2 - b'0')) * 60 + i64::from((m1 - b'0') * 10 + (m2 - b'0'));
                if minutes >= 24 * 60 {
                    return None;
                }
                if *sign == b'+' { minutes * 60 } else { -minutes * 60 }
            }
            _ => return None,
        };
        let utc = Self::parse_instant(&format!("{date}T{clock}Z"))? as i64 - offset;
        u64::try_from(utc).ok()
    }

    /// The date at `instant` in the zone `utc_offset_seconds` east of UTC.
    pub fn at(instant: UnixSeconds, utc_offset_seconds: i32) -> Self {
        let local = instant as i64 + i64::from(utc_offset_seconds);
        Self::from_days(local.div_euclid(SECS_PER_DAY))
    }

    /// The first instant of this date in the zone `utc_offset_seconds` east of UTC.
    pub fn start(self, utc_offset_seconds: i32) -> UnixSeconds {
        (self.days() * SECS_PER_DAY - i64::from(utc_offset_seconds)).max(0) as UnixSeconds
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// The same day `months` later; the month's last day when it has no such day
    /// (31 January + 1 month = 28 or 29 February).
    pub fn add_months(self, months: u32) -> Self {
        let index = self.year as i64 * 12 + i64::from(self.month - 1) + i64::from(months);
        let (year, month) = ((index / 12) as i32, (index % 12) as u8 + 1);
        Self { year, month, day: self.day.min(days_in_month(year, month)) }
    }

    pub fn add_days(self, days: i64) -> Self {
        Self::from_days(self.days() + days)
    }

    /// Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        // 1970-01-01 was a Thursday: day 0 → 3 counting from Monday = 0.
        (self.days() + 3).rem_euclid(7) >= 5
    }

    /// Days since 1970-01-01.
    fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Self { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn parses_only_real_dates() {
        assert_eq!(date("2028-02-29").to_string(), "2028-02-29");
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "2026-01-01T", "+026-01-01", "2026/01/01"] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_end_on_the_same_day_or_the_last_of_the_month() {
        for (from, months, to) in [
            ("2026-01-31", 1, "2026-02-28"),
            ("2028-01-31", 1, "2028-02-29"),
            ("2026-03-31", 1, "2026-04-30"),
            ("2026-12-15", 1, "2027-01-15"),
            ("2026-11-30", 3, "2027-02-28"),
            ("2099-12-31", 2, "2100-02-28"),
            ("2000-02-29", 12, "2001-02-28"),
        ] {
            assert_eq!(date(from).add_months(months).to_string(), to, "{from} + {months}");
        }
    }

    #[test]
    fn instants_read_back_what_rfc3339_writes() {
        for t in [0, 951_782_400, 1_795_000_000, 4_107_542_399] {
            assert_eq!(Date::parse_instant(&crate::clock::rfc3339(t)), Some(t));
        }
        for bad in [
            "2026-11-18T11:06:40",
            "2026-11-18 11:06:40Z",
            "2026-02-30T00:00:00Z",
            "2026-11-18T24:00:00Z",
            "2026-11-18T1:06:40Z",
            "2026-11-18T1::06:40Z",
        ] {
            assert_eq!(Date::parse_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn record_timestamps_read_as_sources_write_them() {
        let at = |t: &str| Date::parse_instant(t).unwrap();
        for (text, utc) in [
            ("2028-02-29", "2028-02-29T00:00:00Z"),
            ("2028-02-29T23:30:00Z", "2028-02-29T23:30:00Z"),
            ("2028-02-29 23:30:00", "2028-02-29T23:30:00Z"),
            ("2028-02-29T23:30:00.123456+01:00", "2028-02-29T22:30:00Z"),
            ("2028-02-29T23:30:00-01:30", "2028-03-01T01:00:00Z"),
            ("2026-12-31t23:59:59z", "2026-12-31T23:59:59Z"),
        ] {
            assert_eq!(Date::parse_timestamp(text), Some(at(utc)), "{text}");
        }
        for bad in [
            "2026-02-29",
            "2026-01-01T",
            "2026-01-01T10:00",
            "2026-01-01T10:00:00.+01:00",
            "2026-01-01T10:00:00+1:00",
            "2026-01-01T10:00:00+24:00",
            "2026-01-01X10:00:00Z",
            "1970-01-01T00:00:00+01:00",
        ] {
            assert_eq!(Date::parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_and_weekdays_follow_the_calendar() {
        assert_eq!(date("1970-01-01").days(), 0);
        assert_eq!(Date::from_days(date("2026-11-29").days()), date("2026-11-29"));
        assert_eq!(date("2028-02-28").add_days(1).to_string(), "2028-02-29");
        assert_eq!(date("2026-12-31").add_days(1).to_string(), "2027-01-01");
        assert!(date("2026-11-28").is_weekend() && date("2026-11-29").is_weekend()); // Sat, Sun
        assert!(!date("2026-11-30").is_weekend() && !date("2026-11-27").is_weekend()); // Mon, Fri
    }

    #[test]
    fn instants_fall_on_the_local_date() {
        let midnight_utc = date("2026-01-01").start(0);
        assert_eq!(midnight_utc, 1_767_225_600);
        assert_eq!(Date::at(midnight_utc - 1, 0).to_string(), "2025-12-31");
        // 23:30 UTC on New Year's Eve is already New Year's Day in Amsterdam (UTC+1).
        assert_eq!(Date::at(midnight_utc - 1800, 3600).to_string(), "2026-01-01");
        assert_eq!(date("2026-01-01").start(3600), midnight_utc - 3600);
    }
}
