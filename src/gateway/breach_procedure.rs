//! The data-breach procedure (003, bijlage 3) as a function: the answers staff give to
//! its structured questions decide the outcome, the way the procedure's steps do, and
//! the 72-hour clock of art. 33(1) runs from the moment of awareness.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::UnixSeconds;

/// Art. 33(1): the supervisory authority is notified within 72 hours of awareness.
pub const AUTHORITY_DEADLINE_SECS: u64 = 72 * 3600;
/// Elapsed times at which the clock warns: 24 and 48 hours after awareness.
pub const CLOCK_WARNINGS_SECS: [u64; 2] = [24 * 3600, 48 * 3600];

/// Our part in the processing that was breached (step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachRole {
    /// We decide the purposes: we notify the authority and the people.
    Controller,
    /// We process for another controller: we tell that controller at once.
    Processor,
}

/// The answers to the procedure's questions; each is unanswered until staff give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachAnswers {
    /// Step 1: do the data concern identifiable people (pseudonymised data included,
    /// irreversibly anonymised data not)?
    #[serde(default)]
    pub personal_data: Option<bool>,
    /// Step 2: controller or processor?
    #[serde(default)]
    pub role: Option<BreachRole>,
    /// Step 3a: were data damaged (changed, corrupted, incomplete)? Recorded; the
    /// procedure goes on to 3b either way.
    #[serde(default)]
    pub damaged: Option<bool>,
    /// Step 3b: were data lost?
    #[serde(default)]
    pub lost: Option<bool>,
    /// Step 3c: can unlawful processing (access, change, disclosure) reasonably be
    /// excluded?
    #[serde(default)]
    pub unlawful_processing_excluded: Option<bool>,
    /// Step 4a: were special-category, financial, stigmatising, login or fraud-prone
    /// data involved?
    #[serde(default)]
    pub sensitive_data: Option<bool>,
    /// Step 4b: do the nature and scale make serious adverse consequences (likely)?
    #[serde(default)]
    pub serious_consequences: Option<bool>,
    /// Step 6: is a high risk to the people's rights and freedoms likely?
    #[serde(default)]
    pub high_risk_to_people: Option<bool>,
}

/// A question of the procedure, by its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachQuestion {
    PersonalData,
    Role,
    Damaged,
    Lost,
    UnlawfulProcessingExcluded,
    SensitiveData,
    SeriousConsequences,
    HighRiskToPeople,
}

impl BreachQuestion {
    /// The step of the procedure and its question, as staff read it.
    pub fn text(self) -> &'static str {
        match self {
            Self::PersonalData => "Step 1: do the data concern identifiable people?",
            Self::Role => "Step 2: are we the controller or a processor for this processing?",
            Self::Damaged => "Step 3a: were data damaged: changed, corrupted or no longer complete?",
            Self::Lost => "Step 3b: were data lost?",
            Self::UnlawfulProcessingExcluded => {
                "Step 3c: can unlawful processing (access, change, disclosure) reasonably be excluded?"
            }
            Self::SensitiveData => {
                "Step 4a: were special-category, financial, stigmatising, login or fraud-prone data involved?"
            }
            Self::SeriousConsequences => {
                "Step 4b: do the nature and scale of the breach make serious adverse consequences likely?"
            }
            Self::HighRiskToPeople => "Step 6: is a high risk to the rights and freedoms of the people likely?",
        }
    }
}

/// What the procedure concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreachOutcome {
    /// A question on the path is unanswered; the 72-hour clock runs meanwhile.
    Undecided,
    /// No personal data, or unlawful processing can be excluded: recorded, not notified.
    NotABreach,
    /// We are the processor: tell the controller without delay (art. 33(2)).
    InformController,
    /// A breach without serious consequences: kept in the register only (art. 33(5)).
    RegisterOnly,
    /// Notify the supervisory authority within 72 hours (art. 33).
    NotifyAuthority,
    /// Notify the authority, and the people affected without undue delay (art. 34).
    NotifyAuthorityAndPeople,
}

impl BreachOutcome {
    /// True when the authority must be notified, or may have to be (still undecided).
    pub fn clock_runs(self) -> bool {
        matches!(self, Self::Undecided | Self::NotifyAuthority | Self::NotifyAuthorityAndPeople)
    }

