//! Builds the privacy notice (art. 13–15 GDPR) from the controller identity and the
//! inventory.

use super::{Art9Ground, Category, Controller, Inventory, LegalBasis, NoticeCategory, PrivacyNotice, Right};

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
            .map(|c| NoticeCategory::new(c, source_name(&c.source).unwrap_or(&c.source), inventory.recipient_names(c)))
            .collect();
        let rights = rights(controller, inventory.categories());
        Self { controller: controller.clone(), categories, rights }
    }
}

impl NoticeCategory {
    /// `recipients` as the person is told them: [`Inventory::recipient_names`].
    pub fn new(c: &Category, source: &str, recipients: Vec<String>) -> Self {
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
            recipients,
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
