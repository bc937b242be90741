//! Retention at the sources: the demo's meter readings (a file source, dated records kept
//! two years) are reported past retention on the right day, announced once a warning
//! period ahead, erased at the source only once that warning is old enough, never while a
//! legal hold stands, and each erasure is audited. On SQLite, and on PostgreSQL in the PG
//! suite (the gateway's own store; the source is files either way).

use gdpr_gateway::calendar::Date;
use gdpr_gateway::protocol::rights::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{StaffClient, TestGateway, assert_problem};

const WARNED: &str = r#"
[retention]
warn_before = "P7D"

[[webhooks]]
id = "records-desk"
url = "http://127.0.0.1:9/retention"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["retention.source_upcoming"]
"#;

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

async fn meter_readings(staff: &StaffClient) -> Value {
    let report = json_of(staff.request(Method::GET, "/v1/retention/sources").send().await.unwrap(), 200).await;
    assert_eq!(report["warn_before"], "P7D");
    let categories = report["categories"].as_array().unwrap();
    let ids: Vec<&str> = categories.iter().map(|c| c["category"].as_str().unwrap()).collect();
    assert_eq!(ids, ["meter_readings", "payments"], "the demo's dated categories");
    categories[0].clone()
}

fn readings_file(gw: &TestGateway, subject: &str) -> String {
    std::fs::read_to_string(gw.dir.join("demo-data").join(subject).join("meter_readings.jsonl")).unwrap()
}

fn at(text: &str) -> u64 {
    Date::parse_instant(text).unwrap()
}

async fn sources_warned(approver: &StaffClient) -> usize {
    let path = "/v1/deliveries?target=webhook:records-desk";
    let log = json_of(approver.request(Method::GET, path).send().await.unwrap(), 200).await;
    log["deliveries"].as_array().unwrap().iter().filter(|d| d["event_type"] == "retention.source_upcoming").count()
}

#[tokio::test]
async fn records_past_retention_at_a_source_are_warned_of_then_erased_except_under_a_hold() {
    let gw = TestGateway::demo_with(WARNED).await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    // Readings of 1 January 2026 are kept through 1 January 2028 and go when it ends.
    // Seven whole days ahead, on 25 December 2027, the warning covers them.
    gw.clock.set(at("2027-12-24T12:00:00Z"));
    let before = meter_readings(&handler).await;
    assert_eq!((before["expired"]["records"].as_u64(), before["upcoming"]["records"].as_u64()), (Some(0), Some(0)));
    assert_eq!((before["date_field"].as_str(), before["erase"].as_bool()), (Some("date"), Some(true)));
    gw.clock.set(at("2027-12-25T12:00:00Z"));
    let warned = meter_readings(&handler).await;
    assert_eq!(warned["upcoming"], json!({"records": 3, "subjects": 2}), "{warned}");
    assert_eq!(warned["erasable_through"], Value::Null, "nothing announced long enough ago");
    gw.gateway.sweep_source_retention().await.unwrap();
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(sources_warned(&approver).await, 1, "announced once");

    // Bob's readings are held.
    let hold = json!({"subject_ref": "bob", "reason": "Dispute about the 2026 annual bill"});
    let hold = json_of(approver.request(Method::POST, "/v1/legal-holds").json(&hold).send().await.unwrap(), 201).await;

    // A second before the end nothing has expired and nothing goes.
    gw.clock.set(at("2028-01-01T23:59:59Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(meter_readings(&handler).await["expired"]["records"], 0);
    assert!(readings_file(&gw, "alice").contains("2026-01-01"));

    // At the end: three readings past retention, bob's held; alice's two go, the rest stay.
    gw.clock.set(at("2028-01-02T00:00:00Z"));
    let due = meter_readings(&handler).await;
    assert_eq!(due["dated_before"], "2026-01-02");
    assert_eq!(
        (&due["expired"], &due["held"]),
        (&json!({"records": 3, "subjects": 2}), &json!({"records": 1, "subjects": 1}))
    );
    assert_eq!(due["erasable_through"], "2028-01-02T00:00:00Z");
    assert_eq!(
        due["subjects"],
        json!([{"subject_ref": "alice", "records": 2, "oldest": "2026-01-01", "held": false},
               {"subject_ref": "bob", "records": 1, "oldest": "2026-01-01", "held": true}])
    );
    gw.gateway.sweep_source_retention().await.unwrap();
    let alice = readings_file(&gw, "alice");
    assert!(!alice.contains("2026-01-01") && alice.lines().count() == 3, "{alice}");
    assert!(readings_file(&gw, "bob").contains("2026-01-01"));
    let after = meter_readings(&handler).await;
    assert_eq!(after["expired"], json!({"records": 1, "subjects": 1}));

    // Lifted: bob's go at the next sweep.
    let lift = format!("/v1/legal-holds/{}/lift", hold["id"].as_str().unwrap());
    let lift = approver.request(Method::POST, &lift).json(&json!({"reason": "Dispute settled"})).send().await.unwrap();
    json_of(lift, 200).await;
    gw.gateway.sweep_source_retention().await.unwrap();
    assert!(!readings_file(&gw, "bob").contains("2026-01-01"));
    assert_eq!(meter_readings(&handler).await["expired"]["records"], 0);

    // One audit entry per person erased, counts and dates, never contents.
    let auditor = gw.staff_client(StaffRole::Auditor);
    let path = "/v1/audit?action=retention.source_erased";
    let trail = json_of(auditor.request(Method::GET, path).send().await.unwrap(), 200).await;
    let details: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(
        details,
        [
            "2 records dated before 2026-01-02 erased at source billing",
            "1 record dated before 2026-01-02 erased at source billing"
        ]
    );
    // The portal's token is not staff.
    assert_problem(gw.portal(Method::GET, "/v1/retention/sources").send().await.unwrap(), 401, "invalid_bearer_token")
        .await;
    gw.stop().await.unwrap();
}

/// Erasure waits for a warning that is a whole warning period old, even when records
/// expired long before the gateway first looked (a backlog is announced, then erased).
#[tokio::test]
async fn a_backlog_is_announced_before_it_is_erased() {
    let gw = TestGateway::demo_with(WARNED).await;
    let handler = gw.staff_client(StaffRole::Handler);
    gw.clock.set(at("2031-06-15T09:00:00Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    let backlog = meter_readings(&handler).await;
    assert_eq!(backlog["expired"], json!({"records": 7, "subjects": 2}), "{backlog}");
    assert!(readings_file(&gw, "alice").contains("2026-07-01"), "not erased on first sight");
    gw.clock.set(at("2031-06-22T23:59:59Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    assert!(readings_file(&gw, "alice").contains("2026-07-01"), "the warning is not seven whole days old");
    gw.clock.set(at("2031-06-23T00:00:00Z"));
    gw.gateway.sweep_source_retention().await.unwrap();
    assert_eq!(readings_file(&gw, "alice").trim(), "");
    assert_eq!(meter_readings(&handler).await["expired"]["records"], 0);
    gw.stop().await.unwrap();
}
