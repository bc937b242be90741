//! `type = "sql"` sources: the queries configured per category, and the scanner that finds
//! their `:name` parameters at load and turns them into the backend's positional
//! placeholders (`$1`, `$2`, …), so every value is bound, never spliced into SQL text.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::inventory::Category;

pub const DEFAULT_SQL_MAX_CONNECTIONS: u32 = 4;
/// Most connections a `sql` source may open.
pub const MAX_SQL_CONNECTIONS: u32 = 64;
pub const DEFAULT_SQL_TIMEOUT_SECONDS: u64 = 10;

/// `[sources.queries.<category>]`: what the gateway runs for one category. `fetch` is
/// required; the writes a source carries out for that category are exactly those given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlQueries {
    /// Returns the subject's records, one a row; column names are field names, a dotted
    /// name (`"address.street"`) nests.
    pub fetch: String,
    /// Changes one record: `:id` names it, `:<field>` is a field of the merge patch (NULL
    /// when the patch does not set it or sets it to null), `:patch` the whole patch as JSON.
    #[serde(default)]
    pub rectify: Option<String>,
    #[serde(default)]
    pub erase: Option<String>,
    /// Configured together with `lift_restriction`.
    #[serde(default)]
    pub restrict: Option<String>,
    #[serde(default)]
    pub lift_restriction: Option<String>,
    /// `:purpose` is what the person objects to.
    #[serde(default)]
    pub object: Option<String>,
    /// Retention at the source: everyone's records dated before `:before` (a `YYYY-MM-DD`
    /// day, or an RFC 3339 instant for periods shorter than a day), one row per person
    /// with the columns `subject`, `records` (how many) and `oldest` (the earliest date).
    /// The only query without `:subject`: it reads across people, and only counts.
    #[serde(default)]
    pub dated_before: Option<String>,
    /// Erases the `:subject`'s records dated before `:before`, and nothing else.
    #[serde(default)]
    pub erase_dated_before: Option<String>,
}

/// The database a `sql` source's URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlBackend {
    Postgres,
    Sqlite,
}

impl SqlBackend {
    /// `postgres://` or `postgresql://`, or `sqlite:`; `None` for anything else.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Self::Postgres),
            "sqlite" => Some(Self::Sqlite),
            _ => None,
        }
    }
}

/// The backend of a `sql` source's URL, once the URL parses as its driver reads it.
pub(super) fn check_url(url: &str) -> Result<SqlBackend, String> {
    use std::str::FromStr;
    let backend = SqlBackend::of_url(url).ok_or("must be a postgres://, postgresql:// or sqlite: URL")?;
    let parsed = match backend {
        SqlBackend::Postgres => sqlx::postgres::PgConnectOptions::from_str(url).map(drop),
        SqlBackend::Sqlite => sqlx::sqlite::SqliteConnectOptions::from_str(url).map(drop),
    };
    // The driver's message names the part that is wrong, never the password.
    parsed.map_err(|e| format!("not a usable database URL: {e}"))?;
    Ok(backend)
}

/// A SQLite URL whose file is a relative path, made absolute against `base` (the config
/// file's directory, as for file sources); `None` for any other URL.
pub(super) fn resolve_sqlite_path(url: &str, base: &Path) -> Option<String> {
    // As sqlx reads it: the scheme, then the file, then `?` and options.
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (file, options) = rest.split_once('?').map_or((rest, None), |(f, o)| (f, Some(o)));
    if file.is_empty() || file.starts_with(":memory:") || file.starts_with("file:") || Path::new(file).is_absolute() {
        return None;
    }
    let options = options.map(|o| format!("?{o}")).unwrap_or_default();
    Some(format!("sqlite://{}{options}", base.join(file).display()))
}

/// The queries of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlOperation {
    Fetch,
    Rectify,
    Erase,
    Restrict,
    LiftRestriction,
    Object,
    DatedBefore,
    EraseDatedBefore,
}

