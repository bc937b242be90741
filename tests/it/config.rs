//! Loading configuration: the example file, the environment overlay, and clear errors
//! that name the key and line.

use std::path::Path;

use gdpr_gateway::config::{self, ConfigError, HttpMethod, Origin, Overrides, SourceConfig};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");

fn from_text(text: &str, vars: &[(&str, &str)]) -> Result<config::Loaded, ConfigError> {
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    config::from_text(Origin::File("/etc/gw/gateway.toml".into()), text, vars, Overrides::default())
}

fn example_text() -> String {
    std::fs::read_to_string(EXAMPLE).unwrap()
}

#[test]
fn example_config_loads() {
    let loaded = config::load(Some(Path::new(EXAMPLE)), "", Vec::new(), Overrides::default()).unwrap();
    assert_eq!(loaded.config.controller.id, "https://example.com");
    assert_eq!(loaded.inventory.categories().len(), 4);
    assert!(loaded.inventory.category("allergies").unwrap().special_category);
    assert_eq!(loaded.public_url("127.0.0.1:1".parse().unwrap()), "https://privacy.example.com");
    // Relative file-source paths resolve against the config file's directory.
    let SourceConfig::File { path, .. } = &loaded.config.sources[0] else { panic!("expected a file source") };
    assert!(path.starts_with(Path::new(EXAMPLE).parent().unwrap()));
}

#[test]
fn secrets_never_reach_debug_output() {
    let loaded =
        from_text(&example_text(), &[("GDPR_GATEWAY_DATABASE_URL", "postgres://gw:db-pass-123@db.example/gw")])
            .unwrap();
    let debug = format!("{loaded:?}");
    for secret in ["change-me", "db-pass-123", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug output");
    }
    assert!(debug.contains("db.example"));
}

#[test]
fn environment_overrides_file_and_flags_override_environment() {
    let vars = [
        ("GDPR_GATEWAY_LISTEN", "127.0.0.1:9999"),
        ("GDPR_GATEWAY_CONTROLLER__NAME", "Renamed B.V."),
        ("GDPR_GATEWAY_RELAY_URL", "https://other-relay.example"),
        ("GDPR_GATEWAY_TEST_DATABASE_URL", "postgres://not-a-config-key"),
    ];
    let loaded = from_text(&example_text(), &vars).unwrap();
    assert_eq!(loaded.config.listen.port(), 9999);
    assert_eq!(loaded.config.controller.name, "Renamed B.V.");
    assert_eq!(loaded.config.relay_url.as_deref(), Some("https://other-relay.example"));
    assert!(loaded.config.database_url.is_none());

    let overrides = Overrides { listen: Some("127.0.0.1:7777".parse().unwrap()), ..Overrides::default() };
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let loaded =
        config::from_text(Origin::BuiltInDemo, gdpr_gateway::config::builtin_demo::CONFIG, vars, overrides).unwrap();
    assert_eq!(loaded.config.listen.port(), 7777);
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let text = example_text().replace("relay_url =", "relay_ulr =");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("relay_ulr") && err.contains("line 11"), "{err}");
}

#[test]
fn unknown_nested_key_and_bad_values_are_named() {
    let text = example_text().replace("portable = false", "portable = false\nportabel = true");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("portabel") && err.contains("line "), "{err}");
    let text = example_text().replace("legal_basis = \"contract\"", "legal_basis = \"because\"");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("because") && err.contains("legitimate_interests"), "{err}");
    let text = example_text().replace("retention = \"P7Y\"", "retention = \"7 years\"");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("ISO 8601"), "{err}");
}

