//! The record of processing activities (art. 30(1) GDPR), generated from the inventory so
//! it can never drift from what the gateway tells people: one activity per category, with
//! the controller's details, recipients with their sharing assessments, third-country
//! transfers, retention and the security measures.

use serde::{Deserialize, Serialize};

use super::recipients::MAX_ASSESSMENT_CHARS;
use super::{Controller, Inventory, LegalBasis, Recipient};

/// What the register needs beyond the inventory (`[register]` in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDetails {
    /// How to reach the controller: postal address, telephone, e-mail (art. 30(1)(a)).
    #[serde(default)]
    pub controller_contact: Option<String>,
    /// The representative in the Union of a controller established outside it (art. 27).
    #[serde(default)]
    pub representative: Option<String>,
    /// Joint controllers and how to reach them (art. 26).
    #[serde(default)]
    pub joint_controllers: Vec<String>,
    /// The technical and organisational security measures (art. 30(1)(g), art. 32(1)).
    #[serde(default)]
    pub security_measures: Vec<String>,
}

impl RegisterDetails {
    /// Checks the lengths; answers the offending key under `register`.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let one = [("controller_contact", &self.controller_contact), ("representative", &self.representative)];
        let texts = one.into_iter().filter_map(|(k, t)| Some((k, t.as_ref()?)));
        let lists = [("joint_controllers", &self.joint_controllers), ("security_measures", &self.security_measures)];
        let texts = texts.chain(lists.into_iter().flat_map(|(k, list)| list.iter().map(move |t| (k, t))));
        for (key, text) in texts {
            if text.trim().is_empty() || text.chars().count() > MAX_ASSESSMENT_CHARS {
                return Err((format!("register.{key}"), format!("must be 1 to {MAX_ASSESSMENT_CHARS} characters")));
            }
        }
        Ok(())
    }
}

/// The register as served: JSON, and the source of the CSV and HTML forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema), schema(example = register_example))]
pub struct ProcessingRegister {
    /// (a) the controller, its representative, joint controllers and the DPO.
    pub controller: RegisterController,
    /// (b)–(f), one activity per category of the inventory.
    pub activities: Vec<ProcessingActivity>,
    /// (d) every declared recipient, with its sharing assessment.
    pub recipients: Vec<Recipient>,
    /// (g) the security measures.
    pub security_measures: Vec<String>,
    /// Fields art. 30(1) asks for that the configuration leaves empty.
    pub gaps: Vec<String>,
}

/// Art. 30(1)(a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RegisterController {
    pub id: String,
    pub name: String,
    pub contact: Option<String>,
    pub representative: Option<String>,
    pub joint_controllers: Vec<String>,
    pub dpo_contact: String,
}

/// One processing activity: a category of personal data and what is done with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ProcessingActivity {
    /// The category id in the inventory.
    pub category: String,
    /// (c) the category of personal data.
    pub name: String,
    pub description: Option<String>,
    /// (b) the purposes.
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    pub legal_basis_article: String,
    /// The art. 9(2) ground, for special-category data.
    pub art9_article: Option<String>,
    /// (c) the categories of data subjects.
    pub data_subjects: Vec<String>,
    /// (d) who receives it, by name.
    pub recipients: Vec<String>,
    /// (e) transfers to third countries, with their safeguards.
    pub third_country_transfers: Vec<ThirdCountryTransfer>,
    /// (f) the time limit for erasure: an ISO 8601 duration, and in words.
    pub retention: String,
    pub retention_text: String,
    /// The system holding it.
    pub source: String,
}

/// Art. 30(1)(e): data leaving the EEA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ThirdCountryTransfer {
    pub recipient: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The safeguard documented for it; a gap when absent.
    pub safeguards: Option<String>,
}

