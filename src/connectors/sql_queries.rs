//! What the `sql` connector sends and reads: the values bound to a configured query's
//! placeholders (the subject, a record id, a purpose, fields of a merge patch), and rows
//! turned into records, each column's value mapped by its database type.

use serde_json::{Map, Number, Value};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgRow, PgTypeInfo, PgTypeKind, PgValueFormat, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use super::{ConnectorError, MAX_RECORD_BYTES, Record};
use crate::calendar::Date;
use crate::config::{SqlParam, SqlStatement};

/// Most records one fetch query may return.
pub const MAX_SQL_RECORDS: usize = 100_000;
/// PostgreSQL's `unknown` pseudo-type: a parameter declared so takes its type from where
/// the query uses it, as an untyped literal would.
const PG_UNKNOWN: Oid = Oid(705);
/// PostgreSQL counts timestamps and dates from 2000-01-01.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One placeholder's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bound {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// The gateway's values a query may use.
#[derive(Debug, Clone, Copy)]
pub(super) struct Inputs<'a> {
    pub subject: &'a str,
    pub id: Option<&'a str>,
    pub purpose: Option<&'a str>,
    pub patch: Option<&'a Record>,
    pub before: Option<&'a str>,
}

impl<'a> Inputs<'a> {
    pub(super) fn subject(subject: &'a str) -> Self {
        Self { subject, id: None, purpose: None, patch: None, before: None }
    }
}

/// The values of `statement`'s placeholders, in order. A patch field is bound by its JSON
/// type (an object or array as JSON text), NULL when the patch does not set it.
pub(super) fn values(statement: &SqlStatement, inputs: &Inputs<'_>) -> Vec<Bound> {
    let text = |t: Option<&str>| t.map_or(Bound::Null, |t| Bound::Text(t.to_owned()));
    statement
        .params
        .iter()
        .map(|param| match param {
            SqlParam::Subject => Bound::Text(inputs.subject.to_owned()),
            SqlParam::Id => text(inputs.id),
            SqlParam::Purpose => text(inputs.purpose),
            SqlParam::Before => text(inputs.before),
            SqlParam::Patch => {
                Bound::Text(inputs.patch.map_or_else(|| "{}".to_owned(), |p| Value::Object(p.clone()).to_string()))
            }
            SqlParam::Field(path) => inputs.patch.map_or(Bound::Null, |p| field(p, path)),
        })
        .collect()
}

fn field(patch: &Record, path: &str) -> Bound {
    let mut segments = path.split('.');
    let mut value = segments.next().and_then(|first| patch.get(first));
    for segment in segments {
        value = value.and_then(Value::as_object).and_then(|o| o.get(segment));
    }
    match value {
        None | Some(Value::Null) => Bound::Null,
        Some(Value::String(s)) => Bound::Text(s.clone()),
        Some(Value::Bool(b)) => Bound::Bool(*b),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Bound::Int(i),
            None => n.as_f64().map_or_else(|| Bound::Text(n.to_string()), Bound::Float),
        },
        Some(other) => Bound::Text(other.to_string()),
    }
}

/// The first field the patch changes that `statement` binds no parameter for: the query
/// would leave it as it is, so the rectification cannot be reported done.
pub(super) fn unbound_field(statement: &SqlStatement, patch: &Record) -> Option<String> {
    let mut leaves = Vec::new();
    collect_leaves(patch, "", &mut leaves);
    leaves.into_iter().find(|leaf| {
        !statement
            .fields()
            .any(|f| f == leaf || f.starts_with(&format!("{leaf}.")) || leaf.starts_with(&format!("{f}.")))
    })
}

fn collect_leaves(object: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (name, value) in object {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match value {
            // An empty object merges nothing.
            Value::Object(inner) => collect_leaves(inner, &path, out),
            _ => out.push(path),
        }
    }
}

/// A NULL whose type PostgreSQL infers from the query (`COALESCE($1, name)` takes
/// `name`'s), so an unset patch field fits a column of any type.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(PG_UNKNOWN)
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(&self, _buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Ok(IsNull::Yes)
    }
}

pub(super) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;
pub(super) type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