#[test]
fn language_defaults_to_english_and_an_unknown_one_is_refused_with_the_choices() {
    assert_eq!(from_text(&example_text(), &[]).unwrap().config.language, config::Language::En);
    let dutch = from_text(&format!("language = \"nl\"\n{}", example_text()), &[]).unwrap();
    assert_eq!(dutch.config.language, config::Language::Nl);
    let env = from_text(&example_text(), &[("GDPR_GATEWAY_LANGUAGE", "nl")]).unwrap();
    assert_eq!(env.config.language, config::Language::Nl);

    let err = from_text(&format!("language = \"de\"\n{}", example_text()), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains(r#"language: "de" is not supported; use one of "en", "nl""#) && err.contains("line 1"),
        "{err}"
    );
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_LANGUAGE", "de")]).unwrap_err().to_string();
    assert!(err.contains("GDPR_GATEWAY_LANGUAGE") && err.contains(r#"use one of "en", "nl""#), "{err}");
}

#[test]
fn malformed_toml_names_the_line() {
    let err = from_text("listen = \"127.0.0.1:8080\"\n[controller\nname = 1\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Parse { .. }));
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn semantic_errors_name_key_and_line() {
    let text = example_text().replace("source = \"crm\"", "source = \"crn\"");
    match from_text(&text, &[]).unwrap_err() {
        ConfigError::Invalid { key, line, message, .. } => {
            assert_eq!(key, "categories[2].source");
            assert!(message.contains("crn"));
            let expected = text.lines().position(|l| l == "source = \"crn\"").unwrap() + 1;
            assert_eq!(line, Some(expected));
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = example_text().replace("id = \"https://example.com\"", "id = \"http://example.com\"");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("controller.id") && err.contains("https"), "{err}");
    let text = example_text().replace("special_category = true\n", "");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("categories[3].art9_ground"), "{err}");
    for (line, key) in [
        ("max_connections = 4096", "server.max_connections"),
        ("body_timeout_seconds = 30", "server.body_timeout_seconds"),
    ] {
        let zero = line.split(" = ").next().unwrap().to_owned() + " = 0";
        let err = from_text(&example_text().replace(line, &zero), &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
    let june = (1..=30).map(|d| format!("\"2027-06-{d:02}\""));
    let forty_days_off: Vec<String> = june.chain((1..=10).map(|d| format!("\"2027-07-{d:02}\""))).collect();
    for (from, to, key) in [
        ("utc_offset_minutes = 60", "utc_offset_minutes = 900", "requests.utc_offset_minutes"),
        ("\"2027-01-01\"]", "\"2027-02-29\"]", "requests.holidays[2]"),
        ("holidays = [", &format!("holidays = [{},", forty_days_off.join(",")), "requests.holidays"),
        ("max_per_subject_per_day = 10", "max_per_subject_per_day = 0", "requests.max_per_subject_per_day"),
        ("warning_days = [7, 2]", "warning_days = [40]", "requests.warning_days"),
        ("rectifiable = [\"name\"", "rectifiable = [\"name.\"", "categories[0].rectifiable"),
    ] {
        let text = example_text().replace(from, to);
        assert_ne!(text, example_text(), "{from}");
        let err = from_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    for (phases, key) in [
        ("[[requests.phases]]\nid = \"closed\"\n", "requests.phases[0].id"),
        ("[[requests.phases]]\nid = \"a\"\n[[requests.phases]]\nid = \"a\"\n", "requests.phases[1].id"),
        ("[[requests.phases]]\nid = \"a\"\napprover_role = \"auditor\"\n", "requests.phases[0].approver_role"),
        ("[[requests.phases]]\nid = \"a\"\ntypes = [\"erasure\"]\n", "requests.phases[0].types"),
        (
            "[[requests.phases]]\nid = \"a\"\ncriteria = [{id = \"x\"}, {id = \"x\"}]\n",
            "requests.phases[0].criteria[1].id",
        ),
    ] {
        let err = from_text(&format!("{}\n{phases}", example_text()), &[]).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
    let no_approval = "[[requests.phases]]\nid = \"intake\"\n";
    let err = from_text(&format!("{}\n{no_approval}", example_text()), &[]).unwrap_err().to_string();
    assert!(err.contains("requests.four_eyes[0]"), "four eyes need an approval phase: {err}");
    let plan = "[[requests.phases]]\nid = \"intake\"\n[[requests.phases]]\nid = \"dpo_check\"\napprover_role = \"approver\"\ntypes = [\"erasure\"]\n";
    let four_eyes = "four_eyes = [\"erasure\"]\n";
    let text =
        example_text().replace("max_per_subject_per_day = 10\n", &format!("max_per_subject_per_day = 10\n{four_eyes}"));
    let loaded = from_text(&format!("{text}\n{plan}"), &[]).unwrap();
    assert_eq!(loaded.config.requests.phases.len(), 2);
    let env = from_text(&example_text(), &[("GDPR_GATEWAY_SERVER__SHUTDOWN_GRACE_SECONDS", "3")]).unwrap();
    assert_eq!(env.config.server.shutdown_grace_seconds, 3);
}

#[test]
fn bad_environment_values_are_named() {
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_LISTEN", "not-an-address")]).unwrap_err().to_string();
    assert!(err.contains("GDPR_GATEWAY_LISTEN"), "{err}");
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_LISTN", "127.0.0.1:1")]).unwrap_err().to_string();
    assert!(err.contains("listn"), "{err}");
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_DATABASE_URL", "mysql://x")]).unwrap_err().to_string();
    assert!(err.contains("database_url"), "{err}");
    // A value that parses but breaks a rule is the variable's fault, not the file's.
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_PAIRING_LIFETIME_SECONDS", "5")]).unwrap_err().to_string();
    assert!(
        err.starts_with("environment variable GDPR_GATEWAY_PAIRING_LIFETIME_SECONDS: pairing_lifetime_seconds"),
        "{err}"
    );
    let err = from_text(&example_text(), &[("GDPR_GATEWAY_DATABASE_URL", "mysql://x")]).unwrap_err().to_string();
    assert!(err.starts_with("environment variable GDPR_GATEWAY_DATABASE_URL"), "{err}");
}

#[test]
fn cors_origins_must_be_origins() {
    let with = |origin: &str| format!("{}\n[cors]\nportal_origins = [{origin:?}]\n", example_text());
    assert!(from_text(&with("https://portal.energie.example"), &[]).is_ok());
    for bad in ["https://portal.example/path", "https://portal.example/", "*", "portal.example", "ftp://p.example"] {
        let err = from_text(&with(bad), &[]).unwrap_err().to_string();
        assert!(err.contains("cors.portal_origins[0]") && err.contains("not an origin"), "{bad}: {err}");
    }
}

#[test]
fn oversized_and_missing_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; config::MAX_CONFIG_BYTES as usize + 1]).unwrap();
    assert!(matches!(
        config::load(Some(&big), "", Vec::new(), Overrides::default()),
        Err(ConfigError::TooLarge { .. })
    ));
    let missing = dir.path().join("missing.toml");
    let err = config::load(Some(&missing), "", Vec::new(), Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

#[test]
fn http_source_operations_load_and_bad_templates_are_named() {
    let loaded = from_text(&example_text(), &[]).unwrap();
    let SourceConfig::Http { operations, .. } = &loaded.config.sources[1] else { panic!("expected an http source") };
    let rectify = operations.rectify.as_ref().unwrap();
    assert_eq!((rectify.method, rectify.path.as_str()), (HttpMethod::Patch, "/subjects/{subject}/{category}/{id}"));
    assert_eq!(operations.writes().count(), 5);

    let rectify_line = "rectify = { method = \"PATCH\", path = \"/subjects/{subject}/{category}/{id}\" }";
    let erase_line = "erase = { method = \"DELETE\", path = \"/subjects/{subject}/{category}\" }";
    let lift_line = "lift_restriction = { method = \"DELETE\", path = \"/subjects/{subject}/{category}/restriction\" }";
    for (from, to, key, needle) in [
        (rectify_line, rectify_line.replace("{id}", "{record}"), "sources[1].operations.rectify.path", "{record}"),
        // `{id}` is rectify's alone.
        (erase_line, erase_line.replace("{category}", "{id}"), "sources[1].operations.erase.path", "{id}"),
        (erase_line, erase_line.replace("{category}", "{category"), "sources[1].operations.erase.path", "unbalanced"),
        (lift_line, String::new(), "sources[1].operations.lift_restriction", "together"),
    ] {
        let text = example_text().replace(from, &to);
        assert_ne!(text, example_text(), "{from}");
        match from_text(&text, &[]).unwrap_err() {
            ConfigError::Invalid { key: got, line, message, .. } => {
                assert_eq!(got, key);
                assert!(message.contains(needle), "{key}: {message}");
                assert!(line.is_some(), "{key}: no line");
            }
            other => panic!("{key}: unexpected {other:?}"),
        }
    }
    let line = |text: &str, needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let text = example_text().replace(rectify_line, &rectify_line.replace("{id}", "{record}"));
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains(&format!(":{}:", line(&text, "rectify = "))), "names the line: {err}");

    // Methods are the four that write.
    let text = example_text().replace("method = \"PATCH\"", "method = \"GET\"");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("GET") && err.contains("PATCH"), "{err}");
    let text = example_text().replace(erase_line, "erase = { method = \"DELETE\", path = \"/x\", body = true }");
    let err = from_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("body"), "{err}");
}

/// A `sql` source and a category it holds, appended to the example (sources[2],
/// categories[4]).
const SQL_SOURCE: &str = r#"
[[sources]]
id = "customers"
type = "sql"
url = "postgres://app:sql-pass-456@db.internal/crm"
max_connections = 2

[sources.queries.loyalty]
fetch = "SELECT id, points, 'x :notaparam' AS note, tier::text FROM loyalty WHERE customer_ref = :subject"
rectify = "UPDATE loyalty SET nickname = COALESCE(:nickname, nickname) WHERE customer_ref = :subject AND id = :id"
erase = "DELETE FROM loyalty WHERE customer_ref = :subject"
restrict = "UPDATE loyalty SET restricted = true WHERE customer_ref = :subject"
lift_restriction = "UPDATE loyalty SET restricted = false WHERE customer_ref = :subject"
object = "INSERT INTO objections (customer_ref, purpose) VALUES (:subject, :purpose) ON CONFLICT DO NOTHING"

[[categories]]
id = "loyalty"
name = "Loyalty programme"
purposes = ["Rewarding your purchases"]
legal_basis = "contract"
retention = "P2Y"
source = "customers"
portable = true
rectifiable = ["nickname"]
"#;

#[test]
fn sql_source_loads_and_its_queries_are_checked_at_load() {
    let text = format!("{}{SQL_SOURCE}", example_text());
    let loaded = from_text(&text, &[]).unwrap();
    let SourceConfig::Sql { queries, timeout_seconds, max_connections, .. } = &loaded.config.sources[2] else {
        panic!("expected a sql source")
    };
    assert_eq!((*timeout_seconds, *max_connections), (config::DEFAULT_SQL_TIMEOUT_SECONDS, 2));
    assert_eq!(queries["loyalty"].configured().count(), 6);
    assert!(!format!("{loaded:?}").contains("sql-pass-456"), "the URL's password stays out of Debug output");
    // Built without reaching the database, which does not exist.
    let connectors = gdpr_gateway::connectors::Connectors::from_config(&loaded.config.sources[2..]).unwrap();
    assert!(connectors.source("customers").unwrap().capabilities_for("loyalty").rectify);

    let erase = "erase = \"DELETE FROM loyalty WHERE customer_ref = :subject\"";
    for (from, to, key, needle) in [
        (erase, erase.replace(":subject", ":subject AND tier = :tier"), "sources[2].queries.loyalty.erase", ":tier"),
        (erase, erase.replace("= :subject", "= 'x'"), "sources[2].queries.loyalty.erase", ":subject"),
        (erase, erase.replace(":subject", "$1"), "sources[2].queries.loyalty.erase", "positional"),
        (
            erase,
            erase.replace(":subject", ":subject; DROP TABLE loyalty"),
            "sources[2].queries.loyalty.erase",
            "one statement",
        ),
        (":nickname, nickname", ":email, email".into(), "sources[2].queries.loyalty.rectify", "rectifiable: nickname"),
        ("AND id = :id", "".into(), "sources[2].queries.loyalty.rectify", ":id"),
        (
            "SELECT id, points",
            "DELETE FROM loyalty WHERE customer_ref = :subject RETURNING id, points".into(),
            "sources[2].queries.loyalty.fetch",
            "SELECT",
        ),
        (
            "lift_restriction = \"UPDATE",
            "# lift_restriction = \"UPDATE".into(),
            "sources[2].queries.loyalty.lift_restriction",
            "together",
        ),
        ("[sources.queries.loyalty]", "[sources.queries.loyalti]".into(), "sources[2].queries", "\"loyalty\""),
        ("source = \"customers\"", "source = \"crm\"".into(), "sources[2].queries.loyalty", "no category"),
        ("postgres://app", "mysql://app".into(), "sources[2].url", "postgres://"),
        ("max_connections = 2", "max_connections = 0".into(), "sources[2].max_connections", "1 to"),
    ] {
        let sql = SQL_SOURCE.replacen(from, &to, 1);
        assert_ne!(sql, SQL_SOURCE, "{from}");
        let bad = format!("{}{sql}", example_text());
        match from_text(&bad, &[]).unwrap_err() {
            ConfigError::Invalid { key: got, line, message, .. } => {
                assert_eq!(got, key, "{message}");
                assert!(message.contains(needle), "{key}: {message}");
                assert!(line.is_some(), "{key}: no line");
                assert!(!message.contains("sql-pass-456"), "{message}");
            }
            other => panic!("{key}: unexpected {other:?}"),
        }
    }
    // A relative SQLite file is found beside the config file, as file sources are.
    let sqlite = SQL_SOURCE.replace("postgres://app:sql-pass-456@db.internal/crm", "sqlite://crm.db");
    let loaded = from_text(&format!("{}{sqlite}", example_text()), &[]).unwrap();
    let SourceConfig::Sql { url, .. } = &loaded.config.sources[2] else { panic!("expected a sql source") };
    assert_eq!(url.expose(), "sqlite:///etc/gw/crm.db");
    // Unknown keys are refused like everywhere else.
    let bad =
        format!("{}{}", example_text(), SQL_SOURCE.replace("max_connections = 2", "max_connections = 2\npool = 3"));
    assert!(from_text(&bad, &[]).unwrap_err().to_string().contains("pool"));
    let bad = format!("{}{}", example_text(), SQL_SOURCE.replace("object = ", "objects = "));
    assert!(from_text(&bad, &[]).unwrap_err().to_string().contains("objects"));
}

/// The example's commented `sql` source loads once uncommented, with a category it holds.
#[test]
fn commented_sql_example_loads_once_uncommented() {
    let text = example_text();
    let start = text.find("# [[sources]]\n# id = \"loyalty_db\"").unwrap();
    let end = start + text[start..].find("# ... with").unwrap();
    let block: Vec<&str> = text[start..end].lines().map(|l| l.strip_prefix("# ").unwrap_or(&l[1..])).collect();
    let category = "[[categories]]\nid = \"loyalty\"\nname = \"Loyalty\"\npurposes = [\"Rewards\"]\n\
        legal_basis = \"contract\"\nretention = \"P1Y\"\nsource = \"loyalty_db\"\nportable = true\n\
        rectifiable = [\"nickname\", \"address.street\"]\nretention_date_field = \"joined\"\n\
        erase_when_expired = true\n";
    let loaded = from_text(&format!("{text}\n{}\n{category}", block.join("\n")), &[]).unwrap();
    let SourceConfig::Sql { queries, .. } = &loaded.config.sources[2] else { panic!("expected a sql source") };
    assert_eq!(queries["loyalty"].configured().count(), 8);
}

/// A category's schema must compile as draft 2020-12 and describe every rectifiable field;
/// a `$ref` that leaves it is refused, and nothing is fetched for it.
#[test]
fn category_schemas_are_checked_when_the_config_loads() {
    let demo = config::from_text(Origin::BuiltInDemo, config::builtin_demo::CONFIG, Vec::new(), Overrides::default());
    assert!(demo.unwrap().config.categories[0].schema.is_some(), "the demo's contact has a schema");
    let city = "\"$defs\".address.properties.city = { type = \"string\", minLength = 1, maxLength = 100 }\n";
    let id = "properties.id = { type = \"string\" }";
    let local_ref = "\"$ref\" = \"#/$defs/address\"";
    // Something listening, to see that a remote $ref is never fetched.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let remote = format!("\"$ref\" = \"http://{}/address.json\"", listener.local_addr().unwrap());
    for (from, to, key, said) in [
        (city, String::new(), "categories[0].rectifiable", "\"address.city\" is not described by the schema"),
        (id, "properties.id = { type = \"text\" }".into(), "categories[0].schema", "does not compile"),
        (local_ref, remote, "categories[0].schema", "only $refs within the category's schema resolve"),
        (local_ref, "\"$ref\" = \"file:///etc/hostname\"".into(), "categories[0].schema", "is not loaded"),
        (local_ref, "\"$ref\" = \"#/$defs/adres\"".into(), "categories[0].schema", "does not compile"),
        (
            "[categories.schema]\n",
            "[categories.schema]\n\"$schema\" = \"http://json-schema.org/draft-07/schema#\"\n".into(),
            "categories[0].schema",
            "2020-12",
        ),
    ] {
        let text = example_text().replace(from, &to);
        assert_ne!(text, example_text(), "{from}");
        let err = from_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("category \"contact\"") && err.contains(said), "{key}: {err}");
    }
    assert!(listener.accept().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "nothing was fetched");
}
