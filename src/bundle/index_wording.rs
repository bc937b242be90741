//! Every fixed text of `data/index.html`, once per language, so a translation is one
//! constant to read and the renderer holds no wording of its own. Texts that take values
//! are functions; their arguments arrive already escaped, except where a function says it
//! returns plain text. The organisation's own texts (names, purposes) never pass through
//! here: they are shown as written.

use crate::protocol::gdpr::LegalBasis;
use crate::protocol::notice::{PrivacyNotice, Right};

/// The page's wording in one language.
pub(crate) struct Wording {
    /// `<html lang>`.
    pub lang: &'static str,
    /// January to December, as written in a date.
    pub months: [&'static str; 12],
    pub yes: &'static str,
    pub no: &'static str,
    /// The title, from the organisation's name.
    pub title: fn(&str) -> String,
    pub heading: fn(&str) -> String,
    /// From the organisation's name, the person's reference and the moment of the export.
    pub intro: fn(&str, &str, &str) -> String,
    pub records: &'static str,
    pub why: &'static str,
    pub legal_basis: &'static str,
    /// A legal basis in plain words.
    pub basis: fn(LegalBasis) -> &'static str,
    /// After the legal basis, with the art. 9 ground's article.
    pub special_category: fn(&str) -> String,
    pub how_long: &'static str,
    pub who_receives: &'static str,
    pub nobody_outside: &'static str,
    /// Between a recipient's role and its country.
    pub located_in: &'static str,
    /// A recipient's sharing assessment: when, why that is allowed, risks, measures.
    pub assessment: [&'static str; 4],
    pub source: &'static str,
    pub portability: &'static str,
    pub applies: &'static str,
    pub does_not_apply: &'static str,
    pub no_records: &'static str,
    /// From the rows shown, the records held, and the links to the full files.
    pub showing: fn(&str, &str, &str, &str) -> String,
    pub rights: &'static str,
    pub rights_intro: &'static str,
    /// A right explained, as plain text: the notice's description translated by the
    /// right's id, the notice's own text for a right without a translation.
    pub right: fn(&Right, &PrivacyNotice) -> String,
    /// From the contact of the data protection officer and the link to the authority.
    pub questions: fn(&str, &str) -> String,
    pub check_heading: &'static str,
    /// From the organisation's name and its discovery document's address.
    pub check: fn(&str, &str) -> String,
    /// The package's file name in the command shown.
    pub package_file: &'static str,
}

impl Wording {
    pub(crate) const EN: Self = Self {
        lang: "en",
        months: [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        yes: "yes",
        no: "no",
        title: |name| format!("Your data at {name}"),
        heading: |name| format!("Your personal data at {name}"),
        intro: |name, subject, date| {
            format!(
                "This package holds the personal data {name} keeps about you (reference <code>{subject}</code>), \
                 as of {date}. It is signed: <code>signature.jwt</code> lets anyone check that it comes from \
                 {name} and is complete."
            )
        },
        records: "Records",
        why: "Why we hold it",
        legal_basis: "Legal basis",
        basis: LegalBasis::describe,
        special_category: |article| format!("; special category of data, processed under {article}"),
        how_long: "How long we keep it",
        who_receives: "Who receives it",
        nobody_outside: "Nobody outside our organisation",
        located_in: "in",
        assessment: ["When", "Why that is allowed", "Risks", "Measures"],
        source: "Where it comes from",
        portability: "Right to data portability",
        applies: "Applies",
        does_not_apply: "Does not apply",
        no_records: "We hold no records of this kind about you.",
        showing: |shown, total, csv, json| {
            format!("Showing {shown} of {total} records; the full set is in {csv} / {json}.")
        },
        rights: "Your rights",
        rights_intro: "Under the GDPR you have these rights over your personal data:",
        right: |right, _| right.description.clone(),
        questions: |dpo, authority| {
            format!("Questions about your data: {dpo}. If you are not satisfied, you can complain to {authority}.")
        },
        check_heading: "How to check the signature",
        check: |name, discovery| {
            format!(
                "The file <code>signature.jwt</code> in this package is a digital seal by {name}. It proves that \
                 the files come from {name} and that nothing was changed, added or left out since. Anyone can \
                 check it, without asking us: the free program <code>gdpr-gateway</code> checks it on your own \
                 computer against the keys {name} publishes (found through <code>{discovery}</code>). Any \
                 standard JOSE library can check it too (examples in <code>docs/verifiers/</code> of \
                 gdpr-gateway). The command:"
            )
        },
        package_file: "package.zip",
    };

    pub(crate) const NL: Self = Self {
        lang: "nl",
        months: [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ],
        yes: "ja",
        no: "nee",
        title: |name| format!("Uw gegevens bij {name}"),
        heading: |name| format!("Uw persoonsgegevens bij {name}"),
        intro: |name, subject, date| {
            format!(
                "Dit pakket bevat de persoonsgegevens die {name} over u bewaart (kenmerk <code>{subject}</code>), \
                 zoals op {date}. Het is ondertekend: met <code>signature.jwt</code> kan iedereen controleren \
                 dat het van {name} komt en volledig is."
            )
        },
        records: "Aantal records",
        why: "Waarom we dit bewaren",
        legal_basis: "Grondslag",
        basis: |basis| match basis {
            LegalBasis::Consent => "uw toestemming",
            LegalBasis::Contract => "de uitvoering van een overeenkomst met u",
            LegalBasis::LegalObligation => "een wettelijke verplichting die op ons rust",
            LegalBasis::VitalInterests => "de bescherming van uw vitale belangen of die van een ander",
            LegalBasis::PublicTask => "een taak van algemeen belang of de uitoefening van openbaar gezag",
            LegalBasis::LegitimateInterests => "ons gerechtvaardigd belang",
        },
        special_category: |article| format!("; bijzonder persoonsgegeven, verwerkt op grond van {article}"),
        how_long: "Hoe lang we het bewaren",
        who_receives: "Wie het ontvangt",
        nobody_outside: "Niemand buiten onze organisatie",
        located_in: "in",
        assessment: ["Wanneer", "Waarom dat mag", "Risico's", "Maatregelen"],
        source: "Waar het vandaan komt",
        portability: "Recht op overdraagbaarheid van gegevens",
        applies: "Van toepassing",
        does_not_apply: "Niet van toepassing",
        no_records: "We bewaren geen gegevens van deze soort over u.",
        showing: |shown, total, csv, json| {
            format!("{shown} van de {total} records getoond; alles staat in {csv} / {json}.")
        },
        rights: "Uw rechten",
        rights_intro: "Volgens de AVG heeft u deze rechten over uw persoonsgegevens:",
        right: |right, notice| {
            let fixed = match right.id.as_str() {
                "access" => "Inzien welke persoonsgegevens we over u bewaren en er een kopie van krijgen.",
                "rectification" => "Onjuiste gegevens laten verbeteren en onvolledige gegevens laten aanvullen.",
                "erasure" => "Uw gegevens laten wissen als er geen grond meer is om ze te bewaren.",
                "restriction" => "De verwerking van uw gegevens laten beperken.",
                "objection" => {
                    "Bezwaar maken tegen verwerking op grond van ons gerechtvaardigd belang of een taak van \
                     algemeen belang."
                }
                "automated_decision_review" => {
                    "Niet onderworpen worden aan een besluit dat alleen op geautomatiseerde verwerking berust, \
                     en zo'n besluit door een mens laten beoordelen."
                }
                "withdraw_consent" => {
                    "Uw toestemming op elk moment intrekken; wat we vóór de intrekking deden, blijft rechtmatig."
                }
                "portability" => {
                    let portable: Vec<&str> =
                        notice.categories.iter().filter(|c| c.portable).map(|c| c.name.as_str()).collect();
                    return format!(
                        "De gegevens die u ons gaf in een machineleesbare vorm krijgen en laten doorsturen naar \
                         een andere organisatie. Geldt voor: {}.",
                        portable.join(", ")
                    );
                }
                "complaint" => {
                    let c = &notice.controller;
                    return format!(
                        "Een klacht indienen bij de toezichthouder, {}: {}. U kunt ook contact opnemen met onze \
                         functionaris voor gegevensbescherming: {}.",
                        c.supervisory_authority.name, c.supervisory_authority.url, c.dpo_contact
                    );
                }
                _ => return right.description.clone(),
            };
            fixed.to_owned()
        },
        questions: |dpo, authority| {
            format!(
                "Vragen over uw gegevens: {dpo}. Bent u niet tevreden, dan kunt u een klacht indienen bij \
                 {authority}."
            )
        },
        check_heading: "Zo controleert u de handtekening",
        check: |name, discovery| {
            format!(
                "Het bestand <code>signature.jwt</code> in dit pakket is een digitaal zegel van {name}. Het bewijst \
                 dat de bestanden van {name} komen en dat er sindsdien niets is veranderd, toegevoegd of \
                 weggelaten. Iedereen kan dat controleren, zonder ons iets te vragen: het gratis programma \
                 <code>gdpr-gateway</code> controleert het op uw eigen computer met de sleutels die {name} \
                 publiceert (te vinden via <code>{discovery}</code>). Elke standaard JOSE-bibliotheek kan het \
                 ook controleren (voorbeelden in <code>docs/verifiers/</code> van gdpr-gateway). De opdracht:"
            )
        },
        package_file: "pakket.zip",
    };
}
