//! The `sql` connector against a real PostgreSQL (a schema of its own per test, when
//! `GDPR_GATEWAY_TEST_DATABASE_URL` is set) and a SQLite file: fetches mapped by column
//! type and name, the writes of rights requests in transactions, values bound and never
//! spliced, and a database that is down.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use gdpr_gateway::config::{DatabaseUrl, SqlQueries};
use gdpr_gateway::connectors::{Capabilities, Connector, ConnectorError, Record, SqlConnector, SqlSettings};
use gdpr_gateway::protocol::subject::SubjectRef;
use serde_json::{Value, json};

use crate::common::{PG_ENV, PgSchema};

const INJECTION: &str = "x'); DROP TABLE customers; --";

fn alice() -> SubjectRef {
    SubjectRef::parse("alice").unwrap()
}

fn patch(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn connector(url: &DatabaseUrl, queries: BTreeMap<String, SqlQueries>) -> SqlConnector {
    let settings = SqlSettings { url: url.clone(), max_connections: 2, timeout: Duration::from_secs(10), queries };
    SqlConnector::new(settings).unwrap()
}

async fn fetch(connector: &SqlConnector, category: &str) -> Result<Vec<Record>, ConnectorError> {
    connector.fetch(&alice(), category).await?.try_collect().await
}

fn records(value: Value) -> Vec<Record> {
    serde_json::from_value(value).unwrap()
}

/// A schema of its own on the test PostgreSQL, its tables made, and a pool on it; `None`
/// (the test is skipped) when no PostgreSQL is configured.
async fn postgres() -> Option<(PgSchema, DatabaseUrl, sqlx::PgPool)> {
    let Ok(url) = std::env::var(PG_ENV) else {
        eprintln!("{PG_ENV} is not set: skipping the PostgreSQL sql source test");
        return None;
    };
    let (schema, scoped) = PgSchema::create(&url).await;
    let admin = sqlx::PgPool::connect(scoped.expose()).await.unwrap();
    for statement in [
        "CREATE TABLE customers (id serial PRIMARY KEY, customer_ref text NOT NULL, name text NOT NULL,
            email text, phone text, street text, city text, born date, created timestamptz, seen timestamp,
            score float8, visits int4, vip bool, prefs jsonb, balance numeric(10,2), uid uuid, photo bytea,
            restricted bool NOT NULL DEFAULT false)",
        "CREATE TABLE objections (customer_ref text, purpose text CHECK (length(purpose) < 40),
            PRIMARY KEY (customer_ref, purpose))",
        "INSERT INTO customers (customer_ref, name, email, phone, street, city, born, created, seen, score,
            visits, vip, prefs, balance, uid)
         VALUES ('alice', 'Alice', 'alice@example.org', '+31 6 1', 'Markt 1', 'Delft', '1990-02-28',
            '2026-11-22 10:11:12.5+01', '2026-11-22 10:11:12', 0.5, 3, true, '{\"news\": [1, 2]}', 12.50,
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
            ('alice', 'Alice B.', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            ('bob', 'Bob', 'bob@example.org', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        "UPDATE customers SET photo = '\\x00ff' WHERE id = 1",
    ] {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    Some((schema, scoped, admin))
}

fn pg_queries() -> BTreeMap<String, SqlQueries> {
    let contact = SqlQueries {
        fetch: "SELECT id, name, email, phone, street AS \"address.street\", city AS \"address.city\", born, created,
                seen, score, visits, vip, prefs, balance, uid, 'text :notaparam' AS note, id::text AS ref
                FROM customers WHERE customer_ref = :subject ORDER BY id"
            .into(),
        rectify: Some(
            "UPDATE customers SET name = COALESCE(:name, name), email = COALESCE(:email, email),
                phone = CASE WHEN :patch::jsonb ? 'phone' THEN :phone ELSE phone END,
                street = COALESCE(:address.street, street), visits = COALESCE(:visits, visits)
             WHERE customer_ref = :subject AND id = :id::int"
                .into(),
        ),
        erase: Some("DELETE FROM customers WHERE customer_ref = :subject".into()),
        restrict: Some("UPDATE customers SET restricted = true WHERE customer_ref = :subject".into()),
        lift_restriction: Some("UPDATE customers SET restricted = false WHERE customer_ref = :subject".into()),
        object: Some(
            "INSERT INTO objections (customer_ref, purpose) VALUES (:subject, :purpose) ON CONFLICT DO NOTHING".into(),
        ),
        ..SqlQueries::default()
    };
    // Reads only; its rectify would change every record of the person.
    let loose = SqlQueries {
        fetch: "SELECT id, name FROM customers WHERE customer_ref = :subject ORDER BY id".into(),
        rectify: Some("UPDATE customers SET name = :name WHERE customer_ref = :subject AND :id <> ''".into()),
        ..SqlQueries::default()
    };
    let photo =
        SqlQueries { fetch: "SELECT id, photo FROM customers WHERE customer_ref = :subject".into(), ..loose.clone() };
    let broken = SqlQueries {
        fetch: "SELECT nonexistent FROM customers WHERE customer_ref = :subject".into(),
        ..SqlQueries::default()
    };
    let writes = SqlQueries {
        fetch: "SELECT 1 AS one WHERE :subject <> ''".into(),
        erase: Some("DELETE FROM customers WHERE customer_ref = :subject RETURNING id".into()),
        ..SqlQueries::default()
    };
    [("contact", contact), ("loose", loose), ("photo", photo), ("broken", broken), ("writes", writes)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[tokio::test]
async fn postgres_fetch_maps_types_and_nests_dotted_columns() {
    let Some((schema, url, admin)) = postgres().await else { return };
    let connector = connector(&url, pg_queries());
    connector.check_reachable().await.unwrap();
    let got = fetch(&connector, "contact").await.unwrap();
    let expected = records(json!([
        {
            "id": 1, "name": "Alice", "email": "alice@example.org", "phone": "+31 6 1",
            "address": {"street": "Markt 1", "city": "Delft"}, "born": "1990-02-28",
            "created": "2026-11-22T09:11:12.5Z", "seen": "2026-11-22T10:11:12", "score": 0.5, "visits": 3,
            "vip": true, "prefs": {"news": [1, 2]}, "balance": "12.50",
            "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "note": "text :notaparam", "ref": "1"
        },
        {
            "id": 2, "name": "Alice B.", "email": null, "phone": null, "address": {"street": null, "city": null},
            "born": null, "created": null, "seen": null, "score": null, "visits": null, "vip": null, "prefs": null,
            "balance": null, "uid": null, "note": "text :notaparam", "ref": "2"
        }
    ]));
    assert_eq!(got, expected);
    // Nothing for this person is an empty answer, not an unknown subject: SQL cannot tell.
    let carol = SubjectRef::parse("carol").unwrap();
    assert!(connector.fetch(&carol, "contact").await.unwrap().try_collect::<Vec<_>>().await.unwrap().is_empty());

    // A type a record cannot hold is named, as is a query the database refuses.
    let err = fetch(&connector, "photo").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("\"photo\"") && m.contains("BYTEA")), "{err}");
    let err = fetch(&connector, "broken").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Database { code, transient: false, .. } if code == "42703"), "{err:?}");
    assert!(err.to_string().contains("nonexistent"), "{err}");
    // A category this source holds no queries for.
    let err = fetch(&connector, "orders").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Setup(m) if m.contains("orders")), "{err}");
    assert!(matches!(connector.erase(&alice(), "orders", "k").await, Err(ConnectorError::Setup(_))));
    drop(connector);
    admin.close().await;
    schema.drop().await;
}

