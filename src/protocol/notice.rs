//! The privacy notice (art. 13–15 GDPR) as published in the discovery document and
//! carried in every bundle: controller, categories with their art. 15 information, rights.

use serde::{Deserialize, Serialize};

use super::gdpr::{Art9Ground, LegalBasis};

/// Who the controller is and whom a data subject can turn to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SupervisoryAuthority {
    pub name: String,
    /// Where to lodge a complaint.
    pub url: String,
}

/// The notice as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PrivacyNotice {
    pub controller: Controller,
    pub categories: Vec<NoticeCategory>,
    pub rights: Vec<Right>,
}

/// One inventory category as explained to the data subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Right {
    pub id: String,
    pub article: String,
    pub description: String,
}
