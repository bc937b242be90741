//! The data inventory: which categories of personal data the controller holds, why, on
//! what legal basis, for how long, for whom and from where. Everything the gateway tells a
//! data subject (art. 13–15) is generated from here.

pub(crate) mod duration;
mod language;
pub(crate) mod privacy_notice;
pub(crate) mod processing_register;
pub(crate) mod recipients;
pub(crate) mod record_schema;
mod schema_reason;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use crate::protocol::gdpr::{Art9Ground, LegalBasis};
pub(crate) use crate::protocol::notice::{Controller, NoticeCategory, PrivacyNotice, Right};
pub(crate) use duration::IsoDuration;
pub use language::Language;
pub(crate) use recipients::Recipient;
use record_schema::{RecordSchemas, SchemaCompiler};

/// Longest category or source id; ids become file names and URL segments.
pub(crate) const MAX_ID_LEN: usize = 64;

/// One category of personal data in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable identifier: lowercase letters, digits, `_` and `-`.
    pub id: String,
    /// Name shown to the data subject.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Why the data is processed (art. 13(1)(c)).
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    /// Whether this is special-category data (art. 9(1)).
    #[serde(default)]
    pub special_category: bool,
    /// Required exactly when `special_category` is true.
    #[serde(default)]
    pub art9_ground: Option<Art9Ground>,
    /// How long the data is kept, as an ISO 8601 duration.
    pub retention: IsoDuration,
    /// The top-level record field whose date (or date and time) `retention` counts from,
    /// e.g. `"date"` of a meter reading. Given, the gateway reports the records past their
    /// retention at the source (`GET /v1/retention/sources`).
    #[serde(default)]
    pub retention_date_field: Option<String>,
    /// Whether the gateway erases those records at the source itself, after the warning
    /// period (`[retention] warn_before`), except a person's under a legal hold. Needs
    /// `retention_date_field` and a source that erases by date.
    #[serde(default)]
    pub erase_when_expired: bool,
    /// Who receives it (art. 13(1)(e)): ids of `[[recipients]]`, each with its sharing
    /// assessment. Free text naming no id is accepted and shown as written, but
    /// `check-config` refuses it as unassessed.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Categories of data subjects the data is about, e.g. "customers" (art. 30(1)(c)).
    #[serde(default)]
    pub data_subjects: Vec<String>,
    /// Id of the source (connector) holding this category.
    pub source: String,
    /// Whether the right to data portability (art. 20) applies.
    pub portable: bool,
    /// Fields of a record a person may ask to correct (art. 16), as dotted paths into the
    /// record (`address.street`); none by default.
    #[serde(default)]
    pub rectifiable: Vec<String>,
    /// The field that identifies one record of this category at its source (`id` by
    /// default): a rectification names the record by it, and it is never itself changed.
    #[serde(default = "default_id_field")]
    pub id_field: String,
    /// A JSON Schema (draft 2020-12) describing one record; when given, every
    /// `rectifiable` path must be found in it along `properties`, and each proposed value
    /// must satisfy the subschema at its path.
    #[serde(default)]
    pub schema: Option<Value>,
    /// Why this category is kept when a person asks for erasure, besides a legal
    /// obligation (art. 17(3)): e.g. "art. 17(3)(e): needed to defend legal claims". The
    /// person is told this ground.
    #[serde(default)]
    pub erasure_exception: Option<String>,
    /// Whether this category is used for direct marketing: an objection to it is absolute
    /// (art. 21(3)), carried out without approval and whatever the legal basis.
    #[serde(default)]
    pub direct_marketing: bool,
}

fn default_id_field() -> String {
    DEFAULT_ID_FIELD.to_owned()
}

/// The record id field of a category that names none.
pub(crate) const DEFAULT_ID_FIELD: &str = "id";
/// Longest art. 17(3) ground, in characters.
pub(crate) const MAX_GROUND_CHARS: usize = 500;

impl Category {
    /// The ground on which this category is kept despite an erasure request (art. 17(3)),
    /// if any: a legal obligation to keep it, or the exception the organisation configured.
    pub fn legal_hold(&self) -> Option<String> {
        if let Some(ground) = &self.erasure_exception {
            return Some(ground.clone());
        }
        (self.legal_basis == LegalBasis::LegalObligation).then(|| {
            format!(
                "art. 17(3)(b) GDPR: kept to comply with a legal obligation ({}): {}",
                self.legal_basis.article(),
                self.purposes.join("; ")
            )
        })
    }
}