#[tokio::test]
async fn postgres_rectify_changes_one_record_by_id() {
    let Some((schema, url, admin)) = postgres().await else { return };
    let connector = connector(&url, pg_queries());
    let subject = alice();
    let rectify = |category: &'static str, id: &'static str, p: Value| {
        let (connector, subject) = (&connector, &subject);
        async move { connector.rectify(subject, category, "id", id, &patch(p), "req:1").await }
    };

    // Fields not in the patch keep their values; a nested field is one parameter.
    let done = rectify("contact", "1", json!({"email": "new@example.org", "address": {"street": "Oude Delft 2"}}))
        .await
        .unwrap();
    assert_eq!(done.records, Some(1));
    let record = done.record.unwrap();
    assert_eq!(record["email"], "new@example.org");
    assert_eq!(record["address"], json!({"street": "Oude Delft 2", "city": "Delft"}));
    assert_eq!((record["name"].as_str(), record["phone"].as_str()), (Some("Alice"), Some("+31 6 1")));

    // A field set to null is removed; the query tells it from an absent one by `:patch`.
    let done = rectify("contact", "1", json!({"phone": null, "visits": 4})).await.unwrap();
    let record = done.record.unwrap();
    assert_eq!(
        (&record["phone"], &record["visits"], &record["email"]),
        (&Value::Null, &json!(4), &json!("new@example.org"))
    );

    // A value is bound, never spliced: it is stored as written, and the table survives.
    let done = rectify("contact", "2", json!({"name": INJECTION})).await.unwrap();
    assert_eq!(done.record.unwrap()["name"], INJECTION);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers ORDER BY id").fetch_all(&admin).await.unwrap();
    assert_eq!(names, ["Alice", INJECTION, "Bob"]);

    // Another person's record, or none, is not found; the id field never changes.
    for id in ["3", "99"] {
        let err = rectify("contact", id, json!({"name": "Mallory"})).await.unwrap_err();
        assert!(matches!(err, ConnectorError::RecordNotFound), "{id}: {err:?}");
    }
    let err = rectify("contact", "1", json!({"id": 5, "name": "x"})).await.unwrap_err();
    assert!(matches!(err, ConnectorError::InvalidPatch(_)), "{err:?}");
    // A field the query has no parameter for would not change: refused, not reported done.
    let err = rectify("contact", "1", json!({"city": "Leiden"})).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::InvalidPatch(m) if m.contains(":city")), "{err:?}");
    // A query that changes more than one record is rolled back.
    let err = rectify("loose", "1", json!({"name": "Both"})).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("changed 2 records")), "{err:?}");
    let still: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE name = 'Both'").fetch_one(&admin).await.unwrap();
    assert_eq!(still, 0);
    // The database's refusal of a value never quotes it: it is personal data.
    let err = rectify("contact", "not-a-number-zq", json!({"name": "x"})).await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Database { code, transient: false, .. } if code == "22P02"), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("zq"), "{err:?}");
    let err = rectify("contact", "1", json!({"visits": "many-zq"})).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("zq") && !err.is_transient(), "{err:?}");
    drop(connector);
    admin.close().await;
    schema.drop().await;
}

