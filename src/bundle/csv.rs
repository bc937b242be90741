//! Records as CSV (RFC 4180) for the zip package: nested objects and arrays flattened into
//! dotted column names (`address.city`, `tags.0`), one row per record, CRLF line ends.

use serde_json::{Map, Value};

/// Most columns one category's CSV may have; wider records are refused, not truncated.
pub(crate) const MAX_COLUMNS: usize = 1024;

/// Calls `f` with each flattened column name and cell, in document order. Strings stay as
/// they are, numbers and booleans as their JSON text, `null` and empty containers as empty
/// cells. One buffer is reused for the names: this is the per-record hot path of the zip
/// package.
pub(crate) fn for_each_cell(record: &Map<String, Value>, mut f: impl FnMut(&str, &str)) {
    let mut path = String::new();
    let mut scratch = String::new();
    for (key, value) in record {
        path.clear();
        path.push_str(key);
        visit(&mut path, value, &mut scratch, &mut f);
    }
}

fn visit(path: &mut String, value: &Value, scratch: &mut String, f: &mut impl FnMut(&str, &str)) {
    let len = path.len();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                path.push('.');
                path.push_str(key);
                visit(path, v, scratch, f);
                path.truncate(len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                path.push('.');
                path.push_str(itoa(i, scratch));
                visit(path, v, scratch, f);
                path.truncate(len);
            }
        }
        Value::String(s) => f(path, s),
        Value::Null | Value::Object(_) | Value::Array(_) => f(path, ""),
        Value::Bool(b) => f(path, if *b { "true" } else { "false" }),
        Value::Number(n) => {
            use std::fmt::Write;
            scratch.clear();
            // Writing to a String cannot fail.
            let _ = write!(scratch, "{n}");
            f(path, scratch);
        }
    }
}

fn itoa(i: usize, scratch: &mut String) -> &str {
    use std::fmt::Write;
    scratch.clear();
    // Writing to a String cannot fail.
    let _ = write!(scratch, "{i}");
    scratch
}

/// Appends one CSV row, quoting fields that need it (RFC 4180 §2) and ending with CRLF.
pub(crate) fn write_row<'a>(fields: impl IntoIterator<Item = &'a str>, out: &mut String) {
    write_cells(fields, out);
    out.push_str("\r\n");
}

/// Appends the cells of a row without its line end, for rows padded later.
pub(crate) fn write_cells<'a>(fields: impl IntoIterator<Item = &'a str>, out: &mut String) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(field, out);
    }
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
        let mut flat = Vec::new();
        for_each_cell(record.as_object().unwrap(), |column, cell| flat.push((column.to_owned(), cell.to_owned())));
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