    /// True when what happened is a personal data breach of ours.
    pub fn is_breach(self) -> bool {
        matches!(self, Self::RegisterOnly | Self::NotifyAuthority | Self::NotifyAuthorityAndPeople)
    }
}

/// The outcome and, while undecided, the question to answer next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub outcome: BreachOutcome,
    pub next_question: Option<BreachQuestion>,
}

impl BreachAnswers {
    /// Walks the steps in the procedure's order. Answers off the path taken are kept but
    /// do not count.
    pub fn decide(&self) -> Decision {
        use BreachOutcome as O;
        use BreachQuestion as Q;
        let ask = |q| Decision { outcome: O::Undecided, next_question: Some(q) };
        let done = |outcome| Decision { outcome, next_question: None };
        match self.personal_data {
            None => return ask(Q::PersonalData),
            Some(false) => return done(O::NotABreach),
            Some(true) => {}
        }
        match self.role {
            None => return ask(Q::Role),
            Some(BreachRole::Processor) => return done(O::InformController),
            Some(BreachRole::Controller) => {}
        }
        if self.damaged.is_none() {
            return ask(Q::Damaged);
        }
        match (self.lost, self.unlawful_processing_excluded) {
            (None, _) => return ask(Q::Lost),
            (Some(true), _) | (Some(false), Some(false)) => {}
            (Some(false), None) => return ask(Q::UnlawfulProcessingExcluded),
            (Some(false), Some(true)) => return done(O::NotABreach),
        }
        match (self.sensitive_data, self.serious_consequences) {
            (None, _) => return ask(Q::SensitiveData),
            (Some(true), _) | (Some(false), Some(true)) => {}
            (Some(false), None) => return ask(Q::SeriousConsequences),
            (Some(false), Some(false)) => return done(O::RegisterOnly),
        }
        match self.high_risk_to_people {
            None => ask(Q::HighRiskToPeople),
            Some(false) => done(O::NotifyAuthority),
            Some(true) => done(O::NotifyAuthorityAndPeople),
        }
    }
}

/// Where the 72-hour clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Less than 24 hours since awareness.
    Running,
    /// 24 hours or more have passed.
    Warning24h,
    /// 48 hours or more have passed.
    Warning48h,
    /// More than 72 hours have passed and the authority was not notified.
    Overdue,
    /// The authority was notified (on time or not: see `notified_late`).
    Notified,
    /// The outcome does not call for notifying the authority.
    NotRequired,
}

/// The clock of a breach at `now`.
pub(super) fn clock_state(
    outcome: BreachOutcome,
    aware_at: UnixSeconds,
    authority_notified_at: Option<UnixSeconds>,
    now: UnixSeconds,
) -> ClockState {
    if authority_notified_at.is_some() {
        return ClockState::Notified;
    }
    if !outcome.clock_runs() {
        return ClockState::NotRequired;
    }
    let elapsed = now.saturating_sub(aware_at);
    match elapsed {
        // Notified at the 72nd hour is on time; after it, late.
        e if e > AUTHORITY_DEADLINE_SECS => ClockState::Overdue,
        e if e >= CLOCK_WARNINGS_SECS[1] => ClockState::Warning48h,
        e if e >= CLOCK_WARNINGS_SECS[0] => ClockState::Warning24h,
        _ => ClockState::Running,
    }
}

impl ClockState {
    /// How many of the clock's alarms (24 h, 48 h, overdue) this state has passed.
    pub fn alarms(self) -> u8 {
        match self {
            Self::Running | Self::Notified | Self::NotRequired => 0,
            Self::Warning24h => 1,
            Self::Warning48h => 2,
            Self::Overdue => 3,
        }
    }

    /// The webhook event announcing alarm `n` (1 to 3).
    pub fn alarm_event(n: u8) -> &'static str {
        if n >= 3 { "breach.overdue" } else { "breach.deadline_warning" }
    }
}

#[cfg(test)]
mod tests {
    use super::BreachOutcome as O;
    use super::BreachQuestion as Q;
    use super::*;