#[tokio::test]
async fn postgres_erase_restrict_and_object_count_what_they_did() {
    let Some((schema, url, admin)) = postgres().await else { return };
    let connector = connector(&url, pg_queries());
    let subject = alice();
    let everything =
        Capabilities { rectify: true, erase: true, restrict: true, object: true, ..Capabilities::default() };
    assert_eq!(connector.capabilities_for("contact"), everything);
    assert_eq!(connector.capabilities_for("loose"), Capabilities { rectify: true, ..Capabilities::default() });
    assert_eq!(connector.capabilities_for("orders"), Capabilities::default());
    // The source as a whole claims only what every category can.
    assert_eq!(connector.capabilities(), Capabilities::default());

    let restricted =
        || sqlx::query_scalar::<_, bool>("SELECT bool_and(restricted) FROM customers WHERE customer_ref = 'alice'");
    assert_eq!(connector.restrict(&subject, "contact", "k1").await.unwrap().records, Some(2));
    assert!(restricted().fetch_one(&admin).await.unwrap());
    assert_eq!(connector.lift_restriction(&subject, "contact", "k2").await.unwrap().records, Some(2));
    assert!(!restricted().fetch_one(&admin).await.unwrap());

    assert_eq!(connector.object(&subject, "contact", "direct marketing", "k3").await.unwrap().records, Some(1));
    assert_eq!(connector.object(&subject, "contact", "direct marketing", "k4").await.unwrap().records, Some(0));
    let purposes: Vec<String> = sqlx::query_scalar("SELECT purpose FROM objections").fetch_all(&admin).await.unwrap();
    assert_eq!(purposes, ["direct marketing"]);
    // A violated constraint is the database's refusal, not worth a retry.
    let err = connector.object(&subject, "contact", &"long purpose ".repeat(5), "k5").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Database { code, transient: false, .. } if code == "23514"), "{err:?}");

    for (category, op) in [("loose", "erase"), ("loose", "restrict"), ("loose", "object")] {
        let result = match op {
            "erase" => connector.erase(&subject, category, "k").await,
            "restrict" => connector.restrict(&subject, category, "k").await,
            _ => connector.object(&subject, category, "p", "k").await,
        };
        assert!(matches!(result, Err(ConnectorError::Unsupported(_))), "{op}: {result:?}");
    }

    // What counts is the records a write changed, whatever it returns.
    let writes = connector.erase(&subject, "writes", "k6").await.unwrap();
    assert_eq!(writes.records, Some(2));
    assert_eq!(connector.erase(&subject, "contact", "k7").await.unwrap().records, Some(0));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&admin).await.unwrap();
    assert_eq!(left, 1, "bob's record stays");
    drop(connector);
    admin.close().await;
    schema.drop().await;
}

