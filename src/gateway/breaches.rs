//! The breach register and procedure (003, bijlage 3; art. 33–34 GDPR): staff record a
//! suspected breach and answer the procedure's questions, the gateway derives what must be
//! done and runs the 72-hour clock, drafts the authority's notification, and tells the
//! people affected through their wallets with a signed notice. Every breach stays in the
//! register, notified or not.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest as _;
use utoipa::ToSchema;

use super::breach_procedure::{
    AUTHORITY_DEADLINE_SECS, BreachAnswers, BreachOutcome, CLOCK_WARNINGS_SECS, ClockState, Decision, clock_state,
};
use super::request_notices::{MAX_WALLETS_TOLD, WALLET_TARGET, notice};
use super::{Caller, Gateway};
use crate::bundle::{BreachNotice, BreachNoticeClaims, MAX_BREACH_NOTICE_BYTES, sign_breach_notice};
use crate::clock::{UnixSeconds, rfc3339};
use crate::protocol::message::Body;
use crate::protocol::subject::SubjectRef;
use crate::store::StoreError;
use crate::store::breach_store::{AuthorityNotification, BreachRow};
use crate::store::outbox_store::Notice;

/// Longest text staff write into a breach record, in characters.
pub const MAX_BREACH_TEXT_CHARS: usize = 4000;
/// Largest approximate number of people or records: more than live on Earth.
pub const MAX_APPROXIMATE_COUNT: u64 = 10_000_000_000;
/// Most categories one breach names.
pub const MAX_BREACH_CATEGORIES: usize = 64;
/// Most people one notification call names; call again for more.
pub const MAX_SUBJECTS_PER_NOTIFICATION: usize = 1000;
/// How far before now a breach's moment of awareness may be given: a year.
pub(crate) const MAX_AWARENESS_AGE_SECS: u64 = 366 * 24 * 3600;
/// Most breaches whose clock one pass looks at.
const CLOCK_BATCH: u32 = 100;

/// The facts of a breach: what the register keeps and the notifications say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachFacts {
    /// What happened: the nature of the breach, in plain language.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub nature: String,
    /// The inventory's categories of data involved, by id.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub categories: Vec<String>,
    /// About how many people are concerned.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_u64)]
    pub approximate_subjects: Option<u64>,
    /// About how many records are concerned.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000_000_u64)]
    pub approximate_records: Option<u64>,
    /// The likely consequences for the people.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub likely_consequences: Option<String>,
    /// The measures taken or proposed, including those limiting the harm.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub measures: Option<String>,
    /// Who to contact for more information; the DPO when absent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub contact: Option<String>,
}

/// A breach as the register holds it, with what the procedure makes of its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub id: String,
    pub recorded_at: UnixSeconds,
    pub recorded_by: String,
    pub aware_at: UnixSeconds,
    pub facts: BreachFacts,
    pub answers: BreachAnswers,
    pub decision: Decision,
    pub authority: Option<AuthorityNotification>,
    pub people_notified_at: Option<UnixSeconds>,
    pub wallets_notified: u64,
    pub updated_at: UnixSeconds,
    /// Raised by every change: a notification names the version staff reviewed.
    pub version: u64,
}

impl Breach {
    /// The authority's deadline: 72 hours after awareness.
    pub fn deadline_at(&self) -> UnixSeconds {
        self.aware_at + AUTHORITY_DEADLINE_SECS
    }

    pub fn clock(&self, now: UnixSeconds) -> ClockState {
        clock_state(self.decision.outcome, self.aware_at, self.authority.as_ref().map(|a| a.at), now)
    }
}

/// Why a breach call failed.
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("this role may not do that with the breach register")]
    NotPermitted,
    #[error("no breach {0:?} in the register")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotNotifiable(String),
    #[error("the authority's notification was recorded before")]
    AlreadyNotified,
    #[error("{0}")]
    FactsMissing(String),
    #[error("the breach changed meanwhile; read it again")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a people notification reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleNotified {
    pub subjects: usize,
    pub wallets: u64,
    /// The people with no active wallet connection: to be told another way.
    pub without_wallet: Vec<String>,
    /// The breach's version after this call, for the next one.
    pub version: u64,
}

