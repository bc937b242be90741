//! The staff's oversight bodies (breaches, legal holds and retention, the audit trail, the
//! processing register) have examples in the OpenAPI document, and each example is a body
//! of its type: read back into the type and written again where the type reads and writes,
//! and otherwise held against the schema the type generates, property by property.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Every body of the oversight routes, by schema name. The request bodies only deserialize
/// and the responses only serialize, so those are held against their schema here (the
/// request examples are also read into their types by a unit test beside them,
/// `api::oversight_examples::tests`); `AuditPage` does both and round-trips.
const SCHEMA_CHECKED: &[&str] = &[
    "NewBreach",
    "BreachChange",
    "AuthorityNotified",
    "NotifyPeople",
    "BreachView",
    "BreachList",
    "PeopleNotifiedView",
    "AuthorityNotificationDraft",
    "PlaceHold",
    "LiftHold",
    "LegalHoldView",
    "LegalHoldList",
    "SourceRetentionReport",
    "UpcomingDeletions",
    "AuditPage",
    "ProcessingRegister",
];

/// The routes whose bodies this file answers for.
const OVERSIGHT_PATHS: &[&str] =
    &["/v1/breaches", "/v1/legal-holds", "/v1/retention/", "/v1/audit", "/v1/register/processing"];

fn document() -> Value {
    serde_json::to_value(gdpr_gateway::serve::openapi()).unwrap()
}

/// Absent options are written as `null` by some types; an example leaves them out.
pub(crate) fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// `example` read into `T` and written again, without nulls: equal to `example` when the
/// example is a body of `T`.
pub(crate) fn round_trip<T: DeserializeOwned + Serialize>(example: &Value) -> Value {
    without_nulls(serde_json::to_value(serde_json::from_value::<T>(example.clone()).unwrap()).unwrap())
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => resolve(document, &document["components"]["schemas"][name]),
        None => schema,
    }
}

/// The properties and required names of an object schema, its `allOf` parts merged (a
/// flattened field makes one).
fn object_shape(document: &Value, schema: &Value, properties: &mut Map<String, Value>, required: &mut Vec<String>) {
    let schema = resolve(document, schema);
    if let Some(own) = schema["properties"].as_object() {
        properties.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    required.extend(schema["required"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_owned)));
    for part in schema["allOf"].as_array().into_iter().flatten() {
        object_shape(document, part, properties, required);
    }
}

fn type_fits(name: &str, value: &Value) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// Whether `value` is what `schema` describes: types, enums, lengths and bounds, required
/// properties present and no property the schema does not name, all the way down.
fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let fits: Vec<_> = options.iter().map(|o| conforms(document, o, value, at)).collect();
            if !fits.iter().any(Result::is_ok) {
                return Err(format!("{at}: fits none of {key}: {fits:?}"));
            }
        }
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {values:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_fits(t, value)) {
        return Err(format!("{at}: {value} is not of type {types:?}"));
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| chars < min)
            || schema["maxLength"].as_u64().is_some_and(|max| chars > max)
        {
            return Err(format!("{at}: {chars} characters is outside the schema's lengths"));
        }
        if schema["format"] == "date-time" && !(text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T')
        {
            return Err(format!("{at}: {text} is not an RFC 3339 UTC time like the gateway writes"));
        }
    }
    if let Some(n) = value.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max))
    {
        return Err(format!("{at}: {n} is out of the schema's bounds"));
    }
    if let Some(items) = value.as_array() {
        if schema["minItems"].as_u64().is_some_and(|min| (items.len() as u64) < min)
            || schema["maxItems"].as_u64().is_some_and(|max| items.len() as u64 > max)
        {
            return Err(format!("{at}: {} items is outside the schema's bounds", items.len()));
        }
        if schema.get("items").is_some() {
            for (i, item) in items.iter().enumerate() {
                conforms(document, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Some(fields) = value.as_object() {
        let (mut properties, mut required) = (Map::new(), Vec::new());
        object_shape(document, schema, &mut properties, &mut required);
        if properties.is_empty() && required.is_empty() {
            return Ok(());
        }
        if let Some(missing) = required.iter().find(|r| !fields.contains_key(*r)) {
            return Err(format!("{at}: the required {missing:?} is missing"));
        }
        for (name, field) in fields {
            let Some(property) = properties.get(name) else {
                return Err(format!("{at}: {name:?} is not a property of the schema"));
            };
            conforms(document, property, field, &format!("{at}.{name}"))?;
        }
    }
    Ok(())
}

#[test]
fn oversight_bodies_have_examples_that_are_real_bodies() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    for name in SCHEMA_CHECKED {
        let schema = &schemas[name];
        assert!(schema.is_object(), "{name} is not in the document");
        let example = &schema["example"];
        assert!(example.is_object(), "{name} has no example");
        assert_eq!(&without_nulls(example.clone()), example, "{name}'s example writes a null: leave it out");
        if let Err(e) = conforms(&document, schema, example, name) {
            panic!("{name}'s example is not a body of its schema: {e}");
        }
    }
    let page = &schemas["AuditPage"]["example"];
    let written = round_trip::<gdpr_gateway::views::AuditPage>(page);
    assert_eq!(&written, page, "AuditPage's example is not what the type reads and writes");
}

/// The checker catches what it is there for, so a passing test above means something.
#[test]
fn the_schema_check_refuses_what_the_type_would_not_be() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let fails = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut example = schemas[name]["example"].clone();
        change(&mut example);
        assert!(conforms(&document, &schemas[name], &example, name).is_err(), "{name}: {example}");
    };
    fails("BreachView", &|e| e["outcome"] = "notify".into());
    fails("BreachView", &|e| e["clock"]["state"] = "warning_24h".into());
    fails("BreachView", &|e| e["facts"]["severity"] = "high".into());
    fails("BreachList", &|e| e["breaches"][0].as_object_mut().unwrap().remove("version").map(drop).unwrap());
    fails("NewBreach", &|e| e["aware"] = "2026-11-28T08:30:00Z".into());
    fails("NewBreach", &|e| e.as_object_mut().unwrap().remove("nature").map(drop).unwrap());
    fails("NotifyPeople", &|e| e["subject_refs"] = Value::Array(Vec::new()));
    fails("LegalHoldList", &|e| e["holds"][0]["active"] = "yes".into());
    fails("AuthorityNotificationDraft", &|e| e["answers"]["role"] = "owner".into());
    fails("ProcessingRegister", &|e| e["activities"][0]["legal_basis"] = "Contract".into());
    fails("AuditPage", &|e| e["entries"][0]["at"] = "2026-11-28T09:41:17Z".into());
}