#[tokio::test]
async fn postgres_fetch_query_runs_read_only() {
    let Some((schema, url, admin)) = postgres().await else { return };
    let queries = BTreeMap::from([(
        "sneaky".to_owned(),
        SqlQueries {
            fetch:
                "WITH gone AS (DELETE FROM customers WHERE customer_ref = :subject RETURNING id) SELECT id FROM gone"
                    .into(),
            ..SqlQueries::default()
        },
    )]);
    let connector = connector(&url, queries);
    let err = fetch(&connector, "sneaky").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Database { code, .. } if code == "25006"), "{err:?}");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&admin).await.unwrap();
    assert_eq!(left, 3);
    drop(connector);
    admin.close().await;
    schema.drop().await;
}

#[tokio::test]
async fn sqlite_source_reads_and_writes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let url = DatabaseUrl::new(format!("sqlite://{}", path.display()));
    let setup = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let admin = sqlx::SqlitePool::connect_with(setup).await.unwrap();
    for statement in [
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, customer_ref TEXT NOT NULL, name TEXT NOT NULL,
            phone TEXT, street TEXT, score REAL, vip BOOLEAN, restricted BOOLEAN NOT NULL DEFAULT 0, photo BLOB)",
        "CREATE TABLE objections (customer_ref TEXT, purpose TEXT, PRIMARY KEY (customer_ref, purpose))",
        "INSERT INTO customers (customer_ref, name, phone, street, score, vip, photo)
         VALUES ('alice', 'Alice', '+31 6 1', 'Markt 1', 1.5, 1, x'00'), ('bob', 'Bob', NULL, NULL, NULL, 0, NULL)",
    ] {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    let contact = SqlQueries {
        fetch: "SELECT id, name, phone, street AS \"address.street\", score, vip, 'a :literal' AS note
                FROM customers WHERE customer_ref = :subject"
            .into(),
        rectify: Some(
            "UPDATE customers SET name = COALESCE(:name, name),
                phone = CASE WHEN json_type(:patch, '$.phone') IS NULL THEN phone ELSE :phone END,
                street = COALESCE(:address.street, street)
             WHERE customer_ref = :subject AND id = :id"
                .into(),
        ),
        erase: Some("DELETE FROM customers WHERE customer_ref = :subject".into()),
        restrict: Some("UPDATE customers SET restricted = 1 WHERE customer_ref = :subject".into()),
        lift_restriction: Some("UPDATE customers SET restricted = 0 WHERE customer_ref = :subject".into()),
        object: Some("INSERT OR IGNORE INTO objections (customer_ref, purpose) VALUES (:subject, :purpose)".into()),
        ..SqlQueries::default()
    };
    let photo = SqlQueries {
        fetch: "SELECT photo FROM customers WHERE customer_ref = :subject".into(),
        ..SqlQueries::default()
    };
    let connector = connector(&url, BTreeMap::from([("contact".to_owned(), contact), ("photo".to_owned(), photo)]));
    connector.check_reachable().await.unwrap();
    let expected = json!([{"id": 1, "name": "Alice", "phone": "+31 6 1", "address": {"street": "Markt 1"},
        "score": 1.5, "vip": true, "note": "a :literal"}]);
    assert_eq!(fetch(&connector, "contact").await.unwrap(), records(expected));
    let err = fetch(&connector, "photo").await.unwrap_err();
    assert!(matches!(&err, ConnectorError::Malformed(m) if m.contains("BLOB")), "{err}");

    let subject = alice();
    let done = connector
        .rectify(&subject, "contact", "id", "1", &patch(json!({"phone": null, "name": INJECTION})), "k")
        .await
        .unwrap();
    let record = done.record.unwrap();
    assert_eq!(
        (&record["name"], &record["phone"], &record["address"]["street"]),
        (&json!(INJECTION), &Value::Null, &json!("Markt 1"))
    );
    let err = connector.rectify(&subject, "contact", "id", "2", &patch(json!({"name": "x"})), "k").await.unwrap_err();
    assert!(matches!(err, ConnectorError::RecordNotFound), "{err:?}");

    assert_eq!(connector.restrict(&subject, "contact", "k").await.unwrap().records, Some(1));
    assert_eq!(connector.lift_restriction(&subject, "contact", "k").await.unwrap().records, Some(1));
    assert_eq!(connector.object(&subject, "contact", "profiling", "k").await.unwrap().records, Some(1));
    assert_eq!(connector.object(&subject, "contact", "profiling", "k").await.unwrap().records, Some(0));
    assert_eq!(connector.erase(&subject, "contact", "k").await.unwrap().records, Some(1));
    assert_eq!(connector.erase(&subject, "contact", "k").await.unwrap().records, Some(0));
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM customers").fetch_all(&admin).await.unwrap();
    assert_eq!(names, ["Bob"]);
    admin.close().await;
}