/// Why an inventory is not coherent; `key` is the config path of the offending value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct InventoryError {
    pub key: String,
    pub message: String,
}

/// A validated inventory: unique ids, known sources, art. 9 grounds where required,
/// record schemas compiled.
#[derive(Debug, Clone)]
pub struct Inventory {
    categories: Vec<Category>,
    recipients: Vec<Recipient>,
    schemas: Arc<RecordSchemas>,
    language: Language,
}

/// A recipient a category names for which no sharing assessment is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unassessed {
    pub category: String,
    /// As the category writes it: an id without an assessment, or free text.
    pub recipient: String,
}

impl std::fmt::Display for Unassessed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "category {:?} shares with {:?}, ", self.category, self.recipient)?;
        f.write_str("which has no sharing assessment: declare it under [[recipients]] with an [recipients.assessment] (where in the process it is shared, why that is lawful, the risks, the measures)")
    }
}

impl Inventory {
    /// Checks the categories against the ids of the configured sources, and the recipients.
    pub fn new(
        categories: Vec<Category>,
        recipients: Vec<Recipient>,
        source_ids: &[&str],
    ) -> Result<Self, InventoryError> {
        recipients::check(&recipients)?;
        let mut schemas = SchemaCompiler::new();
        for (i, c) in categories.iter().enumerate() {
            let key = |field: &str| format!("categories[{i}].{field}");
            let err = |field: &str, message: String| InventoryError { key: key(field), message };
            if let Err(message) = check_id(&c.id) {
                return Err(err("id", message));
            }
            if categories[..i].iter().any(|o| o.id == c.id) {
                return Err(err("id", format!("duplicate category id {:?}", c.id)));
            }
            if c.name.trim().is_empty() {
                return Err(err("name", "must not be empty".into()));
            }
            if c.purposes.is_empty() || c.purposes.iter().any(|p| p.trim().is_empty()) {
                return Err(err("purposes", "name at least one purpose, none empty".into()));
            }
            // An objection is carried out, and receipted, once per purpose.
            if let Some((j, p)) = c.purposes.iter().enumerate().find(|(j, p)| c.purposes[..*j].contains(p)) {
                return Err(err(&format!("purposes[{j}]"), format!("{p:?} is listed twice")));
            }
            match (c.special_category, c.art9_ground) {
                (true, None) => {
                    return Err(err("art9_ground", "special-category data needs an art. 9(2) ground".into()));
                }
                (false, Some(_)) => {
                    return Err(err("art9_ground", "only special-category data takes an art. 9(2) ground".into()));
                }
                _ => {}
            }
            if !source_ids.contains(&c.source.as_str()) {
                return Err(err("source", format!("no source with id {:?} is configured", c.source)));
            }
            for (j, field) in c.rectifiable.iter().enumerate() {
                if field.is_empty() || field.len() > MAX_ID_LEN || field.split('.').any(str::is_empty) {
                    return Err(err("rectifiable", format!("{field:?} is not a dotted field path")));
                }
                if c.rectifiable[..j].contains(field) {
                    return Err(err("rectifiable", format!("{field:?} is listed twice")));
                }
                if *field == c.id_field || field.starts_with(&format!("{}.", c.id_field)) {
                    return Err(err("rectifiable", format!("{field:?} is the record id field, which never changes")));
                }
            }
            if c.id_field.is_empty() || c.id_field.len() > MAX_ID_LEN || c.id_field.contains('.') {
                return Err(err("id_field", "must be a top-level field name of 1 to 64 characters".into()));
            }
            if let Some(field) = &c.retention_date_field {
                if field.is_empty() || field.len() > MAX_ID_LEN || field.contains('.') {
                    return Err(err(
                        "retention_date_field",
                        "must be a top-level field name of 1 to 64 characters".into(),
                    ));
                }
            }
            if c.erase_when_expired && c.retention_date_field.is_none() {
                return Err(err(
                    "erase_when_expired",
                    "needs retention_date_field: the date retention counts from".into(),
                ));
            }
            if let Some(ground) = &c.erasure_exception {
                if ground.trim().is_empty() || ground.chars().count() > MAX_GROUND_CHARS {
                    return Err(err("erasure_exception", format!("must be 1 to {MAX_GROUND_CHARS} characters")));
                }
            }
            for (field, texts) in [("recipients", &c.recipients), ("data_subjects", &c.data_subjects)] {
                if texts.iter().any(|t| t.trim().is_empty() || t.chars().count() > MAX_GROUND_CHARS) {
                    return Err(err(field, format!("each must be 1 to {MAX_GROUND_CHARS} characters")));
                }
            }
            schemas.add(c).map_err(|(field, message)| err(field, message))?;
        }
        Ok(Self { categories, recipients, schemas: Arc::new(schemas.finish()), language: Language::default() })
    }

    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// The declared recipient a category's entry names, if it names one.
    pub fn recipient(&self, id: &str) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id == id)
    }

    /// What a person is told receives `category`: declared recipients by name, free text
    /// as written.
    pub fn recipient_names(&self, category: &Category) -> Vec<String> {
        let name = |entry: &String| self.recipient(entry).map_or_else(|| entry.clone(), |r| r.name.clone());
        category.recipients.iter().map(name).collect()
    }

    /// Every recipient a category names without a recorded sharing assessment.
    pub fn unassessed(&self) -> Vec<Unassessed> {
        let assessed = |entry: &str| self.recipient(entry).is_some_and(|r| r.assessment.is_some());
        self.categories
            .iter()
            .flat_map(|c| c.recipients.iter().map(move |r| (c, r)))
            .filter(|(_, r)| !assessed(r))
            .map(|(c, r)| Unassessed { category: c.id.clone(), recipient: r.clone() })
            .collect()
    }

    /// The inventory written in `language` (the config's `language` key).
    pub(crate) fn with_language(self, language: Language) -> Self {
        Self { language, ..self }
    }

    /// The language of what a person reads: the config's `language`, English by default.
    pub(crate) fn language(&self) -> Language {
        self.language
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Judges a value proposed for a rectifiable `field` of `category` against the
    /// category's schema; any value passes where the category has none.
    pub(crate) fn check_proposed_value(&self, category: &str, field: &str, value: &Value) -> Result<(), String> {
        self.schemas.check(category, field, value)
    }
}

