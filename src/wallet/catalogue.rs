//! What an organisation tells the person it holds (its privacy notice), in the shape the
//! bindings carry: one record per category with its art. 15 information.

use crate::protocol::message::Body;
use crate::protocol::notice::{NoticeCategory, PrivacyNotice};

/// The organisation's answer to "what do you hold about me, and why?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    pub controller_id: String,
    pub controller_name: String,
    /// How to reach its data protection officer.
    pub dpo_contact: String,
    /// Where to complain (art. 77): the supervisory authority's name and URL.
    pub supervisory_authority: String,
    pub supervisory_authority_url: String,
    pub categories: Vec<CatalogueCategory>,
    /// The person's rights, each with its article.
    pub rights: Vec<String>,
}

/// One category of data and the art. 15 information about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueCategory {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub purposes: Vec<String>,
    /// The legal basis in plain words, with its article.
    pub legal_basis: String,
    /// How long it is kept, in plain words.
    pub retention: String,
    pub recipients: Vec<String>,
    /// Where the data comes from.
    pub source: String,
    /// Whether it may be taken to another organisation (art. 20).
    pub portable: bool,
    /// Special category data (art. 9), such as health.
    pub special_category: bool,
}

impl From<PrivacyNotice> for Catalogue {
    fn from(notice: PrivacyNotice) -> Self {
        let controller = notice.controller;
        Self {
            controller_id: controller.id,
            controller_name: controller.name,
            dpo_contact: controller.dpo_contact,
            supervisory_authority: controller.supervisory_authority.name,
            supervisory_authority_url: controller.supervisory_authority.url,
            categories: notice.categories.into_iter().map(CatalogueCategory::from).collect(),
            rights: notice.rights.into_iter().map(|r| format!("{} ({})", r.description, r.article)).collect(),
        }
    }
}

impl From<NoticeCategory> for CatalogueCategory {
    fn from(c: NoticeCategory) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            purposes: c.purposes,
            legal_basis: format!("{} ({})", c.legal_basis_text, c.legal_basis_article),
            retention: c.retention_text,
            recipients: c.recipients,
            source: c.source,
            portable: c.portable,
            special_category: c.special_category,
        }
    }
}

/// The request a message answers, for the messages that answer one.
pub(crate) fn answer_to(body: &Body) -> Option<&str> {
    match body {
        Body::ExportBundle { request_id, .. }
        | Body::ExportBundleBlob { request_id, .. }
        | Body::ExportPackageBlob { request_id, .. }
        | Body::Catalogue { request_id, .. }
        | Body::ImportAccepted { request_id, .. }
        | Body::RequestRefused { request_id, .. } => Some(request_id),
        Body::RequestStatus { request_id, .. } => request_id.as_deref(),
        _ => None,
    }
}