impl SqlOperation {
    /// The query's key under `[sources.queries.<category>]`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Fetch => "fetch",
            Self::Rectify => "rectify",
            Self::Erase => "erase",
            Self::Restrict => "restrict",
            Self::LiftRestriction => "lift_restriction",
            Self::Object => "object",
            Self::DatedBefore => "dated_before",
            Self::EraseDatedBefore => "erase_dated_before",
        }
    }

    /// The gateway's own parameters this query may use.
    fn reserved(self) -> &'static [&'static str] {
        match self {
            Self::Rectify => &["subject", "id", "patch"],
            Self::Object => &["subject", "purpose"],
            Self::DatedBefore => &["before"],
            Self::EraseDatedBefore => &["subject", "before"],
            _ => &["subject"],
        }
    }
}

/// What one positional placeholder is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlParam {
    /// The subject reference, as text.
    Subject,
    /// Rectify: the record's id, as text.
    Id,
    /// Object: the purpose objected to, as text.
    Purpose,
    /// Rectify: the whole merge patch, as JSON text.
    Patch,
    /// Rectify: a (dotted) field of the merge patch.
    Field(String),
    /// Retention: the cutoff, as text ([`crate::connectors::Cutoff::text`]).
    Before,
}

/// A configured query ready to run: `text` has `$n` where the config had a `:name`, and
/// `$n` is bound to `params[n - 1]`; a name used twice is one placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlStatement {
    pub text: String,
    pub params: Vec<SqlParam>,
}

impl SqlStatement {
    /// The fields of the merge patch the statement binds (rectify).
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.params.iter().filter_map(|p| match p {
            SqlParam::Field(name) => Some(name.as_str()),
            _ => None,
        })
    }
}

impl SqlQueries {
    /// Each configured query with its operation, fetch first.
    pub fn configured(&self) -> impl Iterator<Item = (SqlOperation, &str)> {
        [
            (SqlOperation::Fetch, Some(&self.fetch)),
            (SqlOperation::Rectify, self.rectify.as_ref()),
            (SqlOperation::Erase, self.erase.as_ref()),
            (SqlOperation::Restrict, self.restrict.as_ref()),
            (SqlOperation::LiftRestriction, self.lift_restriction.as_ref()),
            (SqlOperation::Object, self.object.as_ref()),
            (SqlOperation::DatedBefore, self.dated_before.as_ref()),
            (SqlOperation::EraseDatedBefore, self.erase_dated_before.as_ref()),
        ]
        .into_iter()
        .filter_map(|(op, text)| text.map(|t| (op, t.as_str())))
    }

    /// Every configured query prepared for `backend`; errors as (the query's key, message).
    pub fn prepare(&self, backend: SqlBackend) -> Result<Vec<(SqlOperation, SqlStatement)>, (String, String)> {
        if self.restrict.is_some() != self.lift_restriction.is_some() {
            let missing = if self.restrict.is_some() { "lift_restriction" } else { "restrict" };
            return Err((missing.to_owned(), "restrict and lift_restriction are configured together".to_owned()));
        }
        self.configured()
            .map(|(op, text)| prepare(text, op, backend).map(|s| (op, s)).map_err(|m| (op.key().to_owned(), m)))
            .collect()
    }
}