impl Gateway {
    /// Records a suspected breach; `aware_at` defaults to now.
    pub async fn record_breach(
        &self,
        caller: &Caller,
        facts: BreachFacts,
        answers: BreachAnswers,
        aware_at: Option<UnixSeconds>,
    ) -> Result<Breach, BreachError> {
        if !caller.records_breaches() {
            return Err(BreachError::NotPermitted);
        }
        let now = self.clock.now();
        let aware_at = aware_at.unwrap_or(now);
        if aware_at > now || now - aware_at > MAX_AWARENESS_AGE_SECS {
            return Err(BreachError::Invalid("aware_at must lie within the past year, not in the future".into()));
        }
        self.check_facts(&facts)?;
        let breach = Breach {
            id: uuid::Uuid::new_v4().to_string(),
            recorded_at: now,
            recorded_by: caller.audit_name(),
            aware_at,
            decision: answers.decide(),
            facts,
            answers,
            authority: None,
            people_notified_at: None,
            wallets_notified: 0,
            updated_at: now,
            version: 1,
        };
        let audit = [self.breach_audit(caller, "breach.recorded", &breach)];
        let notices = self.breach_webhooks("breach.recorded", &breach, json!({}));
        self.breaches.insert(&row(&breach)?, &audit, &notices).await?;
        self.outbox_wake.notify_one();
        Ok(breach)
    }