#[tokio::test]
async fn a_database_that_is_down_is_unreachable_and_the_source_still_starts() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let url = DatabaseUrl::new(format!("postgres://gateway:secret-pw@{closed}/crm"));
    let queries = BTreeMap::from([(
        "contact".to_owned(),
        SqlQueries {
            fetch: "SELECT id FROM customers WHERE customer_ref = :subject".into(),
            erase: Some("DELETE FROM customers WHERE customer_ref = :subject".into()),
            ..SqlQueries::default()
        },
    )]);
    let settings = SqlSettings { url, max_connections: 1, timeout: Duration::from_secs(1), queries };
    let connector = SqlConnector::new(settings).unwrap();
    connector.check_setup().unwrap();
    let subject = alice();
    let err = connector.fetch(&subject, "contact").await.err().unwrap();
    assert!(matches!(err, ConnectorError::Unreachable(_)) && err.is_transient(), "{err:?}");
    let err = connector.erase(&subject, "contact", "k").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable(_)) && err.is_transient(), "{err:?}");
    let err = connector.check_reachable().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("secret-pw"));

    // A missing SQLite file is unreachable too (it is never created).
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::new(format!("sqlite://{}", dir.path().join("missing.db").display()));
    let queries = BTreeMap::from([(
        "contact".to_owned(),
        SqlQueries { fetch: "SELECT 1 AS one WHERE :subject <> ''".into(), ..SqlQueries::default() },
    )]);
    let connector =
        SqlConnector::new(SqlSettings { url, max_connections: 1, timeout: Duration::from_secs(1), queries }).unwrap();
    let err = connector.fetch(&subject, "contact").await.err().unwrap();
    assert!(matches!(err, ConnectorError::Unreachable(_)), "{err:?}");
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn bad_urls_and_queries_are_refused_at_construction() {
    let queries = |fetch: &str| {
        BTreeMap::from([("contact".to_owned(), SqlQueries { fetch: fetch.into(), ..SqlQueries::default() })])
    };
    let settings = |url: &str, fetch: &str| SqlSettings {
        url: DatabaseUrl::new(url),
        max_connections: 1,
        timeout: Duration::from_secs(1),
        queries: queries(fetch),
    };
    let ok = "SELECT id FROM t WHERE r = :subject";
    for (url, fetch, needle) in [
        ("mysql://h/db", ok, "url"),
        ("postgres://h:notaport/db", ok, "url"),
        (
            "postgres://h/db",
            "SELECT id FROM t WHERE r = :subject AND x = :other",
            "queries.contact.fetch: unknown parameter :other",
        ),
        ("sqlite://x.db", "SELECT id FROM t WHERE r = ? OR r = :subject", "queries.contact.fetch"),
    ] {
        let err = SqlConnector::new(settings(url, fetch)).err().unwrap();
        assert!(matches!(&err, ConnectorError::Setup(m) if m.contains(needle)), "{url} {fetch}: {err}");
    }
}

