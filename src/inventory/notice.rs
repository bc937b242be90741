//! The public privacy notice (art. 13–15 GDPR) generated from the controller identity and
//! the inventory, served in the discovery document and later embedded in bundles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Art9Ground, Category, Inventory, LegalBasis};

/// Who the controller is and whom a data subject can turn to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// The controller id: an https URL, as listed in the trust list.
    pub id: String,
    pub name: String,
    /// How to reach the data protection officer (e-mail address or URL).
    pub dpo_contact: String,
    pub supervisory_authority: SupervisoryAuthority,
}

/// The authority a data subject can complain to (art. 77 GDPR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupervisoryAuthority {
    pub name: String,
    /// Where to lodge a complaint.
    pub url: String,
}

/// The notice as published.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivacyNotice {
    pub controller: Controller,
    pub categories: Vec<NoticeCategory>,
    pub rights: Vec<Right>,
}

/// One inventory category as explained to the data subject.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoticeCategory {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub purposes: Vec<String>,
    pub legal_basis: LegalBasis,
    /// E.g. `Art. 6(1)(b) GDPR`.
    pub legal_basis_article: String,
    /// The legal basis in plain words.
    pub legal_basis_text: String,
    pub special_category: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub art9_ground: Option<Art9Ground>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub art9_article: Option<String>,
    /// ISO 8601 duration.
    pub retention: String,
    /// The retention period in plain words.
    pub retention_text: String,
    pub recipients: Vec<String>,
    /// Where the data comes from.
    pub source: String,
    /// Whether the right to data portability (art. 20) applies.
    pub portable: bool,
}

/// A data-subject right and the article that grants it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Right {
    pub id: String,
    pub article: String,
    pub description: String,
}

impl PrivacyNotice {
    /// Builds the notice; `source_name` maps a source id to its human-readable name.
    pub fn new<'a>(
        controller: &Controller,
        inventory: &Inventory,
        source_name: impl Fn(&str) -> Option<&'a str>,
    ) -> Self {
        let categories: Vec<NoticeCategory> = inventory
            .categories()
            .iter()
            .map(|c| NoticeCategory::new(c, source_name(&c.source).unwrap_or(&c.source)))
            .collect();
        let rights = rights(controller, inventory.categories());
        Self { controller: controller.clone(), categories, rights }
    }
}

impl NoticeCategory {
    fn new(c: &Category, source: &str) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            purposes: c.purposes.clone(),
            legal_basis: c.legal_basis,
            legal_basis_article: c.legal_basis.article().to_owned(),
            legal_basis_text: c.legal_basis.describe().to_owned(),
            special_category: c.special_category,
            art9_ground: c.art9_ground,
            art9_article: c.art9_ground.map(|g| g.article().to_owned()),
            retention: c.retention.to_string(),
            retention_text: c.retention.describe(),
            recipients: c.recipients.clone(),
            source: source.to_owned(),
            portable: c.portable,
        }
    }
}

fn rights(controller: &Controller, categories: &[Category]) -> Vec<Right> {
    let right = |id: &str, article: &str, description: String| Right {
        id: id.to_owned(),
        article: article.to_owned(),
        description,
    };
    let mut rights = vec![
        right("access", "Art. 15 GDPR", "See which personal data we hold about you and receive a copy.".into()),
        right("rectification", "Art. 16 GDPR", "Have inaccurate data corrected and incomplete data completed.".into()),
        right("erasure", "Art. 17 GDPR", "Have your data erased when there is no longer a ground to keep it.".into()),
        right("restriction", "Art. 18 GDPR", "Have the processing of your data restricted.".into()),
    ];
    let portable: Vec<&str> = categories.iter().filter(|c| c.portable).map(|c| c.name.as_str()).collect();
    if !portable.is_empty() {
        rights.push(right(
            "portability",
            "Art. 20 GDPR",
            format!(
                "Receive the data you provided to us in a machine-readable form and have it sent to another organisation. Applies to: {}.",
                portable.join(", ")
            ),
        ));
    }
    rights.push(right(
        "objection",
        "Art. 21 GDPR",
        "Object to processing based on our legitimate interests or a public task.".into(),
    ));
    rights.push(right(
        "automated_decision_review",
        "Art. 22 GDPR",
        "Not be subject to a decision based solely on automated processing, and have such a decision reviewed by a person.".into(),
    ));
    if categories
        .iter()
        .any(|c| c.legal_basis == LegalBasis::Consent || c.art9_ground == Some(Art9Ground::ExplicitConsent))
    {
        rights.push(right(
            "withdraw_consent",
            "Art. 7(3) GDPR",
            "Withdraw your consent at any time, without affecting processing before the withdrawal.".into(),
        ));
    }
    rights.push(right(
        "complaint",
        "Art. 77 GDPR",
        format!(
            "Lodge a complaint with the supervisory authority, {}: {}. You can also contact our data protection officer: {}.",
            controller.supervisory_authority.name, controller.supervisory_authority.url, controller.dpo_contact
        ),
    ));
    rights
}
