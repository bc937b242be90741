//! Who receives personal data from the controller, and the four-step sharing assessment
//! made for each (the "werkwijze gegevensuitwisseling": where in the process data is
//! shared, whether that is lawful, the risks, the measures). A category names its
//! recipients by these ids; a name that matches no id is a recipient nobody assessed.

use serde::{Deserialize, Serialize};

use super::{InventoryError, check_id};
use crate::calendar::Date;

/// Longest free-text answer in a recipient or assessment, in characters.
pub(crate) const MAX_ASSESSMENT_CHARS: usize = 4000;

/// The EEA: the EU member states with Iceland, Liechtenstein and Norway (ISO 3166-1
/// alpha-2). A transfer anywhere else is a third-country transfer (chapter V GDPR).
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// What a recipient is to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Processes on the controller's behalf, under a processing agreement (art. 28).
    Processor,
    /// Decides its own purposes for the data it receives.
    Controller,
    /// Decides the purposes together with us (art. 26).
    JointController,
    /// A public authority receiving data under a legal obligation.
    PublicAuthority,
}

impl RecipientRole {
    pub fn describe(self) -> &'static str {
        self.describe_in(super::Language::En)
    }

    /// The role in words of `language`, for what a person reads.
    pub fn describe_in(self, language: super::Language) -> &'static str {
        match (language, self) {
            (super::Language::Nl, Self::Processor) => "verwerker (art. 28 AVG)",
            (super::Language::Nl, Self::Controller) => "zelfstandig verwerkingsverantwoordelijke",
            (super::Language::Nl, Self::JointController) => "gezamenlijk verwerkingsverantwoordelijke (art. 26 AVG)",
            (super::Language::Nl, Self::PublicAuthority) => "overheidsinstantie",
            (_, Self::Processor) => "processor (art. 28 GDPR)",
            (_, Self::Controller) => "independent controller",
            (_, Self::JointController) => "joint controller (art. 26 GDPR)",
            (_, Self::PublicAuthority) => "public authority",
        }
    }
}

/// The four steps, answered for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SharingAssessment {
    /// Step 1: where in the process, and on what occasion, the data is shared.
    pub moment: String,
    /// Step 2: why sharing it is lawful.
    pub lawfulness: String,
    /// Step 3: the risks of sharing it.
    pub risks: String,
    /// Step 4: the measures taken or planned against those risks.
    pub measures: String,
    /// When the assessment was made or last reviewed (`YYYY-MM-DD`).
    pub assessed_on: String,
    /// Who made it (a role or a name).
    #[serde(default)]
    pub assessed_by: Option<String>,
}

/// A recipient of personal data (art. 30(1)(d)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// What categories name it by: lowercase letters, digits, `_` and `-`.
    pub id: String,
    /// Name shown to data subjects and in the register.
    pub name: String,
    pub role: RecipientRole,
    /// Where the recipient processes the data (ISO 3166-1 alpha-2); the Netherlands when
    /// absent.
    #[serde(default = "default_country")]
    pub country: String,
    /// For a recipient outside the EEA: the safeguard for the transfer (an adequacy
    /// decision, standard contractual clauses, binding corporate rules; art. 45–49).
    #[serde(default)]
    pub transfer_safeguards: Option<String>,
    /// The sharing assessment; `check-config` fails while it is missing.
    #[serde(default)]
    pub assessment: Option<SharingAssessment>,
}

fn default_country() -> String {
    "NL".to_owned()
}

impl Recipient {
    /// True when the data leaves the EEA.
    pub fn is_third_country(&self) -> bool {
        !EEA.contains(&self.country.as_str())
    }
}

/// Checks the declared recipients: ids, names, countries, dates and lengths.
pub(crate) fn check(recipients: &[Recipient]) -> Result<(), InventoryError> {
    for (i, r) in recipients.iter().enumerate() {
        let err = |field: &str, message: String| InventoryError { key: format!("recipients[{i}].{field}"), message };
        check_id(&r.id).map_err(|m| err("id", m))?;
        if recipients[..i].iter().any(|o| o.id == r.id) {
            return Err(err("id", format!("duplicate recipient id {:?}", r.id)));
        }
        if r.country.len() != 2 || !r.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err("country", format!("{:?} is not an ISO 3166-1 alpha-2 code like \"NL\"", r.country)));
        }
        let mut texts = vec![("name", Some(&r.name)), ("transfer_safeguards", r.transfer_safeguards.as_ref())];
        if let Some(a) = &r.assessment {
            if Date::parse(&a.assessed_on).is_none() {
                return Err(err("assessment.assessed_on", format!("{:?} is not a date (YYYY-MM-DD)", a.assessed_on)));
            }
            texts.extend([
                ("assessment.moment", Some(&a.moment)),
                ("assessment.lawfulness", Some(&a.lawfulness)),
                ("assessment.risks", Some(&a.risks)),
                ("assessment.measures", Some(&a.measures)),
                ("assessment.assessed_by", a.assessed_by.as_ref()),
            ]);
        }
        for (field, text) in texts {
            if let Some(text) = text {
                if text.trim().is_empty() || text.chars().count() > MAX_ASSESSMENT_CHARS {
                    return Err(err(field, format!("must be 1 to {MAX_ASSESSMENT_CHARS} characters")));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(id: &str) -> Recipient {
        Recipient {
            id: id.into(),
            name: "Mailing house".into(),
            role: RecipientRole::Processor,
            country: "NL".into(),
            transfer_safeguards: None,
            assessment: None,
        }
    }

    #[test]
    fn names_the_offending_key() {
        let assessed = |on: &str| SharingAssessment {
            moment: "m".into(),
            lawfulness: "l".into(),
            risks: "r".into(),
            measures: " ".into(),
            assessed_on: on.into(),
            assessed_by: None,
        };
        let cases = [
            (vec![recipient("a"), recipient("a")], "recipients[1].id"),
            (vec![Recipient { country: "nl".into(), ..recipient("a") }], "recipients[0].country"),
            (vec![Recipient { name: String::new(), ..recipient("a") }], "recipients[0].name"),
            (
                vec![Recipient { assessment: Some(assessed("2026-02-30")), ..recipient("a") }],
                "recipients[0].assessment.assessed_on",
            ),
            (
                vec![Recipient { assessment: Some(assessed("2026-02-28")), ..recipient("a") }],
                "recipients[0].assessment.measures",
            ),
        ];
        for (recipients, key) in cases {
            assert_eq!(check(&recipients).unwrap_err().key, key);
        }
        assert_eq!(check(&[recipient("a"), recipient("b")]), Ok(()));
    }

    #[test]
    fn third_countries_are_those_outside_the_eea() {
        assert!(!recipient("a").is_third_country());
        assert!(!Recipient { country: "NO".into(), ..recipient("a") }.is_third_country());
        assert!(Recipient { country: "US".into(), ..recipient("a") }.is_third_country());
        assert!(Recipient { country: "GB".into(), ..recipient("a") }.is_third_country());
    }
}
