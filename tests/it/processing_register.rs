//! The art. 30 register (`GET /v1/register/processing`) as JSON, CSV and HTML, generated
//! from the inventory; and `check-config` refusing a recipient without a sharing
//! assessment.

use gdpr_gateway::protocol::rights::StaffRole;
use reqwest::Method;
use serde_json::Value;

use crate::common::{TestGateway, assert_problem};

async fn register(gw: &TestGateway, role: StaffRole, accept: &str) -> reqwest::Response {
    let response = gw.staff_client(role).request(Method::GET, "/v1/register/processing").header("accept", accept);
    response.send().await.unwrap()
}

#[tokio::test]
async fn the_register_holds_every_field_of_art_30_in_three_forms() {
    let gw = TestGateway::demo().await;
    let response = register(&gw, StaffRole::Auditor, "application/json").await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    // (a) controller and DPO
    assert_eq!(json["controller"]["name"], "Voorbeeld Energie B.V. (demo)");
    assert!(json["controller"]["contact"].as_str().unwrap().contains("Utrecht"));
    assert_eq!(json["controller"]["dpo_contact"], "privacy@voorbeeld-energie.example");
    // (b)–(f): one activity per category of the inventory, in its order.
    let activities = json["activities"].as_array().unwrap();
    let ids: Vec<&str> = activities.iter().map(|a| a["category"].as_str().unwrap()).collect();
    assert_eq!(ids, ["contact", "contracts", "meter_readings", "payments", "service_notes", "medical_priority"]);
    let medical = &activities[5];
    assert_eq!(medical["purposes"][0], "Preventing disconnection of customers who depend on medical equipment");
    assert_eq!(medical["data_subjects"][0], "customers who depend on medical equipment");
    assert_eq!(medical["art9_article"], "Art. 9(2)(a) GDPR");
    assert_eq!(medical["recipients"], serde_json::json!(["Grid operator"]));
    assert_eq!(medical["third_country_transfers"], serde_json::json!([]));
    assert_eq!((medical["retention"].as_str(), medical["retention_text"].as_str()), (Some("P1Y"), Some("1 year")));
    assert_eq!(activities[4]["recipients"], serde_json::json!([]), "service notes go to nobody");
    // (d) each recipient with its four-step sharing assessment; (g) the measures.
    let recipients = json["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 5);
    let grid = recipients.iter().find(|r| r["id"] == "grid-operator").unwrap();
    assert_eq!((grid["role"].as_str(), grid["country"].as_str()), (Some("controller"), Some("NL")));
    for step in ["moment", "lawfulness", "risks", "measures", "assessed_on"] {
        assert!(!grid["assessment"][step].as_str().unwrap().is_empty(), "{step}");
    }
    assert_eq!(json["security_measures"].as_array().unwrap().len(), 4);
    assert_eq!(json["gaps"], serde_json::json!([]), "the demo fills every field");

    // Every staff role may read it; it is not a portal's.
    for role in [StaffRole::Handler, StaffRole::Approver, StaffRole::Admin] {
        assert_eq!(register(&gw, role, "*/*").await.status(), 200, "{role:?}");
    }
    let portal = gw.portal(Method::GET, "/v1/register/processing").send().await.unwrap();
    assert_problem(portal, 401, "invalid_bearer_token").await;
    assert_problem(gw.get("/v1/register/processing").send().await.unwrap(), 401, "missing_bearer_token").await;

    let response = register(&gw, StaffRole::Handler, "text/csv").await;
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 7, "a header and one line per activity: {csv}");
    assert!(lines[0].starts_with("category,name,purposes,legal_basis,art9_ground,data_subjects,recipients,"));
    assert!(lines[4].starts_with("payments,Invoices and payments,Bookkeeping required by tax law,Art. 6(1)(c) GDPR,,"));
    assert!(lines[4].contains("\"Tax authority (Belastingdienst), on request; Accountant\""), "{}", lines[4]);

    let response = register(&gw, StaffRole::Handler, "text/html,*/*;q=0.8").await;
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let page = response.text().await.unwrap();
    for expected in [
        "<h1>Record of processing activities</h1>",
        "(a) Controller",
        "<h2>Medical priority registration</h2>",
        "(e) Third-country transfers",
        "4. Measures",
        "(g) Security measures",
    ] {
        assert!(page.contains(expected), "{expected} missing from the page");
    }
    assert!(!page.contains("Gaps"), "no gaps to show");
    gw.stop().await.unwrap();
}

/// A recipient abroad is a third-country transfer; without a safeguard, and without data
/// subjects or security measures, the register shows the gaps, and so does the page.
#[tokio::test]
async fn gaps_and_third_country_transfers_are_named() {
    let gw = TestGateway::demo_with(
        r#"
[[recipients]]
id = "cloud"
name = "Hosting <Cloud> Inc."
role = "processor"
country = "US"

[[categories]]
id = "website_visits"
name = "Website visits"
purposes = ["Keeping the website secure"]
legal_basis = "legitimate_interests"
retention = "P30D"
recipients = ["cloud"]
source = "crm"
portable = false
"#,
    )
    .await;
    let json: Value = register(&gw, StaffRole::Auditor, "application/json").await.json().await.unwrap();
    let visits = json["activities"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        visits["third_country_transfers"],
        serde_json::json!([{"recipient": "Hosting <Cloud> Inc.", "country": "US", "safeguards": null}])
    );
    let gaps: Vec<&str> = json["gaps"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(gaps[0].starts_with("art. 30(1)(c): category \"website_visits\"") && gaps[0].contains("data_subjects"));
    assert!(
        gaps[1].starts_with("art. 30(1)(e)") && gaps[1].contains("in US") && gaps[1].contains("transfer_safeguards")
    );
    let page = register(&gw, StaffRole::Auditor, "text/html").await.text().await.unwrap();
    assert!(page.contains("Hosting &lt;Cloud&gt; Inc. (US): NO SAFEGUARD") && page.contains("<h2>Gaps</h2>"));
    assert!(!page.contains("<Cloud>"), "config text is escaped");
    gw.stop().await.unwrap();
}