/// The OpenAPI document's example: kept beside the type, as this layer may not import the
/// API's examples; a test checks it against the schema.
#[cfg(feature = "server")]
fn register_example() -> serde_json::Value {
    let meter_readings = serde_json::json!({
        "category": "meter_readings",
        "name": "Meter readings",
        "description": "Your smart meter's readings, per day",
        "purposes": ["Billing your energy use", "Showing your use in the app"],
        "legal_basis": "contract",
        "legal_basis_article": "Art. 6(1)(b) GDPR",
        "data_subjects": ["customers", "members of their household"],
        "recipients": ["Stedin Netbeheer B.V."],
        "third_country_transfers": [],
        "retention": "P2Y",
        "retention_text": "2 years",
        "source": "Metering system"
    });
    let service_notes = serde_json::json!({
        "category": "service_notes",
        "name": "Customer service notes",
        "purposes": ["Helping you consistently when you contact us again"],
        "legal_basis": "legitimate_interests",
        "legal_basis_article": "Art. 6(1)(f) GDPR",
        "data_subjects": ["customers", "people who contact customer service"],
        "recipients": ["Helpdesk software provider"],
        "third_country_transfers": [{
            "recipient": "Helpdesk software provider",
            "country": "US",
            "safeguards": "EU-US Data Privacy Framework (adequacy decision of 10 July 2023)"
        }],
        "retention": "P1Y",
        "retention_text": "1 year",
        "source": "Customer service system"
    });
    serde_json::json!({
        "controller": {
            "id": "https://zonnestroom.example",
            "name": "Zonnestroom B.V.",
            "contact": "Zonnestroom B.V., Catharijnesingel 10, 3511 GB Utrecht; +31 30 000 0000; privacy@zonnestroom.example",
            "joint_controllers": [],
            "dpo_contact": "privacy@zonnestroom.example"
        },
        "activities": [meter_readings, service_notes],
        "recipients": [
            {
                "id": "grid-operator",
                "name": "Stedin Netbeheer B.V.",
                "role": "controller",
                "country": "NL",
                "assessment": {
                    "moment": "Each month the grid operator sends us the readings it collected; we send it changes of supplier.",
                    "lawfulness": "The Energiewet obliges the exchange between supplier and grid operator (art. 6(1)(c) GDPR).",
                    "risks": "Readings sent for the wrong connection point.",
                    "measures": "Exchange over the sector's secured EDSN channel, matched on EAN code.",
                    "assessed_on": "2026-03-12",
                    "assessed_by": "privacy officer"
                }
            },
            {
                "id": "helpdesk-platform",
                "name": "Helpdesk software provider",
                "role": "processor",
                "country": "US",
                "transfer_safeguards": "EU-US Data Privacy Framework (adequacy decision of 10 July 2023)",
                "assessment": {
                    "moment": "Customer service notes are kept in the provider's helpdesk software.",
                    "lawfulness": "A processing agreement under art. 28 GDPR; the provider is certified under the Data Privacy Framework.",
                    "risks": "Access by the provider's staff or by US authorities.",
                    "measures": "Data encrypted at rest, access logged, support access only on our request.",
                    "assessed_on": "2026-05-04"
                }
            }
        ],
        "security_measures": [
            "Personal data encrypted in transit (TLS 1.2 or later) and at rest",
            "Staff access by role through the identity provider, with two-factor sign-in",
            "A tamper-evident audit trail with signed checkpoints"
        ],
        "gaps": []
    })
}

impl ProcessingRegister {
    /// Builds the register; `source_name` maps a source id to its human-readable name.
    pub fn new<'a>(
        controller: &Controller,
        details: &RegisterDetails,
        inventory: &Inventory,
        source_name: impl Fn(&str) -> Option<&'a str>,
    ) -> Self {
        let activities: Vec<ProcessingActivity> = inventory
            .categories()
            .iter()
            .map(|c| ProcessingActivity {
                category: c.id.clone(),
                name: c.name.clone(),
                description: c.description.clone(),
                purposes: c.purposes.clone(),
                legal_basis: c.legal_basis,
                legal_basis_article: c.legal_basis.article().to_owned(),
                art9_article: c.art9_ground.map(|g| g.article().to_owned()),
                data_subjects: c.data_subjects.clone(),
                recipients: inventory.recipient_names(c),
                third_country_transfers: c
                    .recipients
                    .iter()
                    .filter_map(|id| inventory.recipient(id))
                    .filter(|r| r.is_third_country())
                    .map(|r| ThirdCountryTransfer {
                        recipient: r.name.clone(),
                        country: r.country.clone(),
                        safeguards: r.transfer_safeguards.clone(),
                    })
                    .collect(),
                retention: c.retention.to_string(),
                retention_text: c.retention.describe(),
                source: source_name(&c.source).unwrap_or(&c.source).to_owned(),
            })
            .collect();
        let mut register = Self {
            controller: RegisterController {
                id: controller.id.clone(),
                name: controller.name.clone(),
                contact: details.controller_contact.clone(),
                representative: details.representative.clone(),
                joint_controllers: details.joint_controllers.clone(),
                dpo_contact: controller.dpo_contact.clone(),
            },
            activities,
            recipients: inventory.recipients().to_vec(),
            security_measures: details.security_measures.clone(),
            gaps: Vec::new(),
        };
        register.gaps = register.find_gaps();
        register
    }

    /// What art. 30(1) asks for and the configuration leaves empty, each with the key to
    /// fill in. Purposes and retention are required by the inventory itself.
    fn find_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        if self.controller.contact.is_none() {
            gaps.push("art. 30(1)(a): the controller's contact details are empty (register.controller_contact)".into());
        }
        for (i, a) in self.activities.iter().enumerate() {
            if a.data_subjects.is_empty() {
                gaps.push(format!(
                    "art. 30(1)(c): category {:?} names no categories of data subjects (categories[{i}].data_subjects)",
                    a.category
                ));
            }
            for t in a.third_country_transfers.iter().filter(|t| t.safeguards.is_none()) {
                gaps.push(format!(
                    "art. 30(1)(e): category {:?} goes to {} in {}, outside the EEA, without a documented safeguard (transfer_safeguards of that recipient)",
                    a.category, t.recipient, t.country
                ));
            }
        }
        if self.security_measures.is_empty() {
            gaps.push("art. 30(1)(g): no security measures are described (register.security_measures)".into());
        }
        gaps
    }
}
