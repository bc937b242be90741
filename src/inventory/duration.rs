//! ISO 8601 durations (`P7Y`, `P6M`, `P30D`, `PT12H`) for retention periods.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Date;
use crate::clock::UnixSeconds;

/// Longest retention text we accept; longer input is refused before parsing.
const MAX_DURATION_LEN: usize = 64;

/// A calendar duration as written in ISO 8601, kept in its original units because months
/// and years have no fixed length in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub weeks: u32,
    pub days: u32,
    pub hours: u32,
    pub minutes: u32,
    pub seconds: u32,
}

/// A unit designator and the field it fills.
type Unit = (char, fn(&mut IsoDuration) -> &mut u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an ISO 8601 duration such as P7Y, P6M, P30D or PT12H")]
pub struct DurationError(pub String);

impl IsoDuration {
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let err = || DurationError(text.chars().take(MAX_DURATION_LEN).collect());
        if text.len() > MAX_DURATION_LEN {
            return Err(err());
        }
        let rest = text.strip_prefix('P').ok_or_else(err)?;
        let (date, time) = match rest.split_once('T') {
            Some((_, "")) => return Err(err()),
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut out = Self::default();
        let mut any = false;
        let mut fill = |part: &str, units: &[Unit]| {
            let mut number = String::new();
            let mut next_unit = 0;
            for c in part.chars() {
                if c.is_ascii_digit() {
                    number.push(c);
                    continue;
                }
                // Units must appear in order, each at most once, each after a number.
                let pos = units[next_unit..].iter().position(|(u, _)| *u == c).ok_or_else(err)?;
                let value: u32 = number.parse().map_err(|_| err())?;
                *(units[next_unit + pos].1)(&mut out) = value;
                next_unit += pos + 1;
                number.clear();
                any = true;
            }
            if number.is_empty() { Ok(()) } else { Err(err()) }
        };
        fill(
            date,
            &[('Y', |d| &mut d.years), ('M', |d| &mut d.months), ('W', |d| &mut d.weeks), ('D', |d| &mut d.days)],
        )?;
        if let Some(time) = time {
            fill(time, &[('H', |d| &mut d.hours), ('M', |d| &mut d.minutes), ('S', |d| &mut d.seconds)])?;
        }
        if any { Ok(out) } else { Err(err()) }
    }

    /// A plain-language rendering for privacy notices: "7 years", "6 months and 15 days".
    pub fn describe(&self) -> String {
        self.describe_in(super::Language::En)
    }

    /// The same in `language`: "7 jaar", "6 maanden en 15 dagen".
    pub fn describe_in(&self, language: super::Language) -> String {
        // (singular, plural) per unit, largest first.
        let units: [(&str, &str); 7] = match language {
            super::Language::Nl => [
                ("jaar", "jaar"),
                ("maand", "maanden"),
                ("week", "weken"),
                ("dag", "dagen"),
                ("uur", "uur"),
                ("minuut", "minuten"),
                ("seconde", "seconden"),
            ],
            _ => [
                ("year", "years"),
                ("month", "months"),
                ("week", "weeks"),
                ("day", "days"),
                ("hour", "hours"),
                ("minute", "minutes"),
                ("second", "seconds"),
            ],
        };
        let and = if language == super::Language::Nl { "en" } else { "and" };
        let counts = [self.years, self.months, self.weeks, self.days, self.hours, self.minutes, self.seconds];
        let parts: Vec<String> = counts
            .into_iter()
            .zip(units)
            .filter(|(n, _)| *n > 0)
            .map(|(n, (one, many))| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") })
            .collect();
        match parts.as_slice() {
            [] => format!("0 {}", units[3].1),
            [one] => one.clone(),
            [head @ .., last] => format!("{} {and} {last}", head.join(", ")),
        }
    }
}

impl IsoDuration {
    /// When something made at `at` and kept this long is due to go, on the UTC calendar.
    /// A period in years, months, weeks or days keeps it through the whole last day: the
    /// day `at` falls on, plus the months (a day the month lacks becomes its last: 31
    /// January + P1M = 28 or 29 February), plus the days; it is due when that day ends.
    /// Hours, minutes and seconds then count exactly. Counting whole days keeps the due
    /// time from ever going backwards as `at` moves on, which a time of day carried over a
    /// shortened month would. Saturates far in the future.
    pub fn after(&self, at: UnixSeconds) -> UnixSeconds {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        let days = i64::from(self.weeks) * 7 + i64::from(self.days);
        let time = u64::from(self.hours) * 3600 + u64::from(self.minutes) * 60 + u64::from(self.seconds);
        if months == 0 && days == 0 {
            return at.saturating_add(time);
        }
        let last_day = Date::at(at, 0).add_months(months).add_days(days);
        last_day.add_days(1).start(0).saturating_add(time)
    }

    /// Whether the period counts whole calendar days: it has years, months, weeks or days.
    pub fn counts_days(&self) -> bool {
        self.years > 0 || self.months > 0 || self.weeks > 0 || self.days > 0
    }

    /// The latest instant whose [`IsoDuration::after`] is at or before `now`: whatever was
    /// made then or earlier has expired by `now`. `None` when nothing has.
    pub fn expired_through(&self, now: UnixSeconds) -> Option<UnixSeconds> {
        if self.after(0) > now {
            return None;
        }
        // `after` only grows with its argument, so the last instant it keeps within `now`
        // is found by halving; month lengths make it no fixed subtraction.
        let (mut low, mut high) = (0, now);
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            if self.after(mid) <= now { low = mid } else { high = mid - 1 }
        }
        Some(low)
    }
}

impl std::fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P")?;
        for (n, u) in [(self.years, 'Y'), (self.months, 'M'), (self.weeks, 'W'), (self.days, 'D')] {
            if n > 0 {
                write!(f, "{n}{u}")?;
            }
        }
        if self.hours + self.minutes + self.seconds > 0 {
            f.write_str("T")?;
            for (n, u) in [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')] {
                if n > 0 {
                    write!(f, "{n}{u}")?;
                }
            }
        }
        if *self == Self::default() {
            f.write_str("0D")?;
        }
        Ok(())
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC date and time.
    fn utc(text: &str) -> UnixSeconds {
        Date::parse_instant(text).unwrap()
    }

    #[test]
    fn adds_on_the_calendar_across_month_ends_leap_years_and_years() {
        let after = |d: &str, at: &str| IsoDuration::parse(d).unwrap().after(utc(at));
        let cases = [
            ("P1M", "2026-01-31T10:00:00Z", "2026-03-01T00:00:00Z"),
            ("P1M", "2028-01-31T10:00:00Z", "2028-03-01T00:00:00Z"),
            ("P1M", "2026-02-28T23:59:59Z", "2026-03-29T00:00:00Z"),
            ("P1Y", "2028-02-29T23:59:59Z", "2029-03-01T00:00:00Z"),
            ("P4Y", "2028-02-29T00:00:00Z", "2032-03-01T00:00:00Z"),
            ("P7Y", "2026-12-31T12:00:00Z", "2034-01-01T00:00:00Z"),
            ("P1M1D", "2026-01-31T00:00:00Z", "2026-03-02T00:00:00Z"),
            ("P30D", "2026-12-15T08:00:00Z", "2027-01-15T00:00:00Z"),
            ("P1DT6H", "2026-12-31T08:00:00Z", "2027-01-02T06:00:00Z"),
            ("PT12H", "2026-12-31T18:00:00Z", "2027-01-01T06:00:00Z"),
        ];
        for (d, at, expected) in cases {
            assert_eq!(crate::clock::rfc3339(after(d, at)), expected, "{d} after {at}");
        }
    }

    #[test]
    fn expired_through_is_the_last_instant_that_has_expired() {
        for (d, now) in [
            ("P1M", "2026-03-31T10:00:00Z"),
            ("P1M", "2026-03-28T10:00:00Z"),
            ("P1Y", "2029-02-28T00:00:00Z"),
            ("P2Y6M", "2027-08-31T23:59:59Z"),
            ("P90D", "2027-01-01T00:00:00Z"),
        ] {
            let d = IsoDuration::parse(d).unwrap();
            let now = utc(now);
            let through = d.expired_through(now).unwrap();
            assert!(d.after(through) <= now, "{d} {through}");
            assert!(d.after(through + 1) > now, "{d}: {} has expired too", through + 1);
        }
        // Kept through 30 March and 31 March: on 31 March everything of 28 February has gone
        // and nothing of 1 March yet, whatever the hour.
        let month = IsoDuration::parse("P1M").unwrap();
        assert_eq!(month.expired_through(utc("2026-03-31T10:00:00Z")), Some(utc("2026-02-28T23:59:59Z")));
        // The leap day and the day before it are both kept through 28 February two years on.
        let two = IsoDuration::parse("P2Y").unwrap();
        assert_eq!(two.expired_through(utc("2030-02-28T23:59:59Z")), Some(utc("2028-02-27T23:59:59Z")));
        assert_eq!(two.expired_through(utc("2030-03-01T00:00:00Z")), Some(utc("2028-02-29T23:59:59Z")));
        assert_eq!(IsoDuration::parse("P100Y").unwrap().expired_through(utc("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn parses_and_prints() {
        for text in ["P7Y", "P6M", "P30D", "PT12H", "P1Y2M3W4DT5H6M7S", "P2W", "PT1M"] {
            assert_eq!(IsoDuration::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(IsoDuration::parse("P1Y6M").unwrap().months, 6);
        assert_eq!(IsoDuration::parse("PT6M").unwrap().minutes, 6);
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "P", "PT", "7Y", "P7", "PY", "P1M1Y", "P1Y1Y", "P-1Y", "P1.5Y", "p7y", "P1H", "P99999999999Y"] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(IsoDuration::parse(&format!("P{}D", "1".repeat(100))).is_err());
    }

    #[test]
    fn describes_in_dutch_words() {
        let words = |text: &str| IsoDuration::parse(text).unwrap().describe_in(super::super::Language::Nl);
        assert_eq!(words("P7Y"), "7 jaar");
        assert_eq!(words("P1Y6M"), "1 jaar en 6 maanden");
        assert_eq!(words("P2W1D"), "2 weken en 1 dag");
        assert_eq!(words("P1MT1H"), "1 maand en 1 uur");
    }

    #[test]
    fn describes_in_words() {
        assert_eq!(IsoDuration::parse("P7Y").unwrap().describe(), "7 years");
        assert_eq!(IsoDuration::parse("P1Y6M15D").unwrap().describe(), "1 year, 6 months and 15 days");
    }
}
