//! `[sources.operations]` of an HTTP source: the writes it carries out for rights requests
//! (rectify, erase, restrict, lift a restriction, object), each a method and a path
//! template under `base_url`. A source supports exactly the operations configured.

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
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl HttpOperations {
    /// Each configured operation with its name and the placeholders its path may use.
    pub fn configured(&self) -> impl Iterator<Item = (&'static str, &HttpOperation, &'static [&'static str])> {
        const PLAIN: &[&str] = &["subject", "category"];
        [
            ("rectify", &self.rectify, &["subject", "category", "id"][..]),
            ("erase", &self.erase, PLAIN),
            ("restrict", &self.restrict, PLAIN),
            ("lift_restriction", &self.lift_restriction, PLAIN),
            ("object", &self.object, &["subject", "category", "purpose"][..]),
        ]
        .into_iter()
        .filter_map(|(name, op, allowed)| op.as_ref().map(|op| (name, op, allowed)))
    }

    /// The first mistake as (key under `operations.`, message): a path that is not a
    /// usable template, or a restriction that could never be lifted.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (name, op, allowed) in self.configured() {
            op.segments(allowed, |_| Some("")).map_err(|m| (format!("{name}.path"), m))?;
            // Without the person in the path, a write would reach every customer's records
            // of the category.
            if !op.path.contains("{subject}") {
                return Err((format!("{name}.path"), format!("{:?} must name the person: {{subject}}", op.path)));
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
