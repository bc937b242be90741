//! Retention of the gateway's own records: deleted exactly when their period ends (on the
//! calendar, across a leap day), never while a legal hold stands, announced once ahead,
//! audited per batch, and on SQLite gone from the database file's bytes. On SQLite, and
//! on PostgreSQL in the PG suite.

use gdpr_gateway::protocol::rights::StaffRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{StaffClient, TestGateway, assert_problem};

const WARNED: &str = r#"
[retention]
exports = "P2Y"
warn_before = "P7D"

[[webhooks]]
id = "records-desk"
url = "http://127.0.0.1:9/retention"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["retention.upcoming"]
"#;

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

async fn export(gw: &TestGateway, subject: &str) {
    let path = format!("/v1/subjects/{subject}/exports");
    let response =
        gw.portal(Method::POST, &path).json(&json!({"format": "jwt", "purpose": "access"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn exports_of(gw: &TestGateway, subject: &str) -> usize {
    let list = json_of(gw.portal_get(&format!("/v1/subjects/{subject}/exports")).send().await.unwrap(), 200).await;
    list["exports"].as_array().unwrap().len()
}

async fn upcoming(staff: &StaffClient, within: &str) -> Value {
    json_of(staff.request(Method::GET, &format!("/v1/retention/upcoming?within={within}")).send().await.unwrap(), 200)
        .await
}

fn exports_kind(upcoming: &Value) -> &Value {
    upcoming["kinds"].as_array().unwrap().iter().find(|k| k["kind"] == "exports").unwrap()
}

#[tokio::test]
async fn what_expired_goes_and_nothing_held_and_the_warning_comes_once() {
    let gw = TestGateway::demo_with(WARNED).await;
    let (handler, approver) = (gw.staff_client(StaffRole::Handler), gw.staff_client(StaffRole::Approver));
    // 29 February 2028: two years on is 28 February 2030.
    let leap_day = gdpr_gateway::calendar::Date::parse_instant("2028-02-29T12:00:00Z").unwrap();
    gw.clock.set(leap_day);
    export(&gw, "alice").await;
    export(&gw, "bob").await;

    // Bob's records are held for a claim; a handler may not hold or lift.
    let hold = json!({"subject_ref": "bob", "reason": "Claim 2028-17 about his contract"});
    let refused = handler.request(Method::POST, "/v1/legal-holds").json(&hold).send().await.unwrap();
    assert_problem(refused, 403, "role_not_permitted").await;
    let hold = json_of(approver.request(Method::POST, "/v1/legal-holds").json(&hold).send().await.unwrap(), 201).await;
    assert_eq!((hold["active"].as_bool(), hold["placed_by"].as_str()), (Some(true), Some("staff:demo-approver")));
    let bad = json!({"subject_ref": "bob", "request_id": "00000000000000000000000000000000", "reason": "x"});
    let bad = approver.request(Method::POST, "/v1/legal-holds").json(&bad).send().await.unwrap();
    assert_problem(bad, 400, "invalid_parameter").await;

    // What goes within two years and a day: alice's export, not bob's.
    let soon = upcoming(&handler, "P2Y1D").await;
    let exports = exports_kind(&soon);
    assert_eq!(exports["count"], 1, "{soon}");
    // Kept through 28 February 2030, the leap day's anniversary in a common year.
    assert_eq!(exports["rows"][0]["deleted_at"], "2030-03-01T00:00:00Z");
    assert_eq!(exports_kind(&upcoming(&handler, "P1Y").await)["count"], 0);

    // The warning comes seven days ahead, once, whichever instance looks.
    gw.clock.set(leap_day + (730 - 8) * 86_400);
    assert_eq!(gw.gateway.warn_of_retention().await.unwrap(), 0, "not yet within seven days");
    gw.clock.advance(2 * 86_400);
    assert_eq!(gw.gateway.warn_of_retention().await.unwrap(), 1);
    assert_eq!(gw.gateway.warn_of_retention().await.unwrap(), 0, "once");
    let log =
        json_of(approver.request(Method::GET, "/v1/deliveries?target=webhook:records-desk").send().await.unwrap(), 200)
            .await;
    // Only those of this day: the poller's first look may have warned of the demo's meter
    // readings, dated at the source, on the leap day.
    let today = gdpr_gateway::clock::rfc3339(gdpr_gateway::clock::Clock::now(&gw.clock));
    let events: Vec<&str> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["created_at"] == today.as_str())
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["retention.upcoming"]);

    // A second before the end nothing goes; at the end alice's export does, bob's stays.
    let end = gdpr_gateway::calendar::Date::parse_instant("2030-03-01T00:00:00Z").unwrap();
    gw.clock.set(end - 1);
    gw.gateway.sweep_retention().await.unwrap();
    assert_eq!((exports_of(&gw, "alice").await, exports_of(&gw, "bob").await), (1, 1));
    gw.clock.set(end);
    gw.gateway.sweep_retention().await.unwrap();
    assert_eq!((exports_of(&gw, "alice").await, exports_of(&gw, "bob").await), (0, 1));

    // Lifted, with the reason: bob's goes on the next sweep.
    let lift = format!("/v1/legal-holds/{}/lift", hold["id"].as_str().unwrap());
    let lifted = json_of(
        approver.request(Method::POST, &lift).json(&json!({"reason": "Claim settled"})).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!((lifted["active"].as_bool(), lifted["lifted_reason"].as_str()), (Some(false), Some("Claim settled")));
    let again = approver.request(Method::POST, &lift).json(&json!({"reason": "again"})).send().await.unwrap();
    assert_problem(again, 409, "legal_hold_lifted").await;
    gw.gateway.sweep_retention().await.unwrap();
    assert_eq!(exports_of(&gw, "bob").await, 0);

    // Each batch and each hold is in the audit trail.
    let auditor = gw.staff_client(StaffRole::Auditor);
    let trail =
        json_of(auditor.request(Method::GET, "/v1/audit?action=retention.deleted").send().await.unwrap(), 200).await;
    let details: Vec<&str> =
        trail["entries"].as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(details, ["1 exports past their retention", "1 exports past their retention"]);
    let holds = json_of(auditor.request(Method::GET, "/v1/legal-holds").send().await.unwrap(), 200).await;
    assert_eq!(holds["holds"].as_array().unwrap().len(), 1);
    for action in ["legal_hold.placed", "legal_hold.lifted"] {
        let entries =
            json_of(auditor.request(Method::GET, &format!("/v1/audit?action={action}")).send().await.unwrap(), 200)
                .await;
        assert_eq!(entries["entries"].as_array().unwrap().len(), 1, "{action}");
    }
    gw.stop().await.unwrap();
}

/// On SQLite the deleted rows leave no copy in the database file or its WAL.
#[tokio::test]
async fn deleted_records_leave_no_bytes_behind_in_the_sqlite_file() {
    if std::env::var(crate::common::PG_ENV).is_ok() {
        return;
    }
    let gw = TestGateway::demo().await;
    let subject = "retention-marker-7f3a9c";
    std::fs::create_dir_all(gw.dir.join("demo-data").join(subject)).unwrap();
    std::fs::write(gw.dir.join("demo-data").join(subject).join("contact.jsonl"), "{\"id\":\"c1\",\"name\":\"X\"}\n")
        .unwrap();
    export(&gw, subject).await;
    let bytes = || {
        let mut all = Vec::new();
        for name in ["gateway.sqlite3", "gateway.sqlite3-wal"] {
            all.extend(std::fs::read(gw.dir.join(name)).unwrap_or_default());
        }
        all
    };
    let holds = |all: &[u8]| all.windows(subject.len()).any(|w| w == subject.as_bytes());
    assert!(holds(&bytes()), "the marker is in the file before");
    gw.clock.advance(3 * 366 * 86_400);
    // The poller sweeps too, when it first looks: whoever comes first deletes it.
    gw.gateway.sweep_retention().await.unwrap();
    assert_eq!(exports_of(&gw, subject).await, 0);
    // Whichever sweep deleted it truncates the WAL after its transaction; allow it that.
    let mut left = holds(&bytes());
    for _ in 0..40 {
        if !left {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        left = holds(&bytes());
    }
    assert!(!left, "the deleted export left its subject in the file");
    gw.stop().await.unwrap();
}
