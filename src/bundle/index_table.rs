//! The records of a category as a table on `data/index.html`, and dates as a person
//! writes them: the page is read by people, the JSON and CSV files by programs.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::index_html::escape;
use super::index_wording::Wording;
use crate::calendar::Date;
use crate::clock::UnixSeconds;

/// Rows shown per category on the page; the files hold them all. A person reads a few
/// hundred rows at most, and the page must stay small enough to open on a phone.
pub(crate) const INDEX_MAX_ROWS_PER_CATEGORY: usize = 200;

/// `records` (the first of `total`) as a table in a scrolling wrapper, with a line saying
/// where the rest is when some are left out.
pub(crate) fn table(id: &str, records: &[Map<String, Value>], total: usize, w: &Wording) -> String {
    if records.is_empty() {
        return format!("<p>{}</p>", w.no_records);
    }
    // Columns in first-seen order: the order the source writes its fields in.
    let mut columns: Vec<&str> = Vec::new();
    for record in records {
        for key in record.keys() {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let mut html = String::new();
    if records.len() < total {
        let link = |file: String| format!("<a href=\"{0}\">{0}</a>", escape(&file));
        let (csv, json) = (link(format!("{id}.csv")), link(format!("{id}.json")));
        let _ = write!(html, "<p>{}</p>", (w.showing)(&grouped(records.len()), &grouped(total), &csv, &json));
    }
    html.push_str("<div class=\"table\"><table><thead><tr>");
    for column in &columns {
        let _ = write!(html, "<th>{}</th>", escape(column));
    }
    html.push_str("</tr></thead><tbody>\n");
    for record in records {
        html.push_str("<tr>");
        for column in &columns {
            let text = record.get(*column).map(|v| cell(v, w, 0)).unwrap_or_default();
            let _ = write!(html, "<td>{}</td>", escape(&text));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>");
    html
}

/// A value as text: dates in words, nested objects and arrays on one line.
fn cell(value: &Value, w: &Wording, depth: usize) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => (if *b { w.yes } else { w.no }).to_owned(),
        // Numbers stay as the source wrote them: an invoice number is not a quantity.
        Value::Number(n) => n.to_string(),
        Value::String(s) => human_date(s, w).unwrap_or_else(|| s.clone()),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|v| cell(v, w, depth + 1)).collect();
            wrap(inner.join(", "), depth, '[', ']')
        }
        Value::Object(fields) => {
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {}", cell(v, w, depth + 1))).collect();
            wrap(inner.join(", "), depth, '{', '}')
        }
    }
}

/// Brackets only inside a cell's value: at the top the cell itself delimits it.
fn wrap(inner: String, depth: usize, open: char, close: char) -> String {
    if depth == 0 { inner } else { format!("{open}{inner}{close}") }
}

/// `YYYY-MM-DD` as "29 November 2026"; an RFC 3339 timestamp as "29 November 2026, 14:05
/// UTC"; anything else `None`.
pub(crate) fn human_date(text: &str, w: &Wording) -> Option<String> {
    if text.len() == 10 {
        return Date::parse(text).map(|d| day(d, w));
    }
    // A timestamp starts with a date and a separator; this spares the parser plain text.
    if text.len() < 16 || Date::parse(text.get(..10)?).is_none() {
        return None;
    }
    Date::parse_timestamp(text).map(|t| human_instant(t, w))
}

/// An instant as "29 November 2026, 14:05 UTC".
pub(crate) fn human_instant(t: UnixSeconds, w: &Wording) -> String {
    let seconds = t % 86_400;
    format!("{}, {:02}:{:02} UTC", day(Date::at(t, 0), w), seconds / 3600, seconds % 3600 / 60)
}

fn day(d: Date, w: &Wording) -> String {
    let month = w.months.get(usize::from(d.month()).saturating_sub(1)).copied().unwrap_or_default();
    format!("{} {month} {}", d.day(), d.year())
}

/// A count with its thousands apart ("12 345"), with no-break spaces, as both languages
/// accept.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn records(values: Value) -> Vec<Map<String, Value>> {
        serde_json::from_value(values).unwrap()
    }

    #[test]
    fn dates_read_as_people_write_them() {
        let (en, nl) = (&Wording::EN, &Wording::NL);
        assert_eq!(human_date("2026-11-29", en).as_deref(), Some("29 November 2026"));
        assert_eq!(human_date("2026-11-29T14:05:09Z", en).as_deref(), Some("29 November 2026, 14:05 UTC"));
        assert_eq!(human_date("2026-11-29T15:05:00.5+01:00", nl).as_deref(), Some("29 november 2026, 14:05 UTC"));
        assert_eq!(human_date("2026-03-01 00:30:00", nl).as_deref(), Some("1 maart 2026, 00:30 UTC"));
        for not_a_date in ["2026-02-30", "20261129", "1795305600", "2026-11-29 and more", "C-2024-0113", ""] {
            assert_eq!(human_date(not_a_date, en), None, "{not_a_date}");
        }
        assert_eq!(human_instant(1_795_305_600, en), "22 November 2026, 00:00 UTC");
    }

    #[test]
    fn cells_are_compact_escaped_and_numbers_untouched() {
        let rows = records(json!([
            {"name": "<script>alert(1)</script>", "since": "2024-02-01", "kwh": 20261129, "paid": true},
            {"address": {"street": "Keizersgracht 1", "tags": ["a", {"b": null}]}, "name": "Bob & Co"}
        ]));
        let html = table("contact", &rows, 2, &Wording::EN);
        assert!(html.contains("<th>name</th><th>since</th><th>kwh</th><th>paid</th><th>address</th>"), "{html}");
        assert!(html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"), "{html}");
        assert!(html.contains("<td>1 February 2024</td><td>20261129</td><td>yes</td><td></td>"), "{html}");
        assert!(html.contains("<td>street: Keizersgracht 1, tags: [a, {b: }]</td>"), "{html}");
        assert!(html.contains("<td>Bob &amp; Co</td>"), "{html}");
        assert!(!html.contains("Showing"), "all rows shown: {html}");
    }

    #[test]
    fn a_long_category_says_how_many_are_shown_and_where_the_rest_is() {
        let rows = records(json!([{"n": 1}, {"n": 2}]));
        let html = table("meter_readings", &rows, 12_345, &Wording::EN);
        assert!(
            html.contains(
                "<p>Showing 2 of 12\u{a0}345 records; the full set is in \
                 <a href=\"meter_readings.csv\">meter_readings.csv</a> / \
                 <a href=\"meter_readings.json\">meter_readings.json</a>.</p>"
            ),
            "{html}"
        );
        assert!(table("x", &rows, 3, &Wording::NL).contains("2 van de 3 records getoond"));
        assert_eq!(table("x", &[], 0, &Wording::NL), "<p>We bewaren geen gegevens van deze soort over u.</p>");
    }
}
