//! Values a rectification proposes are checked against the JSON Schema the inventory gives
//! their category (the demo's `contact`), over real HTTP: a value that does not fit is
//! refused at filing with `proposed_value_invalid`, naming the field and the rule but not
//! the value, and nothing is stored; values that fit are filed.

use gdpr_gateway::protocol::rights::StaffRole;
use serde_json::{Value, json};

use crate::common::{TestGateway, assert_problem};

fn rectification(fields: Value) -> Value {
    json!({"type": "rectification", "categories": ["contact"], "proposed": {"contact": fields}})
}

#[tokio::test]
async fn a_value_the_schema_rules_out_is_refused_and_nothing_is_stored() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let long_name = "Zoë ".repeat(60);
    let refusals = [
        (json!({"email": "alice.example.org"}), "contact.email", "does not match the pattern"),
        (json!({"address.postcode": "0123 ab"}), "contact.address.postcode", "does not match the pattern"),
        (json!({"name": long_name}), "contact.name", "must be at most 200 characters long"),
        (json!({"phone": 612_345_678}), "contact.phone", "must be "),
        (json!({"address.city": ""}), "contact.address.city", "must be at least 1 characters long"),
        (json!({"name": null}), "contact.name", "cannot be removed"),
        // One bad value refuses the whole request, good ones beside it included.
        (
            json!({"id": "C-1001", "address.street": "Kerkstraat 2", "address.city": null}),
            "contact.address.city",
            "cannot be removed",
        ),
    ];
    for (fields, field, rule) in refusals {
        let response = portal.request(reqwest::Method::POST, "/v1/subjects/alice/requests");
        let problem =
            assert_problem(response.json(&rectification(fields)).send().await.unwrap(), 422, "proposed_value_invalid")
                .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("proposed for {field} ")) && detail.contains(rule), "{detail}");
        assert!(
            !detail.contains("Zoë") && !detail.contains("alice.example.org") && !detail.contains("0123"),
            "{detail}"
        );
    }
    // A letter registered by a handler is checked alike.
    let handler = gw.staff_client(StaffRole::Handler);
    let letter = json!({"subject_ref": "alice", "type": "rectification", "proposed": {"contact": {"email": "no at"}}});
    let response = handler.request(reqwest::Method::POST, "/v1/requests").json(&letter).send().await.unwrap();
    assert_problem(response, 422, "proposed_value_invalid").await;
    assert!(portal.requests("alice", "").await.unwrap().requests.is_empty(), "nothing refused was stored");
    assert!(handler.register("").await.unwrap().requests.is_empty());
    gw.stop().await.unwrap();
}

#[tokio::test]
async fn values_that_fit_the_schema_are_filed() {
    let gw = TestGateway::demo().await;
    let portal = gw.portal_client();
    let fields = json!({
        "id": "C-1001",
        "name": "Alice de Vries-Jansen",
        "email": "alice@voorbeeld.example",
        "address.street": "Kerkstraat 2",
        "address.postcode": "3511NS",
        "address.city": "Utrecht",
        // The phone is not required: null removes it.
        "phone": null,
    });
    let filed = portal.file_request("alice", &rectification(fields.clone())).await.unwrap();
    assert_eq!(filed.proposed.unwrap()["contact"], fields);
    let phone = portal.file_request("alice", &rectification(json!({"phone": "+31 30 123 4567"}))).await.unwrap();
    assert_eq!(phone.state.as_str(), "open");
    assert_eq!(portal.requests("alice", "").await.unwrap().requests.len(), 2);
    gw.stop().await.unwrap();
}