/// Checks an id used as a file name and URL segment.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.chars().all(ok_char) || id.starts_with('-') {
        return Err(format!(
            "{id:?} must be 1 to {MAX_ID_LEN} characters of a-z, 0-9, '_' and '-', not starting with '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(id: &str) -> Category {
        Category {
            id: id.into(),
            name: "Contact details".into(),
            description: None,
            purposes: vec!["Customer service".into()],
            legal_basis: LegalBasis::Contract,
            special_category: false,
            art9_ground: None,
            retention: IsoDuration::parse("P2Y").unwrap(),
            retention_date_field: None,
            erase_when_expired: false,
            recipients: vec![],
            data_subjects: vec![],
            source: "crm".into(),
            portable: true,
            rectifiable: vec!["address.street".into()],
            id_field: DEFAULT_ID_FIELD.into(),
            schema: None,
            erasure_exception: None,
            direct_marketing: false,
        }
    }

    #[test]
    fn accepts_coherent_inventory() {
        let inv = Inventory::new(vec![category("contact"), category("orders")], vec![], &["crm"]).unwrap();
        assert_eq!(inv.category("orders").unwrap().id, "orders");
    }

    #[test]
    fn names_the_offending_key() {
        let cases: Vec<(Vec<Category>, &str)> = vec![
            (vec![category("contact"), category("contact")], "categories[1].id"),
            (vec![category("../etc")], "categories[0].id"),
            (vec![Category { source: "nope".into(), ..category("a") }], "categories[0].source"),
            (vec![Category { special_category: true, ..category("a") }], "categories[0].art9_ground"),
            (
                vec![Category { art9_ground: Some(Art9Ground::ExplicitConsent), ..category("a") }],
                "categories[0].art9_ground",
            ),
            (vec![Category { purposes: vec![], ..category("a") }], "categories[0].purposes"),
            (vec![Category { rectifiable: vec!["address.".into()], ..category("a") }], "categories[0].rectifiable"),
            (
                vec![Category { rectifiable: vec!["a".into(), "a".into()], ..category("a") }],
                "categories[0].rectifiable",
            ),
            (vec![Category { rectifiable: vec!["id".into()], ..category("a") }], "categories[0].rectifiable"),
            (vec![Category { id_field: "a.b".into(), ..category("a") }], "categories[0].id_field"),
            (
                vec![Category { erasure_exception: Some(" ".into()), ..category("a") }],
                "categories[0].erasure_exception",
            ),
            (
                vec![Category { retention_date_field: Some("closed.on".into()), ..category("a") }],
                "categories[0].retention_date_field",
            ),
            (vec![Category { erase_when_expired: true, ..category("a") }], "categories[0].erase_when_expired"),
        ];
        for (cats, key) in cases {
            assert_eq!(Inventory::new(cats, vec![], &["crm"]).unwrap_err().key, key);
        }
    }

    #[test]
    fn recipients_are_named_by_id_and_unassessed_ones_are_found() {
        let declared = |id: &str, assessed: bool| Recipient {
            id: id.into(),
            name: format!("The {id}"),
            role: recipients::RecipientRole::Processor,
            country: "NL".into(),
            transfer_safeguards: None,
            assessment: assessed.then(|| recipients::SharingAssessment {
                moment: "m".into(),
                lawfulness: "l".into(),
                risks: "r".into(),
                measures: "s".into(),
                assessed_on: "2024-02-29".into(),
                assessed_by: None,
            }),
        };
        let c = Category { recipients: vec!["carrier".into(), "printer".into(), "Tax office".into()], ..category("a") };
        let inv =
            Inventory::new(vec![c], vec![declared("carrier", true), declared("printer", false)], &["crm"]).unwrap();
        assert_eq!(inv.recipient_names(&inv.categories()[0]), ["The carrier", "The printer", "Tax office"]);
        let unassessed: Vec<String> = inv.unassessed().into_iter().map(|u| u.recipient).collect();
        assert_eq!(unassessed, ["printer", "Tax office"]);
        let blank = Category { data_subjects: vec![" ".into()], ..category("a") };
        assert_eq!(Inventory::new(vec![blank], vec![], &["crm"]).unwrap_err().key, "categories[0].data_subjects");
    }

    fn with_schema(schema: Value) -> Category {
        Category { rectifiable: vec!["name".into(), "address.street".into()], schema: Some(schema), ..category("a") }
    }

    fn contact_schema() -> Value {
        serde_json::json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "maxLength": 10},
                "address": {"type": "object", "properties": {"street": {"type": "string", "minLength": 2}}},
            },
        })
    }

    #[test]
    fn schemas_must_compile_and_describe_every_rectifiable_field() {
        let refused = |schema: Value| Inventory::new(vec![with_schema(schema)], vec![], &["crm"]).unwrap_err();
        let err = refused(serde_json::json!({"properties": {"name": {"type": "text"}}}));
        assert_eq!(err.key, "categories[0].schema");
        assert!(err.message.contains("category \"a\"") && err.message.contains("does not compile"), "{err}");
        let err = refused(serde_json::json!({"properties": {"name": {}, "address": {"properties": {}}}}));
        assert_eq!(err.key, "categories[0].rectifiable");
        assert!(err.message.contains("\"address.street\"") && err.message.contains("no properties.street"), "{err}");
        // Nothing is read for a $ref that leaves the schema: not a file, not a URL.
        for target in ["file:///etc/hostname", "https://example.com/name.json", "other.json"] {
            let err = refused(serde_json::json!({"properties": {"name": {"$ref": target}}}));
            assert_eq!(err.key, "categories[0].schema", "{target}: {err}");
        }
    }

    #[test]
    fn proposed_values_are_judged_by_the_subschema_at_their_path() {
        let inv = Inventory::new(vec![with_schema(contact_schema()), category("b")], vec![], &["crm"]).unwrap();
        let check = |field: &str, value: Value| inv.check_proposed_value("a", field, &value);
        assert_eq!(check("name", "Ann".into()), Ok(()));
        assert_eq!(check("address.street", "Kerkstraat 2".into()), Ok(()));
        assert_eq!(check("name", "Annabel Lee!".into()), Err("must be at most 10 characters long".into()));
        assert_eq!(check("address.street", 7.into()), Err("must be string, not number".into()));
        assert!(check("name", Value::Null).unwrap_err().contains("cannot be removed"));
        assert_eq!(check("address.street", Value::Null), Ok(()), "not required: null removes it");
        assert_eq!(inv.check_proposed_value("b", "address.street", &7.into()), Ok(()), "no schema, any value");
    }
}