pub(super) fn bind_pg(mut query: PgQuery<'_>, values: Vec<Bound>) -> PgQuery<'_> {
    for value in values {
        query = match value {
            Bound::Text(s) => query.bind(s),
            Bound::Int(i) => query.bind(i),
            Bound::Float(f) => query.bind(f),
            Bound::Bool(b) => query.bind(b),
            Bound::Null => query.bind(UntypedNull),
        };
    }
    query
}

pub(super) fn bind_sqlite(mut query: SqliteQuery<'_>, values: Vec<Bound>) -> SqliteQuery<'_> {
    for value in values {
        query = match value {
            Bound::Text(s) => query.bind(s),
            Bound::Int(i) => query.bind(i),
            Bound::Float(f) => query.bind(f),
            Bound::Bool(b) => query.bind(b),
            Bound::Null => query.bind(None::<String>),
        };
    }
    query
}

/// Turns the rows of one fetch into records: the columns' names are read from the first.
#[derive(Debug, Default)]
pub(super) struct RowReader {
    /// Each column's field path (`address.street` → `["address", "street"]`).
    paths: Option<Vec<Vec<String>>>,
    count: usize,
}

impl RowReader {
    pub(super) fn pg(&mut self, row: &PgRow) -> Result<Record, ConnectorError> {
        self.start(row)?;
        let values = (0..row.len())
            .map(|i| pg_value(row.try_get_raw(i).map_err(decode_error)?, row.column(i).name()))
            .collect::<Result<Vec<_>, _>>()?;
        self.record(values)
    }

    pub(super) fn sqlite(&mut self, row: &SqliteRow) -> Result<Record, ConnectorError> {
        self.start(row)?;
        let values = (0..row.len()).map(|i| sqlite_value(row, i)).collect::<Result<Vec<_>, _>>()?;
        self.record(values)
    }

    fn start<R: Row>(&mut self, row: &R) -> Result<(), ConnectorError> {
        self.count += 1;
        if self.count > MAX_SQL_RECORDS {
            return Err(ConnectorError::Malformed(format!(
                "the fetch query returned more than {MAX_SQL_RECORDS} rows"
            )));
        }
        if self.paths.is_none() {
            self.paths = Some(paths(row.columns().iter().map(Column::name))?);
        }
        Ok(())
    }

    fn record(&self, values: Vec<Value>) -> Result<Record, ConnectorError> {
        let mut record = Record::new();
        for (path, value) in self.paths.iter().flatten().zip(values) {
            insert(&mut record, path, value);
        }
        let mut size = ByteCount(0);
        serde_json::to_writer(&mut size, &record).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        if size.0 > MAX_RECORD_BYTES {
            return Err(ConnectorError::Malformed(format!("a record is longer than {MAX_RECORD_BYTES} bytes")));
        }
        Ok(record)
    }
}

/// The field path of each column; two columns may not name the same field, nor one a
/// field inside the other's.
fn paths<'a>(names: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<String>>, ConnectorError> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    for name in names {
        let path: Vec<String> = name.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConnectorError::Malformed(format!("column {name:?} is not a dotted field name")));
        }
        if let Some(other) = paths.iter().find(|p| p.starts_with(&path) || path.starts_with(p)) {
            return Err(ConnectorError::Malformed(format!(
                "columns {:?} and {name:?} of the fetch query name the same field",
                other.join(".")
            )));
        }
        paths.push(path);
    }
    Ok(paths)
}

fn insert(record: &mut Record, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut object = record;
    for parent in parents {
        let slot = object.entry(parent.clone()).or_insert_with(|| Value::Object(Map::new()));
        // `paths` ruled out a scalar column where an object goes.
        let Value::Object(inner) = slot else { return };
        object = inner;
    }
    object.insert(last.clone(), value);
}

struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn decode_error(e: sqlx::Error) -> ConnectorError {
    ConnectorError::Malformed(format!("reading a row failed: {e}"))
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(
        || {
            let text = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            Value::String(text.to_owned())
        },
        Value::Number,
    )
}

fn json_text(text: &str, column: &str) -> Result<Value, ConnectorError> {
    serde_json::from_str(text)
        .map_err(|e| ConnectorError::Malformed(format!("column {column:?} holds invalid JSON: {e}")))
}

