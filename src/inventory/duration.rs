//! ISO 8601 durations (`P7Y`, `P6M`, `P30D`, `PT12H`) for retention periods.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        let parts: Vec<String> = [
            (self.years, "year"),
            (self.months, "month"),
            (self.weeks, "week"),
            (self.days, "day"),
            (self.hours, "hour"),
            (self.minutes, "minute"),
            (self.seconds, "second"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") })
        .collect();
        match parts.as_slice() {
            [] => "0 days".to_owned(),
            [one] => one.clone(),
            [head @ .., last] => format!("{} and {last}", head.join(", ")),
        }
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
    fn describes_in_words() {
        assert_eq!(IsoDuration::parse("P7Y").unwrap().describe(), "7 years");
        assert_eq!(IsoDuration::parse("P1Y6M15D").unwrap().describe(), "1 year, 6 months and 15 days");
    }
}
