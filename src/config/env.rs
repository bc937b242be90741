//! The `GDPR_GATEWAY_*` environment overlay: every config key can be set from the
//! environment, `__` separating nested keys (`GDPR_GATEWAY_CONTROLLER__NAME`).

use toml::{Table, Value};

pub(super) const ENV_PREFIX: &str = "GDPR_GATEWAY_";

/// Variables under our prefix that are not config keys.
const NOT_CONFIG_KEYS: &[&str] = &["CONFIG", "LOG"];
const NOT_CONFIG_PREFIXES: &[&str] = &["TEST_"];

/// Applies every `GDPR_GATEWAY_*` variable to `table`; returns the names applied.
pub(super) fn apply(
    table: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, String> {
    let mut applied = Vec::new();
    let mut vars: Vec<(String, String)> = vars.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    // Deterministic order, so a conflict always reports the same way.
    vars.sort();
    for (name, raw) in vars {
        let rest = &name[ENV_PREFIX.len()..];
        if NOT_CONFIG_KEYS.contains(&rest) || NOT_CONFIG_PREFIXES.iter().any(|p| rest.starts_with(p)) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!("{name}: empty key segment"));
        }
        set(table, &path, &raw).map_err(|e| format!("{name}: {e}"))?;
        applied.push(name);
    }
    Ok(applied)
}

/// The variable among `applied` that set `key` (a dotted path, `sources[1].x` for list
/// items) or a table or list it lies in.
pub(super) fn set_by<'a>(applied: &'a [String], key: &str) -> Option<&'a String> {
    applied.iter().find(|name| {
        let path: Vec<String> = name[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
        let path = path.join(".");
        key == path || key.starts_with(&format!("{path}.")) || key.starts_with(&format!("{path}["))
    })
}

fn set(table: &mut Table, path: &[String], raw: &str) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for (i, key) in parents.iter().enumerate() {
        let entry = current.entry(key.clone()).or_insert_with(|| Value::Table(Table::new()));
        current = entry.as_table_mut().ok_or_else(|| {
            format!(
                "`{}` is not a table; set it whole, as a TOML value, with {ENV_PREFIX}{}",
                path[..=i].join("."),
                path[..=i].join("__").to_ascii_uppercase()
            )
        })?;
    }
    let value = coerce(raw, current.get(last))?;
    current.insert(last.clone(), value);
    Ok(())
}

/// Turns the variable's text into a TOML value of the type the key already has in the
/// file; for a key the file lacks, arrays and tables are read as TOML, `true`/`false` and
/// integers as such, and anything else as a string.
fn coerce(raw: &str, existing: Option<&Value>) -> Result<Value, String> {
    let parse_toml = || -> Result<Value, String> {
        let doc: Table =
            toml::from_str(&format!("v = {raw}")).map_err(|e| format!("not a TOML value: {}", e.message()))?;
        doc.get("v").cloned().ok_or_else(|| "not a TOML value".to_owned())
    };
    match existing {
        Some(Value::String(_)) => Ok(Value::String(raw.to_owned())),
        Some(Value::Integer(_)) => raw.parse().map(Value::Integer).map_err(|_| format!("{raw:?} is not an integer")),
        Some(Value::Boolean(_)) => raw.parse().map(Value::Boolean).map_err(|_| format!("{raw:?} is not true or false")),
        Some(_) => parse_toml(),
        None if raw.starts_with('[') || raw.starts_with('{') => parse_toml(),
        None => Ok(raw
            .parse::<bool>()
            .map(Value::Boolean)
            .or_else(|_| raw.parse::<i64>().map(Value::Integer))
            .unwrap_or_else(|_| Value::String(raw.to_owned()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn overlays_nested_keys_with_the_file_types() {
        let mut table: Table =
            toml::from_str("listen = \"127.0.0.1:1\"\n[controller]\nname = \"A\"\n[http]\nport = 1").unwrap();
        let applied = apply(
            &mut table,
            vars(&[
                ("GDPR_GATEWAY_CONTROLLER__NAME", "12345"),
                ("GDPR_GATEWAY_HTTP__PORT", "8"),
                ("GDPR_GATEWAY_RELAY_URL", "https://relay.example"),
                ("GDPR_GATEWAY_PORTAL_CLIENTS", "[{id = \"p\", token_sha256 = \"00\"}]"),
                ("GDPR_GATEWAY_TEST_DATABASE_URL", "postgres://ignored"),
                ("GDPR_GATEWAY_LOG", "debug"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(applied.len(), 4);
        assert_eq!(table["controller"]["name"].as_str(), Some("12345"));
        assert_eq!(table["http"]["port"].as_integer(), Some(8));
        assert_eq!(table["relay_url"].as_str(), Some("https://relay.example"));
        assert_eq!(table["portal_clients"][0]["id"].as_str(), Some("p"));
        assert!(!table.contains_key("test_database_url"));
    }

    #[test]
    fn refuses_to_descend_into_a_non_table() {
        let mut table: Table = toml::from_str("listen = \"x\"").unwrap();
        let err = apply(&mut table, vars(&[("GDPR_GATEWAY_LISTEN__PORT", "1")])).unwrap_err();
        assert!(err.starts_with("GDPR_GATEWAY_LISTEN__PORT:"), "{err}");
        let mut table: Table = toml::from_str("[http]\nport = 1").unwrap();
        assert!(apply(&mut table, vars(&[("GDPR_GATEWAY_HTTP__PORT", "eight")])).is_err());
    }
}