/// A PostgreSQL value as JSON: numbers and booleans as such, json and jsonb as their
/// JSON, numeric as its exact decimal text, timestamps as RFC 3339 (`Z` for `timestamptz`,
/// no offset for `timestamp`), dates as `YYYY-MM-DD`, text, enums and uuids as text.
/// Other types are refused by name, so the query can cast them.
fn pg_value(value: PgValueRef<'_>, column: &str) -> Result<Value, ConnectorError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let type_info = value.type_info().into_owned();
    let name = type_info.name().to_ascii_uppercase();
    let refuse = || {
        ConnectorError::Malformed(format!(
            "column {column:?} has type {name}, which a record cannot hold: cast it in the fetch query (::text, to_jsonb(…))"
        ))
    };
    let bad = |e: BoxDynError| ConnectorError::Malformed(format!("column {column:?}: {e}"));
    if value.format() == PgValueFormat::Text {
        let text = value.as_str().map_err(bad)?;
        return Ok(match name.as_str() {
            "BOOL" => Value::Bool(text == "t"),
            "INT2" | "INT4" | "INT8" | "OID" => {
                text.parse::<i64>().map_or_else(|_| Value::String(text.into()), Value::from)
            }
            "FLOAT4" | "FLOAT8" => text.parse::<f64>().map_or_else(|_| Value::String(text.into()), float),
            "JSON" | "JSONB" => json_text(text, column)?,
            _ => Value::String(text.to_owned()),
        });
    }
    let bytes = value.as_bytes().map_err(bad)?;
    let wrong_size = || ConnectorError::Malformed(format!("column {column:?}: {} bytes for a {name}", bytes.len()));
    macro_rules! be {
        ($t:ty) => {
            <$t>::from_be_bytes(bytes.try_into().map_err(|_| wrong_size())?)
        };
    }
    let text = || std::str::from_utf8(bytes).map_err(|e| bad(e.into()));
    Ok(match name.as_str() {
        "BOOL" => Value::Bool(bytes.first().ok_or_else(wrong_size)? != &0),
        "INT2" => be!(i16).into(),
        "INT4" => be!(i32).into(),
        "INT8" => be!(i64).into(),
        "OID" => be!(u32).into(),
        "FLOAT4" => float(f64::from(be!(f32))),
        "FLOAT8" => float(be!(f64)),
        "NUMERIC" => Value::String(numeric_text(bytes).ok_or_else(wrong_size)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "UNKNOWN" => Value::String(text()?.to_owned()),
        "JSON" => json_text(text()?, column)?,
        "JSONB" => match bytes.split_first() {
            Some((1, json)) => json_text(std::str::from_utf8(json).map_err(|e| bad(e.into()))?, column)?,
            _ => return Err(ConnectorError::Malformed(format!("column {column:?}: unknown jsonb version"))),
        },
        "DATE" => Value::String(date_text(i64::from(be!(i32)))),
        "TIMESTAMPTZ" => Value::String(timestamp_text(be!(i64), "Z")),
        "TIMESTAMP" => Value::String(timestamp_text(be!(i64), "")),
        "TIME" => Value::String(time_text(be!(i64))),
        "UUID" => {
            let b: [u8; 16] = bytes.try_into().map_err(|_| wrong_size())?;
            let h = |r: std::ops::Range<usize>| hex::encode(&b[r]);
            Value::String(format!("{}-{}-{}-{}-{}", h(0..4), h(4..6), h(6..8), h(8..10), h(10..16)))
        }
        _ if matches!(type_info.kind(), PgTypeKind::Enum(_)) => Value::String(text()?.to_owned()),
        _ => return Err(refuse()),
    })
}

/// PostgreSQL's binary numeric (base-10000 digits) as exact decimal text.
fn numeric_text(bytes: &[u8]) -> Option<String> {
    let word = |i: usize| bytes.get(i..i + 2).map(|w| i16::from_be_bytes([w[0], w[1]]));
    let (ndigits, weight, sign, dscale) = (word(0)?, word(2)?, word(4)? as u16, word(6)?);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<i16> = (0..usize::try_from(ndigits).ok()?).map(|i| word(8 + 2 * i)).collect::<Option<_>>()?;
    let digit = |i: i32| usize::try_from(i).ok().and_then(|i| digits.get(i)).copied().unwrap_or(0);
    let mut text = if sign == 0x4000 { "-".to_owned() } else { String::new() };
    if weight < 0 {
        text.push('0');
    }
    for i in 0..=i32::from(weight) {
        text.push_str(&if i == 0 { digit(i).to_string() } else { format!("{:04}", digit(i)) });
    }
    let scale = usize::try_from(dscale).ok()?;
    if scale > 0 {
        let mut fraction = String::new();
        let mut i = i32::from(weight) + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

fn date_text(days: i64) -> String {
    match days {
        d if d == i64::from(i32::MAX) => "infinity".into(),
        d if d == i64::from(i32::MIN) => "-infinity".into(),
        d => Date::new(2000, 1, 1).map_or_else(String::new, |epoch| epoch.add_days(d).to_string()),
    }
}

fn timestamp_text(micros: i64, zone: &str) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => format!(
            "{}T{}{zone}",
            date_text(micros.div_euclid(MICROS_PER_DAY)),
            time_text(micros.rem_euclid(MICROS_PER_DAY))
        ),
    }
}

/// `HH:MM:SS`, with the fraction of a second when there is one.
fn time_text(micros: i64) -> String {
    let (secs, fraction) = (micros / 1_000_000, micros % 1_000_000);
    let mut text = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if fraction != 0 {
        text.push_str(format!(".{fraction:06}").trim_end_matches('0'));
    }
    text
}

/// A SQLite value as JSON: integers (true and false in a column declared BOOLEAN), reals,
/// text and NULL; a blob is refused.
fn sqlite_value(row: &SqliteRow, i: usize) -> Result<Value, ConnectorError> {
    let column = row.column(i);
    let raw = row.try_get_raw(i).map_err(decode_error)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    let declared_bool = column.type_info().name() == "BOOLEAN";
    Ok(match storage.as_str() {
        "INTEGER" => {
            let n: i64 = row.try_get_unchecked(i).map_err(decode_error)?;
            if declared_bool { Value::Bool(n != 0) } else { n.into() }
        }
        "REAL" => float(row.try_get_unchecked(i).map_err(decode_error)?),
        "TEXT" => Value::String(row.try_get_unchecked(i).map_err(decode_error)?),
        _ => {
            return Err(ConnectorError::Malformed(format!(
                "column {:?} holds a {storage}, which a record cannot hold: convert it in the fetch query",
                column.name()
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::{SqlBackend, SqlOperation, SqlQueries};

    #[test]
    fn numeric_binary_becomes_exact_text() {
        let numeric = |ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]| {
            let mut b = Vec::new();
            for w in [ndigits, weight, sign as i16, dscale].iter().chain(digits) {
                b.extend_from_slice(&w.to_be_bytes());
            }
            numeric_text(&b).unwrap()
        };
        assert_eq!(numeric(2, 1, 0, 2, &[1, 2345]), "12345.00");
        assert_eq!(numeric(2, 0, 0x4000, 2, &[12, 5000]), "-12.50");
        assert_eq!(numeric(1, -1, 0, 4, &[12]), "0.0012");
        assert_eq!(numeric(1, -2, 0, 8, &[12]), "0.00000012");
        assert_eq!(numeric(0, 0, 0, 0, &[]), "0");
        assert_eq!(numeric(1, 2, 0, 0, &[7]), "700000000");
        assert_eq!(numeric(0, 0, 0xC000, 0, &[]), "NaN");
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(timestamp_text(0, "Z"), "2000-01-01T00:00:00Z");
        assert_eq!(timestamp_text(-1, ""), "1999-12-31T23:59:59.999999");
        assert_eq!(timestamp_text(MICROS_PER_DAY * 366 + 3_723_500_000, "Z"), "2001-01-01T01:02:03.5Z");
        assert_eq!(date_text(-1), "1999-12-31");
        assert_eq!(date_text(i64::from(i32::MAX)), "infinity");
    }

    #[test]
    fn patch_fields_are_bound_by_type_and_unbound_fields_found() {
        let sql = "UPDATE t SET a = :name, b = :address.street, c = :n, d = :f, e = :tags, g = :vip WHERE s = :subject AND id = :id AND p = :patch";
        let queries = SqlQueries {
            fetch: "SELECT 1 WHERE :subject = ''".into(),
            rectify: Some(sql.into()),
            ..Default::default()
        };
        let prepared = queries.prepare(SqlBackend::Postgres).unwrap();
        let (_, statement) = prepared.into_iter().find(|(op, _)| *op == SqlOperation::Rectify).unwrap();
        let patch = json!({"name": "x'); DROP TABLE t; --", "address": {"street": "S"}, "n": 7, "f": 1.5, "tags": ["a"], "vip": null});
        let patch = patch.as_object().unwrap();
        let inputs = Inputs { subject: "alice", id: Some("3"), purpose: None, patch: Some(patch), before: None };
        let got = values(&statement, &inputs);
        assert_eq!(
            got,
            [
                Bound::Text("x'); DROP TABLE t; --".into()),
                Bound::Text("S".into()),
                Bound::Int(7),
                Bound::Float(1.5),
                Bound::Text("[\"a\"]".into()),
                Bound::Null,
                Bound::Text("alice".into()),
                Bound::Text("3".into()),
                Bound::Text(Value::Object(patch.clone()).to_string()),
            ]
        );
        assert_eq!(unbound_field(&statement, patch), None);
        let other = json!({"address": {"city": "C"}, "name": "n"});
        assert_eq!(unbound_field(&statement, other.as_object().unwrap()).as_deref(), Some("address.city"));
    }

    #[test]
    fn columns_nest_and_may_not_collide() {
        let got = paths(["id", "address.street", "address.city"].into_iter()).unwrap();
        let reader = RowReader { paths: Some(got), count: 0 };
        let record = reader.record(vec![json!(1), json!("S"), Value::Null]).unwrap();
        assert_eq!(Value::Object(record), json!({"id": 1, "address": {"street": "S", "city": null}}));
        for names in [&["a", "a"][..], &["a", "a.b"], &["a.b", "a"], &["a..b"]] {
            assert!(paths(names.iter().copied()).is_err(), "{names:?}");
        }
        assert!(paths(["b.c", "b.d"].into_iter()).is_ok());
    }
}
