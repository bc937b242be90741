//! Records as CSV (RFC 4180) for the zip package: nested objects and arrays flattened into
//! dotted column names (`address.city`, `tags.0`), one row per record, CRLF line ends.

use serde_json::{Map, Value};

/// Most columns one category's CSV may have; wider records are refused, not truncated.
pub const MAX_COLUMNS: usize = 1024;

/// Flattens `record` into `(column, cell)` pairs in document order. Strings stay as they
/// are, numbers and booleans as their JSON text, `null` and empty containers as empty cells.
pub fn flatten(record: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in record {
        flatten_into(key.clone(), value, &mut out);
    }
    out
}

fn flatten_into(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                flatten_into(format!("{prefix}.{key}"), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten_into(format!("{prefix}.{i}"), v, out);
            }
        }
        Value::String(s) => out.push((prefix, s.clone())),
        Value::Null | Value::Object(_) | Value::Array(_) => out.push((prefix, String::new())),
        other => out.push((prefix, other.to_string())),
    }
}

/// Appends one CSV row, quoting fields that need it (RFC 4180 §2) and ending with CRLF.
pub fn write_row<'a>(fields: impl IntoIterator<Item = &'a str>, out: &mut String) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(field, out);
    }
    out.push_str("\r\n");
}

fn write_field(field: &str, out: &mut String) {
    // A cell starting like a formula would run when the file is opened in a spreadsheet;
    // a leading apostrophe makes it text there and is visible, not silent. `+` and `-` also
    // start phone numbers and negative amounts, so they are guarded only when the rest
    // looks like a formula.
    let formula_like = field.contains(['(', '=', '!', ':']);
    let guarded = field.starts_with(['=', '@', '\t', '\r'])
        || (field.starts_with(['+', '-']) && formula_like && !is_number(field));
    let needs_quotes =
        guarded || field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ');
    if !needs_quotes {
        out.push_str(field);
        return;
    }
    out.push('"');
    if guarded {
        out.push('\'');
    }
    out.push_str(&field.replace('"', "\"\""));
    out.push('"');
}

fn is_number(field: &str) -> bool {
    serde_json::from_str::<serde_json::Number>(field).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_nested_records() {
        let record = json!({"name": "Alice", "address": {"city": "Utrecht", "geo": {"lat": 52.09}}, "tags": ["a", "b"], "phone": null, "vip": true, "empty": {}});
        let flat = flatten(record.as_object().unwrap());
        let expected = [
            ("name", "Alice"),
            ("address.city", "Utrecht"),
            ("address.geo.lat", "52.09"),
            ("tags.0", "a"),
            ("tags.1", "b"),
            ("phone", ""),
            ("vip", "true"),
            ("empty", ""),
        ];
        assert_eq!(flat, expected.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[test]
    fn quotes_per_rfc4180_and_guards_formulas() {
        let mut out = String::new();
        write_row(
            [
                "plain",
                "a,b",
                "say \"hi\"",
                "two\nlines",
                "=SUM(A1)",
                "-5",
                "+31 6 1234",
                "-2+cmd|'/C calc'!A0",
                "@x",
                " padded",
            ],
            &mut out,
        );
        assert_eq!(
            out,
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"'=SUM(A1)\",-5,+31 6 1234,\"'-2+cmd|'/C calc'!A0\",\"'@x\",\" padded\"\r\n"
        );
    }
}