/// Retention at the source: a `readings` table with a date column, in SQLite and (when
/// configured) PostgreSQL.
async fn dated_readings(connector: &SqlConnector) -> Vec<String> {
    use gdpr_gateway::calendar::Date;
    use gdpr_gateway::connectors::Cutoff;
    let day = |d: &str| Cutoff::Day(Date::parse(d).unwrap());
    let mut rows: Vec<(String, u64, Option<String>)> = connector
        .dated_before("readings", "taken", day("2026-01-02"))
        .await
        .unwrap()
        .map_ok(|r| (r.subject.as_str().to_owned(), r.records, r.oldest))
        .try_collect()
        .await
        .unwrap();
    rows.sort();
    assert_eq!(
        rows,
        [("alice".to_owned(), 2, Some("2025-12-31".to_owned())), ("bob".to_owned(), 1, Some("2026-01-01".to_owned()))]
    );
    // Only what is dated before the cutoff goes, and only the person's.
    let done = connector.erase_dated_before(&alice(), "readings", "taken", day("2026-01-02"), "k").await.unwrap();
    assert_eq!(done.records, Some(2));
    let again = connector.erase_dated_before(&alice(), "readings", "taken", day("2026-01-02"), "k").await.unwrap();
    assert_eq!(again.records, Some(0));
    let left = connector.dated_before("readings", "taken", day("2027-01-01")).await.unwrap();
    let mut left: Vec<String> =
        left.map_ok(|r| format!("{}:{}", r.subject.as_str(), r.records)).try_collect().await.unwrap();
    left.sort();
    left
}

fn readings_queries(before: &str) -> BTreeMap<String, SqlQueries> {
    let readings = SqlQueries {
        fetch: "SELECT id, taken FROM readings WHERE customer_ref = :subject".into(),
        dated_before: Some(format!(
            "SELECT customer_ref AS subject, count(*) AS records, min(taken) AS oldest FROM readings
             WHERE taken < {before} GROUP BY customer_ref"
        )),
        erase_dated_before: Some(format!("DELETE FROM readings WHERE customer_ref = :subject AND taken < {before}")),
        ..SqlQueries::default()
    };
    BTreeMap::from([("readings".to_owned(), readings)])
}

#[tokio::test]
async fn records_past_retention_are_listed_per_person_and_erased_by_date() {
    const ROWS: &str = "INSERT INTO readings (customer_ref, taken, kwh) VALUES ('alice', '2025-12-31', 1),
        ('alice', '2026-01-01', 2), ('alice', '2026-01-02', 3), ('bob', '2026-01-01', 4), ('bob', '2026-06-30', 5)";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meters.db");
    let setup = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let admin = sqlx::SqlitePool::connect_with(setup).await.unwrap();
    for statement in
        ["CREATE TABLE readings (id INTEGER PRIMARY KEY, customer_ref TEXT, taken TEXT, kwh INTEGER)", ROWS]
    {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    let url = DatabaseUrl::new(format!("sqlite://{}", path.display()));
    let sqlite = connector(&url, readings_queries(":before"));
    let caps = sqlite.capabilities_for("readings");
    assert!(caps.dated && caps.erase_dated && !caps.erase, "{caps:?}");
    assert_eq!(dated_readings(&sqlite).await, ["alice:1", "bob:2"]);
    admin.close().await;

    let Some((schema, url, admin)) = postgres().await else { return };
    for statement in ["CREATE TABLE readings (id serial PRIMARY KEY, customer_ref text, taken date, kwh int4)", ROWS] {
        sqlx::query(statement).execute(&admin).await.unwrap();
    }
    let pg = connector(&url, readings_queries("CAST(:before AS date)"));
    assert_eq!(dated_readings(&pg).await, ["alice:1", "bob:2"]);
    drop(pg);
    admin.close().await;
    schema.drop().await;
}