    /// The register, newest first.
    pub async fn breaches(
        &self,
        caller: &Caller,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<Breach>, BreachError> {
        if !caller.reads_register() {
            return Err(BreachError::NotPermitted);
        }
        self.breaches.list(limit, before).await?.into_iter().map(parse).collect()
    }

    pub async fn breach(&self, caller: &Caller, id: &str) -> Result<Breach, BreachError> {
        if !caller.reads_register() {
            return Err(BreachError::NotPermitted);
        }
        parse(self.breaches.by_id(id).await?.ok_or_else(|| BreachError::NotFound(id.to_owned()))?)
    }

    /// Replaces the facts given and merges the answers given (an answer once given can be
    /// changed, not taken back); the outcome follows.
    pub async fn assess_breach(
        &self,
        caller: &Caller,
        id: &str,
        facts: Option<BreachFacts>,
        answers: Option<BreachAnswers>,
    ) -> Result<Breach, BreachError> {
        if !caller.records_breaches() {
            return Err(BreachError::NotPermitted);
        }
        let mut breach = self.breach(caller, id).await?;
        if let Some(facts) = facts {
            self.check_facts(&facts)?;
            breach.facts = facts;
        }
        if let Some(given) = answers {
            merge(&mut breach.answers, given);
        }
        breach.decision = breach.answers.decide();
        breach.updated_at = self.clock.now();
        let audit = [self.breach_audit(caller, "breach.assessed", &breach)];
        if !self.breaches.update_assessment(&row(&breach)?, breach.version, &audit).await? {
            return Err(BreachError::Changed);
        }
        breach.version += 1;
        Ok(breach)
    }

    /// Records that the authority was notified (art. 33(1)): its reference, when, and,
    /// after 72 hours, the reasons for the delay, which the law requires.
    pub async fn record_authority_notified(
        &self,
        caller: &Caller,
        id: &str,
        version: u64,
        reference: String,
        at: Option<UnixSeconds>,
        delay_reason: Option<String>,
    ) -> Result<Breach, BreachError> {
        if !caller.notifies_breaches() {
            return Err(BreachError::NotPermitted);
        }
        let mut breach = self.breach(caller, id).await?;
        if breach.authority.is_some() {
            return Err(BreachError::AlreadyNotified);
        }
        if breach.version != version {
            return Err(BreachError::Changed);
        }
        // Undecided counts: in doubt, the procedure says to notify.
        if !breach.decision.outcome.clock_runs() {
            return Err(not_notifiable(&breach, "the authority"));
        }
        let now = self.clock.now();
        let at = at.unwrap_or(now);
        if at > now || at < breach.aware_at {
            return Err(BreachError::Invalid("notified_at must lie between awareness and now".into()));
        }
        check_text("reference", &reference)?;
        let late = at > breach.deadline_at();
        if let Some(reason) = &delay_reason {
            check_text("delay_reason", reason)?;
        }
        if late && delay_reason.is_none() {
            return Err(BreachError::FactsMissing(
                "notified after 72 hours: give the reasons for the delay (delay_reason, art. 33(1))".into(),
            ));
        }
        let detail =
            format!("reference {reference:?}, notified at {}{}", rfc3339(at), if late { ", late" } else { "" });
        breach.authority = Some(AuthorityNotification { at, reference, delay_reason });
        let audit =
            [self.audit_entry(caller, "breach.authority_notified", vec![format!("breach:{id}")], None, Some(detail))];
        let notices = self.breach_webhooks("breach.authority_notified", &breach, json!({ "late": late }));
        let recorded = breach.authority.as_ref().ok_or(BreachError::AlreadyNotified)?;
        if !self.breaches.record_authority_notified(id, version, recorded, now, &audit, &notices).await? {
            return Err(BreachError::Changed);
        }
        self.outbox_wake.notify_one();
        self.breach(caller, id).await
    }

    /// Sends each named person's active wallets a signed breach notice (art. 34); names
    /// who has none, to be told another way. Only for a breach of ours the procedure
    /// decided, with its consequences and measures written down.
    pub async fn notify_people(
        &self,
        caller: &Caller,
        id: &str,
        version: u64,
        subject_refs: &[String],
    ) -> Result<PeopleNotified, BreachError> {
        if !caller.notifies_breaches() {
            return Err(BreachError::NotPermitted);
        }
        if subject_refs.is_empty() || subject_refs.len() > MAX_SUBJECTS_PER_NOTIFICATION {
            return Err(BreachError::Invalid(format!("name 1 to {MAX_SUBJECTS_PER_NOTIFICATION} people")));
        }
        if let Some(bad) = subject_refs.iter().find(|s| SubjectRef::parse(s).is_err()) {
            return Err(BreachError::Invalid(format!("{bad:?} is not a subject reference")));
        }
        let breach = self.breach(caller, id).await?;
        if breach.version != version {
            return Err(BreachError::Changed);
        }
        if !breach.decision.outcome.is_breach() {
            return Err(not_notifiable(&breach, "the people"));
        }
        let content = self.art34_notice(&breach)?;
        let now = self.clock.now();
        let key = self.keyring.active_signing();
        let (mut notices, mut without_wallet) = (Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for subject in subject_refs.iter().filter(|s| seen.insert(s.as_str())) {
            let connections = self.pairings.connections_of(subject, MAX_WALLETS_TOLD).await?;
            let active: Vec<_> = connections.into_iter().filter(|c| c.active).collect();
            if active.is_empty() {
                without_wallet.push(subject.clone());
                continue;
            }
            let claims = BreachNoticeClaims {
                iss: self.notice.controller.id.clone(),
                sub: subject.clone(),
                iat: now,
                jti: format!("{}:{}", breach.id, self.subject_hash(subject).unwrap_or_default()),
                breach: content.clone(),
            };
            let token = sign_breach_notice(key, &claims);
            if token.len() > MAX_BREACH_NOTICE_BYTES {
                return Err(BreachError::Invalid(format!(
                    "the signed notice would exceed {MAX_BREACH_NOTICE_BYTES} bytes, more than wallets accept: shorten the texts"
                )));
            }
            let body = Body::BreachNotice { notice: token };
            let payload = serde_json::to_string(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for connection in active {
                notices.push(notice(
                    format!("{WALLET_TARGET}{}", connection.id),
                    "breach.notice",
                    payload.clone(),
                    now,
                ));
            }
        }
        let wallets = notices.len() as u64;
        let subjects = seen.len();
        let detail = format!("{subjects} people named, {wallets} wallets told, {} without one", without_wallet.len());
        let audit =
            [self.audit_entry(caller, "breach.people_notified", vec![format!("breach:{id}")], None, Some(detail))];
        let data = json!({ "people": subjects, "wallets": wallets, "without_wallet": without_wallet.len() });
        notices.extend(self.breach_webhooks("breach.people_notified", &breach, data));
        if !self.breaches.record_people_notified(id, version, wallets, now, &audit, &notices).await? {
            return Err(BreachError::Changed);
        }
        self.outbox_wake.notify_one();
        Ok(PeopleNotified { subjects, wallets, without_wallet, version: version + 1 })
    }

    /// The content of the people's notice (art. 34(2)); refused while the record lacks
    /// the consequences or measures it must state.
    pub fn art34_notice(&self, breach: &Breach) -> Result<BreachNotice, BreachError> {
        let missing = |what: &str| BreachError::FactsMissing(format!("write down {what} first: people must be told"));
        let f = &breach.facts;
        Ok(BreachNotice {
            breach_id: breach.id.clone(),
            controller: self.notice.controller.name.clone(),
            nature: f.nature.clone(),
            categories: f
                .categories
                .iter()
                .map(|c| self.inventory.category(c).map_or_else(|| c.clone(), |c| c.name.clone()))
                .collect(),
            likely_consequences: f.likely_consequences.clone().ok_or_else(|| missing("the likely consequences"))?,
            measures: f.measures.clone().ok_or_else(|| missing("the measures"))?,
            contact: f.contact.clone().unwrap_or_else(|| self.contact().to_owned()),
            aware_at: breach.aware_at,
        })
    }

    /// Raises the clock's alarms that are due (24 h, 48 h, overdue): a webhook and an
    /// audit entry each, once across instances. Answers how many were raised.
    pub async fn raise_breach_alarms(&self) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let mut raised = 0;
        let due = self.breaches.clock_running(now.saturating_sub(CLOCK_WARNINGS_SECS[0]), CLOCK_BATCH).await?;
        for row in due {
            let (id, raised_before) = (row.id.clone(), row.alarms);
            let breach = match parse(row) {
                Ok(breach) => breach,
                Err(e) => {
                    tracing::warn!("breaches: {id} cannot be read for its clock: {e}");
                    continue;
                }
            };
            let alarms = breach.clock(now).alarms();
            if alarms <= raised_before {
                continue;
            }
            // A first look after a pause (a restart, awareness given in the past) raises
            // each alarm it missed, in order.
            let hours = now.saturating_sub(breach.aware_at) / 3600;
            let (mut audit, mut notices) = (Vec::new(), Vec::new());
            for alarm in raised_before + 1..=alarms {
                let event = ClockState::alarm_event(alarm);
                let detail = format!("{hours} hours since awareness; deadline {}", rfc3339(breach.deadline_at()));
                audit.push(self.audit_entry_by("system", event, vec![format!("breach:{id}")], None, Some(detail)));
                let data = json!({ "alarm": alarm, "hours_since_awareness": hours });
                notices.extend(self.breach_webhooks(event, &breach, data));
            }
            if self.breaches.raise_alarm(&id, alarms, &audit, &notices).await? {
                raised += 1;
            }
        }
        if raised > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(raised)
    }

    fn check_facts(&self, facts: &BreachFacts) -> Result<(), BreachError> {
        check_text("nature", &facts.nature)?;
        for (name, text) in [
            ("likely_consequences", &facts.likely_consequences),
            ("measures", &facts.measures),
            ("contact", &facts.contact),
        ] {
            if let Some(text) = text {
                check_text(name, text)?;
            }
        }
        if [facts.approximate_subjects, facts.approximate_records].iter().flatten().any(|n| *n > MAX_APPROXIMATE_COUNT)
        {
            return Err(BreachError::Invalid(format!("approximate numbers are at most {MAX_APPROXIMATE_COUNT}")));
        }
        if facts.categories.len() > MAX_BREACH_CATEGORIES {
            return Err(BreachError::Invalid(format!("name at most {MAX_BREACH_CATEGORIES} categories")));
        }
        if let Some(unknown) = facts.categories.iter().find(|c| self.inventory.category(c).is_none()) {
            return Err(BreachError::Invalid(format!("{unknown:?} is not a category of the inventory")));
        }
        Ok(())
    }

    fn breach_audit(&self, caller: &Caller, action: &str, breach: &Breach) -> crate::store::audit_chain::NewAuditEntry {
        // The digest ties the entry to the facts as they were, so a later change shows.
        let facts = serde_json::to_vec(&breach.facts).unwrap_or_default();
        let digest = crate::jose::b64::encode(sha2::Sha256::digest(&facts).as_slice());
        let detail = format!("outcome {}; facts sha256:{digest}", outcome_name(breach.decision.outcome));
        self.audit_entry(caller, action, vec![format!("breach:{}", breach.id)], None, Some(detail))
    }

    fn breach_webhooks(&self, event: &str, breach: &Breach, mut data: serde_json::Value) -> Vec<Notice> {
        data["id"] = json!(breach.id);
        data["outcome"] = json!(breach.decision.outcome);
        data["aware_at"] = json!(rfc3339(breach.aware_at));
        data["deadline_at"] = json!(rfc3339(breach.deadline_at()));
        self.webhook_notices(event, data)
    }
}

fn not_notifiable(breach: &Breach, whom: &str) -> BreachError {
    let next = breach.decision.next_question.map(|q| format!("; next: {}", q.text())).unwrap_or_default();
    BreachError::NotNotifiable(format!(
        "the procedure's outcome is {}: it does not call for notifying {whom}{next}",
        outcome_name(breach.decision.outcome)
    ))
}

fn outcome_name(outcome: BreachOutcome) -> String {
    serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn check_text(name: &str, text: &str) -> Result<(), BreachError> {
    if text.trim().is_empty() || text.chars().count() > MAX_BREACH_TEXT_CHARS {
        return Err(BreachError::Invalid(format!("{name} must be 1 to {MAX_BREACH_TEXT_CHARS} characters")));
    }
    // Texts go into notices the organisation signs and wallets show: no escape sequences,
    // no NUL (which PostgreSQL refuses).
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(BreachError::Invalid(format!("{name} holds a control character")));
    }
    Ok(())
}

/// Takes every answer `given` gives over `kept`.
fn merge(kept: &mut BreachAnswers, given: BreachAnswers) {
    let BreachAnswers {
        personal_data,
        role,
        damaged,
        lost,
        unlawful_processing_excluded,
        sensitive_data,
        serious_consequences,
        high_risk_to_people,
    } = given;
    kept.personal_data = personal_data.or(kept.personal_data);
    kept.role = role.or(kept.role);
    kept.damaged = damaged.or(kept.damaged);
    kept.lost = lost.or(kept.lost);
    kept.unlawful_processing_excluded = unlawful_processing_excluded.or(kept.unlawful_processing_excluded);
    kept.sensitive_data = sensitive_data.or(kept.sensitive_data);
    kept.serious_consequences = serious_consequences.or(kept.serious_consequences);
    kept.high_risk_to_people = high_risk_to_people.or(kept.high_risk_to_people);
}

fn row(b: &Breach) -> Result<BreachRow, StoreError> {
    let json = |v: serde_json::Result<String>| v.map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(BreachRow {
        id: b.id.clone(),
        recorded_at: b.recorded_at,
        recorded_by: b.recorded_by.clone(),
        aware_at: b.aware_at,
        facts: json(serde_json::to_string(&b.facts))?,
        answers: json(serde_json::to_string(&b.answers))?,
        outcome: outcome_name(b.decision.outcome),
        authority_notified_at: b.authority.as_ref().map(|a| a.at),
        authority_reference: b.authority.as_ref().map(|a| a.reference.clone()),
        delay_reason: b.authority.as_ref().and_then(|a| a.delay_reason.clone()),
        people_notified_at: b.people_notified_at,
        wallets_notified: b.wallets_notified,
        alarms: 0,
        updated_at: b.updated_at,
        version: b.version,
    })
}

fn parse(row: BreachRow) -> Result<Breach, BreachError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("breaches {}: {e}", row.id));
    let facts: BreachFacts = serde_json::from_str(&row.facts).map_err(corrupt)?;
    let answers: BreachAnswers = serde_json::from_str(&row.answers).map_err(corrupt)?;
    let authority = match (row.authority_notified_at, row.authority_reference) {
        (Some(at), Some(reference)) => Some(AuthorityNotification { at, reference, delay_reason: row.delay_reason }),
        _ => None,
    };
    Ok(Breach {
        id: row.id,
        recorded_at: row.recorded_at,
        recorded_by: row.recorded_by,
        aware_at: row.aware_at,
        decision: answers.decide(),
        facts,
        answers,
        authority,
        people_notified_at: row.people_notified_at,
        wallets_notified: row.wallets_notified,
        updated_at: row.updated_at,
        version: row.version,
    })
}