#[test]
fn every_oversight_body_has_an_example() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let mut seen = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if !OVERSIGHT_PATHS.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let tag = operation["tags"][0].as_str().unwrap_or_default();
            assert!(matches!(tag, "staff" | "breaches"), "{method} {path} is tagged {tag:?}");
            let bodies = operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .chain(operation["responses"].as_object().unwrap().values().filter_map(|r| r["content"].as_object()));
            for content in bodies {
                for (media_type, body) in content {
                    let json = media_type == "application/json"
                        || (media_type.ends_with("+json") && media_type != "application/problem+json");
                    if !json {
                        continue;
                    }
                    let named = body["schema"]["$ref"].as_str().and_then(|r| r.rsplit('/').next());
                    let name = named.unwrap_or_else(|| panic!("{method} {path}: {media_type} has an unnamed body"));
                    assert!(
                        SCHEMA_CHECKED.contains(&name),
                        "{method} {path}: {name} is a body this test does not check: add its example and list it"
                    );
                    let has_example = body.get("example").is_some() || schemas[name].get("example").is_some();
                    assert!(has_example, "{method} {path}: {media_type} ({name}) has no example");
                    seen += 1;
                }
            }
        }
    }
    // Each request and success body once at least: 17 as the routes stand.
    assert!(seen >= SCHEMA_CHECKED.len(), "only {seen} oversight bodies found: did the paths move?");
}

/// The request examples, sent as they stand to a gateway whose clock reads the examples'
/// times, are accepted, and what comes back is a body of the documented response: only
/// the `version` each call must name is taken from the answer before.
#[tokio::test]
async fn the_request_examples_walk_through_a_real_gateway() {
    use gdpr_gateway::protocol::rights::StaffRole;
    use reqwest::Method;

    let document = document();
    let schemas = &document["components"]["schemas"];
    let example = |name: &str| schemas[name]["example"].clone();
    let gw = crate::common::TestGateway::demo().await;
    let approver = gw.staff_client(StaffRole::Approver);
    let call = async |method: Method, path: &str, body: Value, status: u16, answer: &str| {
        let response = approver.request(method.clone(), path).json(&body).send().await.unwrap();
        let code = response.status().as_u16();
        let answer_body: Value = response.json().await.unwrap();
        assert_eq!(code, status, "{method} {path} with {body}: {answer_body}");
        if let Err(e) = conforms(&document, &schemas[answer], &answer_body, answer) {
            panic!("{method} {path} answered what its schema does not describe: {e}");
        }
        answer_body
    };
    let instant = |text: &str| gdpr_gateway::calendar::Date::parse_instant(text).unwrap();

    gw.clock.set(instant("2026-11-28T09:41:17Z"));
    let breach = call(Method::POST, "/v1/breaches", example("NewBreach"), 201, "BreachView").await;
    let path = format!("/v1/breaches/{}", breach["id"].as_str().unwrap());
    let assessed = call(Method::PATCH, &path, example("BreachChange"), 200, "BreachView").await;
    assert_eq!(assessed["outcome"], example("BreachView")["outcome"]);
    gw.clock.set(instant("2026-11-29T15:03:41Z"));
    let mut notified = example("AuthorityNotified");
    notified["version"] = assessed["version"].clone();
    let notified = call(Method::POST, &format!("{path}/authority-notification"), notified, 200, "BreachView").await;
    assert_eq!(notified["authority_notification"], example("BreachView")["authority_notification"]);
    let mut people = example("NotifyPeople");
    people["version"] = notified["version"].clone();
    let told = call(Method::POST, &format!("{path}/people-notification"), people, 200, "PeopleNotifiedView").await;
    assert_eq!(told["people"], 3);

    let hold = call(Method::POST, "/v1/legal-holds", example("PlaceHold"), 201, "LegalHoldView").await;
    assert_eq!(hold["reason"], example("LegalHoldView")["reason"]);
    let lift = format!("/v1/legal-holds/{}/lift", hold["id"].as_str().unwrap());
    let lifted = call(Method::POST, &lift, example("LiftHold"), 200, "LegalHoldView").await;
    assert_eq!(lifted["active"], false);
}