    /// Every path through the steps, with the procedure's answer for it.
    #[test]
    fn every_path_through_the_seven_steps_gives_the_procedures_answer() {
        type Row = ([Option<bool>; 7], Option<BreachRole>, O, Option<Q>);
        let (c, p) = (Some(BreachRole::Controller), Some(BreachRole::Processor));
        let (y, n, u) = (Some(true), Some(false), None);
        // [personal, damaged, lost, excluded, sensitive, serious, high_risk], role
        let table: Vec<Row> = vec![
            ([u, u, u, u, u, u, u], u_role(), O::Undecided, Some(Q::PersonalData)),
            ([n, y, y, n, y, y, y], c, O::NotABreach, None),
            ([y, u, u, u, u, u, u], u_role(), O::Undecided, Some(Q::Role)),
            ([y, y, y, n, y, y, y], p, O::InformController, None),
            ([y, u, u, u, u, u, u], c, O::Undecided, Some(Q::Damaged)),
            ([y, y, u, u, u, u, u], c, O::Undecided, Some(Q::Lost)),
            ([y, n, n, u, u, u, u], c, O::Undecided, Some(Q::UnlawfulProcessingExcluded)),
            ([y, y, n, y, y, y, y], c, O::NotABreach, None),
            ([y, n, n, y, u, u, u], c, O::NotABreach, None),
            // Lost: a breach, whatever 3c says.
            ([y, n, y, y, u, u, u], c, O::Undecided, Some(Q::SensitiveData)),
            ([y, y, n, n, u, u, u], c, O::Undecided, Some(Q::SensitiveData)),
            ([y, n, y, u, n, u, u], c, O::Undecided, Some(Q::SeriousConsequences)),
            ([y, n, y, u, n, n, y], c, O::RegisterOnly, None),
            ([y, y, n, n, n, n, u], c, O::RegisterOnly, None),
            // Sensitive data: notify the authority, whatever 4b says; then step 6.
            ([y, n, y, u, y, n, u], c, O::Undecided, Some(Q::HighRiskToPeople)),
            ([y, n, y, u, y, u, n], c, O::NotifyAuthority, None),
            ([y, n, y, u, y, u, y], c, O::NotifyAuthorityAndPeople, None),
            ([y, y, n, n, n, y, u], c, O::Undecided, Some(Q::HighRiskToPeople)),
            ([y, y, n, n, n, y, n], c, O::NotifyAuthority, None),
            ([y, y, n, n, n, y, y], c, O::NotifyAuthorityAndPeople, None),
        ];
        for (i, ([personal, damaged, lost, excluded, sensitive, serious, high_risk], role, outcome, next)) in
            table.into_iter().enumerate()
        {
            let answers = BreachAnswers {
                personal_data: personal,
                role,
                damaged,
                lost,
                unlawful_processing_excluded: excluded,
                sensitive_data: sensitive,
                serious_consequences: serious,
                high_risk_to_people: high_risk,
            };
            assert_eq!(answers.decide(), Decision { outcome, next_question: next }, "row {i}: {answers:?}");
        }
    }

    fn u_role() -> Option<BreachRole> {
        None
    }

    #[test]
    fn the_clock_warns_at_24_and_48_hours_and_is_overdue_at_72() {
        let aware = 1_000_000;
        let at = |hours: u64| clock_state(O::NotifyAuthority, aware, None, aware + hours * 3600);
        assert_eq!(
            [at(0), at(23), at(24), at(47), at(48), at(71), at(72), at(73)].map(ClockState::alarms),
            [0, 0, 1, 1, 2, 2, 2, 3]
        );
        let just_late = clock_state(O::NotifyAuthority, aware, None, aware + AUTHORITY_DEADLINE_SECS + 1);
        assert_eq!(just_late, ClockState::Overdue);
        assert_eq!(
            clock_state(O::Undecided, aware, None, aware + 30 * 3600),
            ClockState::Warning24h,
            "runs while undecided"
        );
        assert_eq!(clock_state(O::RegisterOnly, aware, None, aware + 80 * 3600), ClockState::NotRequired);
        assert_eq!(
            clock_state(O::NotifyAuthority, aware, Some(aware + 90 * 3600), aware + 99 * 3600),
            ClockState::Notified
        );
        assert_eq!(
            clock_state(O::NotifyAuthority, aware, None, aware - 10),
            ClockState::Running,
            "awareness ahead of the clock"
        );
    }
}
