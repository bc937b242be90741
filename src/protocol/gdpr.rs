//! GDPR vocabulary on the wire: the lawful bases of art. 6(1) and the art. 9(2) grounds.

use serde::{Deserialize, Serialize};

/// The six lawful bases of art. 6(1) GDPR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegalBasis {
    /// Art. 6(1)(a).
    Consent,
    /// Art. 6(1)(b).
    Contract,
    /// Art. 6(1)(c).
    LegalObligation,
    /// Art. 6(1)(d).
    VitalInterests,
    /// Art. 6(1)(e).
    PublicTask,
    /// Art. 6(1)(f).
    LegitimateInterests,
}

impl LegalBasis {
    pub fn article(self) -> &'static str {
        match self {
            Self::Consent => "Art. 6(1)(a) GDPR",
            Self::Contract => "Art. 6(1)(b) GDPR",
            Self::LegalObligation => "Art. 6(1)(c) GDPR",
            Self::VitalInterests => "Art. 6(1)(d) GDPR",
            Self::PublicTask => "Art. 6(1)(e) GDPR",
            Self::LegitimateInterests => "Art. 6(1)(f) GDPR",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Consent => "your consent",
            Self::Contract => "performance of a contract with you",
            Self::LegalObligation => "a legal obligation we are subject to",
            Self::VitalInterests => "protection of your or another person's vital interests",
            Self::PublicTask => "a task in the public interest or in the exercise of official authority",
            Self::LegitimateInterests => "our legitimate interests",
        }
    }
}

/// The exceptions of art. 9(2) GDPR that allow processing special categories of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Art9Ground {
    /// Art. 9(2)(a).
    ExplicitConsent,
    /// Art. 9(2)(b).
    EmploymentSocialSecurity,
    /// Art. 9(2)(c).
    VitalInterests,
    /// Art. 9(2)(d).
    NotForProfitBody,
    /// Art. 9(2)(e).
    MadePublicBySubject,
    /// Art. 9(2)(f).
    LegalClaims,
    /// Art. 9(2)(g).
    SubstantialPublicInterest,
    /// Art. 9(2)(h).
    HealthOrSocialCare,
    /// Art. 9(2)(i).
    PublicHealth,
    /// Art. 9(2)(j).
    ArchivingResearchStatistics,
}

impl Art9Ground {
    pub fn article(self) -> &'static str {
        match self {
            Self::ExplicitConsent => "Art. 9(2)(a) GDPR",
            Self::EmploymentSocialSecurity => "Art. 9(2)(b) GDPR",
            Self::VitalInterests => "Art. 9(2)(c) GDPR",
            Self::NotForProfitBody => "Art. 9(2)(d) GDPR",
            Self::MadePublicBySubject => "Art. 9(2)(e) GDPR",
            Self::LegalClaims => "Art. 9(2)(f) GDPR",
            Self::SubstantialPublicInterest => "Art. 9(2)(g) GDPR",
            Self::HealthOrSocialCare => "Art. 9(2)(h) GDPR",
            Self::PublicHealth => "Art. 9(2)(i) GDPR",
            Self::ArchivingResearchStatistics => "Art. 9(2)(j) GDPR",
        }
    }
}