/// Checks a `sql` source against the inventory: every category it holds has queries, every
/// queries table is one of its categories, and a rectify query binds only fields the
/// category lets people correct. Errors as (key under the source, message).
pub(super) fn check_categories(
    source_id: &str,
    queries: &BTreeMap<String, SqlQueries>,
    backend: SqlBackend,
    categories: &[Category],
) -> Result<(), (String, String)> {
    for category in categories.iter().filter(|c| c.source == source_id) {
        if !queries.contains_key(&category.id) {
            return Err((
                "queries".to_owned(),
                format!("category {:?} is held here but has no [sources.queries.{}]", category.id, category.id),
            ));
        }
    }
    for (id, set) in queries {
        let key = |field: &str| format!("queries.{id}.{field}");
        let Some(category) = categories.iter().find(|c| c.id == *id && c.source == source_id) else {
            return Err((format!("queries.{id}"), format!("no category {id:?} has source {source_id:?}")));
        };
        for (op, statement) in set.prepare(backend).map_err(|(k, m)| (key(&k), m))? {
            for field in statement.fields() {
                let related = |r: &String| {
                    r == field || r.starts_with(&format!("{field}.")) || field.starts_with(&format!("{r}."))
                };
                if !category.rectifiable.iter().any(related) {
                    let listed =
                        if category.rectifiable.is_empty() { "none".into() } else { category.rectifiable.join(", ") };
                    return Err((
                        key(op.key()),
                        format!(":{field} is not a field of {id:?} people may correct (rectifiable: {listed})"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Finds the `:name` parameters of `text` for `op` and numbers them. Literals (`'…'`,
/// PostgreSQL's `E'…'` and `$tag$…$tag$`), quoted identifiers (`"…"`, and SQLite's
/// `` `…` `` and `[…]`), comments and `::` casts are passed over. Refused: a parameter the
/// operation does not know, a query without `:subject` (or rectify without `:id`),
/// placeholders of the backend's own (`$1`; in SQLite also `?`, `@x`, `$x`), more than one
/// statement, and a fetch that does not start with `SELECT`, `WITH`, `VALUES` or `TABLE`.
pub(super) fn prepare(text: &str, op: SqlOperation, backend: SqlBackend) -> Result<SqlStatement, String> {
    let sqlite = backend == SqlBackend::Sqlite;
    let b = text.as_bytes();
    let (mut out, mut names) = (String::with_capacity(text.len() + 8), Vec::<String>::new());
    let (mut i, mut copied, mut ended) = (0, 0, false);
    while i < b.len() {
        let next = b.get(i + 1).copied();
        let start = i;
        i = match b[i] {
            c if c.is_ascii_whitespace() => i + 1,
            b'-' if next == Some(b'-') => b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n + 1),
            b'/' if next == Some(b'*') => skip_block_comment(b, i, !sqlite)?,
            _ if ended => return Err("one statement per query: nothing may follow the ';'".into()),
            b';' => {
                ended = true;
                i + 1
            }
            b'\'' => {
                let escapes = !sqlite && i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !is_name_byte(b[i - 2]));
                skip_quoted(b, i, b'\'', escapes)?
            }
            b'"' => skip_quoted(b, i, b'"', false)?,
            b'`' if sqlite => skip_quoted(b, i, b'`', false)?,
            b'[' if sqlite => b[i..].iter().position(|&c| c == b']').map(|n| i + n + 1).ok_or("unclosed '['")?,
            b'$' if next.is_some_and(|c| c.is_ascii_digit()) => {
                return Err("positional placeholders ($1) are the gateway's: name parameters (:subject)".into());
            }
            b'$' if !sqlite && (i == 0 || !is_name_byte(b[i - 1])) => match dollar_tag(b, i) {
                Some(tag) => skip_dollar_quoted(b, i, tag)?,
                None => i + 1,
            },
            b'?' | b'@' | b'$' if sqlite => {
                return Err(format!("{:?} starts a parameter in SQLite: name parameters :like_this", b[i] as char));
            }
            b':' if next == Some(b':') => i + 2,
            b':' if next.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') => {
                let end = name_end(b, i + 1);
                let name = &text[i + 1..end];
                check_name(name, op)?;
                let n = match names.iter().position(|known| known == name) {
                    Some(n) => n + 1,
                    None => {
                        names.push(name.to_owned());
                        names.len()
                    }
                };
                out.push_str(&text[copied..i]);
                out.push_str(&format!("${n}"));
                copied = end;
                end
            }
            _ => i + 1,
        };
        debug_assert!(i > start);
    }
    out.push_str(&text[copied..]);
    if out.trim().is_empty() {
        return Err("empty query".into());
    }
    if op == SqlOperation::DatedBefore {
        if !names.iter().any(|n| n == "before") {
            return Err("the dated_before query must use :before, the cutoff date".into());
        }
    } else if !names.iter().any(|n| n == "subject") {
        return Err("the query must use :subject: without it, it would reach everyone's records".into());
    }
    if op == SqlOperation::EraseDatedBefore && !names.iter().any(|n| n == "before") {
        return Err(
            "the erase_dated_before query must use :before: without it, it would erase newer records too".into()
        );
    }
    if op == SqlOperation::Rectify && !names.iter().any(|n| n == "id") {
        return Err("the rectify query must use :id, which names the one record to change".into());
    }
    if matches!(op, SqlOperation::Fetch | SqlOperation::DatedBefore) {
        let word = first_word(&out);
        if !["select", "with", "values", "table"].contains(&word.to_ascii_lowercase().as_str()) {
            return Err(format!("a fetch query reads: it starts with SELECT or WITH, not {word:?}"));
        }
    }
    let params = names.into_iter().map(|n| param(n, op)).collect();
    Ok(SqlStatement { text: out, params })
}

fn param(name: String, op: SqlOperation) -> SqlParam {
    match (name.as_str(), op) {
        ("subject", _) => SqlParam::Subject,
        ("id", SqlOperation::Rectify) => SqlParam::Id,
        ("patch", SqlOperation::Rectify) => SqlParam::Patch,
        ("purpose", SqlOperation::Object) => SqlParam::Purpose,
        ("before", SqlOperation::DatedBefore | SqlOperation::EraseDatedBefore) => SqlParam::Before,
        _ => SqlParam::Field(name),
    }
}

fn check_name(name: &str, op: SqlOperation) -> Result<(), String> {
    let reserved = op.reserved();
    // In rectify, every other name is a field of the patch.
    if reserved.contains(&name) || op == SqlOperation::Rectify {
        return Ok(());
    }
    let allowed: Vec<String> = reserved.iter().map(|r| format!(":{r}")).collect();
    let fields = if op == SqlOperation::Rectify { " and the patch's fields" } else { "" };
    Err(format!("unknown parameter :{name}; {} allows {}{fields}", op.key(), allowed.join(", ")))
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Where a parameter name starting at `i` ends: name bytes, and dots between them.
fn name_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (is_name_byte(b[i]) || b[i] == b'.' && b.get(i + 1).is_some_and(|&c| is_name_byte(c))) {
        i += 1;
    }
    i
}

/// Past the quoted text opening at `i` (closed by `quote`; a doubled quote is one quote;
/// with `escapes`, a backslash escapes the next byte).
fn skip_quoted(b: &[u8], i: usize, quote: u8, escapes: bool) -> Result<usize, String> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if escapes => j += 2,
            c if c == quote && b.get(j + 1) == Some(&quote) => j += 2,
            c if c == quote => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(format!("unclosed {}", quote as char))
}

/// Past the `/* … */` opening at `i`; PostgreSQL's nest.
fn skip_block_comment(b: &[u8], i: usize, nested: bool) -> Result<usize, String> {
    let (mut j, mut depth) = (i + 2, 1);
    while j < b.len() {
        if b[j..].starts_with(b"*/") {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return Ok(j);
            }
        } else if nested && b[j..].starts_with(b"/*") {
            depth += 1;
            j += 2;
        } else {
            j += 1;
        }
    }
    Err("unclosed /* comment".into())
}

/// The `$tag$` opening a PostgreSQL dollar-quoted string at `i`, if one does.
fn dollar_tag(b: &[u8], i: usize) -> Option<&[u8]> {
    let len = b[i + 1..].iter().position(|&c| c == b'$')?;
    let tag = &b[i + 1..i + 1 + len];
    let ok = tag.first().is_none_or(|c| !c.is_ascii_digit()) && tag.iter().all(|&c| is_name_byte(c));
    ok.then(|| &b[i..i + len + 2])
}

fn skip_dollar_quoted(b: &[u8], i: usize, tag: &[u8]) -> Result<usize, String> {
    let body = i + tag.len();
    let close = b[body..].windows(tag.len()).position(|w| w == tag).ok_or("unclosed dollar-quoted string")?;
    Ok(body + close + tag.len())
}

/// The first word of `sql` after whitespace, comments and opening parentheses.
fn first_word(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(comment) = trimmed.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(comment) = trimmed.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, r)| r);
        } else {
            let end = trimmed.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(trimmed.len());
            return &trimmed[..end];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: SqlBackend = SqlBackend::Postgres;
    const LITE: SqlBackend = SqlBackend::Sqlite;

    fn ok(text: &str, op: SqlOperation, backend: SqlBackend) -> SqlStatement {
        prepare(text, op, backend).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn named_parameters_become_numbered_placeholders() {
        let s = ok(
            "UPDATE c SET name = COALESCE(:name, name), street = :address.street WHERE ref = :subject AND id = :id::int AND n = :name",
            SqlOperation::Rectify,
            PG,
        );
        assert_eq!(
            s.text,
            "UPDATE c SET name = COALESCE($1, name), street = $2 WHERE ref = $3 AND id = $4::int AND n = $1"
        );
        assert_eq!(
            s.params,
            [SqlParam::Field("name".into()), SqlParam::Field("address.street".into()), SqlParam::Subject, SqlParam::Id]
        );
        assert_eq!(s.fields().collect::<Vec<_>>(), ["name", "address.street"]);
    }

    #[test]
    fn literals_identifiers_comments_and_casts_are_not_parameters() {
        let text = "SELECT 'a :x '':y', E'\\' :z', $$ :w $$, $t$ :v $t$, \"col :u\", x::text, a::int -- :c\n /* :d /* :e */ */ FROM t WHERE r = :subject";
        let s = ok(text, SqlOperation::Fetch, PG);
        assert_eq!(s.params, [SqlParam::Subject]);
        assert!(s.text.ends_with("WHERE r = $1") && s.text.contains("'a :x '':y'"), "{}", s.text);
        let s = ok("SELECT `a :x`, [b :y], 'c :z' FROM t WHERE r = :subject;", SqlOperation::Fetch, LITE);
        assert_eq!(s.params, [SqlParam::Subject]);
    }

    #[test]
    fn parameters_must_fit_the_operation() {
        for (text, op, needle) in [
            ("DELETE FROM t WHERE r = :subject AND x = :name", SqlOperation::Erase, "unknown parameter :name"),
            ("DELETE FROM t WHERE r = :subject AND p = :purpose", SqlOperation::Erase, ":purpose"),
            ("SELECT * FROM t WHERE r = :subject AND id = :id", SqlOperation::Fetch, "unknown parameter :id"),
            ("DELETE FROM t", SqlOperation::Erase, ":subject"),
            ("SELECT * FROM t WHERE r = ':subject'", SqlOperation::Fetch, ":subject"),
            ("UPDATE t SET a = :a WHERE r = :subject", SqlOperation::Rectify, ":id"),
            ("DELETE FROM t WHERE r = :subject RETURNING *", SqlOperation::Fetch, "\"DELETE\""),
            ("SELECT * FROM t WHERE r = $1 OR r = :subject", SqlOperation::Fetch, "positional"),
            ("DELETE FROM t WHERE r = :subject; DROP TABLE t", SqlOperation::Erase, "one statement"),
            ("SELECT * FROM t WHERE r = :subject AND s = 'x", SqlOperation::Fetch, "unclosed '"),
            ("SELECT * FROM t WHERE r = :subject /* x", SqlOperation::Fetch, "unclosed /*"),
            ("SELECT $a$ x FROM t WHERE r = :subject", SqlOperation::Fetch, "unclosed dollar"),
        ] {
            let err = prepare(text, op, PG).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        for text in ["SELECT * FROM t WHERE r = ? OR r = :subject", "SELECT * FROM t WHERE r = @r OR r = :subject"] {
            assert!(prepare(text, SqlOperation::Fetch, LITE).unwrap_err().contains("SQLite"), "{text}");
        }
        // A PostgreSQL jsonb operator is no placeholder there.
        ok("SELECT * FROM t WHERE r = :subject AND j ? 'k'", SqlOperation::Fetch, PG);
        ok("(SELECT 1 AS id WHERE :subject <> '') ;  -- done", SqlOperation::Fetch, PG);
    }

    #[test]
    fn relative_sqlite_files_resolve_against_the_config_dir() {
        let base = Path::new("/etc/gw");
        assert_eq!(
            resolve_sqlite_path("sqlite://crm.db?mode=rw", base).as_deref(),
            Some("sqlite:///etc/gw/crm.db?mode=rw")
        );
        assert_eq!(resolve_sqlite_path("sqlite:data/crm.db", base).as_deref(), Some("sqlite:///etc/gw/data/crm.db"));
        for unchanged in ["sqlite:///var/crm.db", "sqlite::memory:", "postgres://h/db"] {
            assert_eq!(resolve_sqlite_path(unchanged, base), None, "{unchanged}");
        }
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(SqlBackend::of_url("postgres://u@h/db"), Some(SqlBackend::Postgres));
        assert_eq!(SqlBackend::of_url("postgresql://h/db"), Some(SqlBackend::Postgres));
        assert_eq!(SqlBackend::of_url("sqlite:///var/db.sqlite"), Some(SqlBackend::Sqlite));
        assert_eq!(SqlBackend::of_url("mysql://h/db"), None);
        assert_eq!(SqlBackend::of_url("crm.db"), None);
    }
}
