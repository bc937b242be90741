//! `[sources.operations]` of an HTTP source: the writes it carries out for rights requests
//! (rectify, erase, restrict, lift a restriction, object) and for retention (list and
//! erase records by date), each a method and a path template under `base_url`. A source
//! supports exactly the operations configured.

use serde::Deserialize;

/// The writes an HTTP source supports; an absent entry is an operation it does not.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpOperations {
    /// Body: the JSON Merge Patch (`application/merge-patch+json`); `{id}` names the record.
    #[serde(default)]
    pub rectify: Option<HttpOperation>,
    #[serde(default)]
    pub erase: Option<HttpOperation>,
    /// Configured together with `lift_restriction`.
    #[serde(default)]
    pub restrict: Option<HttpOperation>,
    #[serde(default)]
    pub lift_restriction: Option<HttpOperation>,
    /// Body: `{"purpose": …}`; `{purpose}` may also appear in the path.
    #[serde(default)]
    pub object: Option<HttpOperation>,
    /// Retention: a `GET` of everyone's records of `{category}` dated before `{before}`,
    /// sent with `?field=…&before=…`; it answers one object per person (see
    /// `connectors::http_source`). The one operation without `{subject}`; it names
    /// `{category}`.
    #[serde(default)]
    pub dated_before: Option<HttpOperation>,
    /// Retention: erases the person's records of `{category}` whose `{field}` is before
    /// `{before}`; the path must name all three, and `{subject}`.
    #[serde(default)]
    pub erase_dated_before: Option<HttpOperation>,
}

/// One write: `method {base_url}{path}`, the path's placeholders substituted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpOperation {
    pub method: HttpMethod,
    /// Relative to `base_url`, e.g. `/subjects/{subject}/{category}/{id}`. Placeholders:
    /// `{subject}` and `{category}`, `{id}` for rectify, `{purpose}` for object; each value
    /// is percent-encoded as (part of) one path segment.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// For `dated_before` only: a read.
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// The placeholders of `erase_dated_before`'s path.
const ERASE_DATED_PLACEHOLDERS: &[&str] = &["subject", "category", "field", "before"];
/// The placeholders of `dated_before`'s path.
const DATED_PLACEHOLDERS: &[&str] = &["category", "field", "before"];

impl HttpOperations {
    /// Each configured write with its name and the placeholders its path may use.
    pub fn writes(&self) -> impl Iterator<Item = (&'static str, &HttpOperation, &'static [&'static str])> {
        const PLAIN: &[&str] = &["subject", "category"];
        [
            ("rectify", &self.rectify, &["subject", "category", "id"][..]),
            ("erase", &self.erase, PLAIN),
            ("restrict", &self.restrict, PLAIN),
            ("lift_restriction", &self.lift_restriction, PLAIN),
            ("object", &self.object, &["subject", "category", "purpose"][..]),
            ("erase_dated_before", &self.erase_dated_before, ERASE_DATED_PLACEHOLDERS),
        ]
        .into_iter()
        .filter_map(|(name, op, allowed)| op.as_ref().map(|op| (name, op, allowed)))
    }

    /// The first mistake as (key under `operations.`, message): a path that is not a
    /// usable template, a write sent as a read or the other way round, or a restriction
    /// that could never be lifted.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (name, op, allowed) in self.writes() {
            op.segments(allowed, |_| Some("")).map_err(|m| (format!("{name}.path"), m))?;
            if op.method == HttpMethod::Get {
                return Err((format!("{name}.method"), "a write is POST, PUT, PATCH or DELETE, never GET".to_owned()));
            }
            // Without the person in the path, a write would reach every customer's records
            // of the category.
            if !op.path.contains("{subject}") {
                return Err((format!("{name}.path"), format!("{:?} must name the person: {{subject}}", op.path)));
            }
        }
        if let Some(op) = &self.erase_dated_before {
            // A source that does not know the route then refuses it, rather than taking it
            // for its erase-everything route and ignoring a query parameter; and each
            // category's own date and period are the ones applied, never another's.
            for needed in ["{before}", "{category}", "{field}"] {
                if !op.path.contains(needed) {
                    let m = format!("{:?} must name {needed}", op.path);
                    return Err(("erase_dated_before.path".to_owned(), m));
                }
            }
        }
        if let Some(op) = &self.dated_before {
            op.segments(DATED_PLACEHOLDERS, |_| Some("")).map_err(|m| ("dated_before.path".to_owned(), m))?;
            if op.method != HttpMethod::Get {
                return Err(("dated_before.method".to_owned(), "listing records by date is a GET".to_owned()));
            }
            if !op.path.contains("{category}") {
                let m = format!("{:?} must name {{category}}", op.path);
                return Err(("dated_before.path".to_owned(), m));
            }
        }
        if self.restrict.is_some() != self.lift_restriction.is_some() {
            let missing = if self.restrict.is_some() { "lift_restriction" } else { "restrict" };
            return Err((missing.to_owned(), "restrict and lift_restriction are configured together".to_owned()));
        }
        Ok(())
    }
}

impl HttpOperation {
    /// The path's segments (empty ones dropped), each placeholder replaced by
    /// `value(name)`; the values are not encoded here. Errors name what is wrong with the
    /// template: a placeholder not in `allowed`, an unclosed brace, a query, `.` or `..`.
    pub fn segments<'v>(
        &self,
        allowed: &[&str],
        value: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<Vec<String>, String> {
        if self.path.contains(['?', '#']) {
            return Err(format!("{:?}: a path only, without query or fragment", self.path));
        }
        let mut out = Vec::new();
        for template in self.path.split('/').filter(|s| !s.is_empty()) {
            if matches!(template, "." | "..") {
                return Err(format!("{:?}: no '.' or '..' segments", self.path));
            }
            let mut segment = String::new();
            let mut rest = template;
            while let Some(open) = rest.find(['{', '}']) {
                segment.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                let close = after.find('}').filter(|_| rest[open..].starts_with('{'));
                let Some(close) = close else {
                    return Err(format!("{:?}: unbalanced '{{' or '}}'", self.path));
                };
                let name = &after[..close];
                let known = allowed.contains(&name).then(|| value(name)).flatten();
                let Some(text) = known else {
                    let allowed: Vec<String> = allowed.iter().map(|a| format!("{{{a}}}")).collect();
                    return Err(format!("unknown placeholder {{{name}}}; allowed here: {}", allowed.join(", ")));
                };
                segment.push_str(text);
                rest = &after[close + 1..];
            }
            segment.push_str(rest);
            out.push(segment);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(path: &str) -> HttpOperation {
        HttpOperation { method: HttpMethod::Patch, path: path.to_owned() }
    }

    #[test]
    fn placeholders_are_substituted_per_segment() {
        let value = |name: &str| Some(if name == "id" { "a/b" } else { "x" });
        let got = op("/subjects/{subject}/{category}/{id}.json/").segments(&["subject", "category", "id"], value);
        assert_eq!(got.unwrap(), ["subjects", "x", "x", "a/b.json"]);
    }

    #[test]
    fn bad_templates_are_named() {
        let allowed = &["subject", "category"];
        for (path, needle) in [
            ("/s/{id}", "unknown placeholder {id}"),
            ("/s/{subject", "unbalanced"),
            ("/s/subject}", "unbalanced"),
            ("/s/{sub{ject}", "unknown placeholder"),
            ("/s?x=1", "query"),
            ("/s/../x", "'..'"),
        ] {
            let err = op(path).segments(allowed, |_| Some("")).unwrap_err();
            assert!(err.contains(needle), "{path}: {err}");
        }
    }
}
