//! The receipt every ended request yields (bijlage 2, step 7): a JWS signed with the
//! bundle key, naming per category what was done, refused (with the ground) or done by
//! hand (with the note), and the evidence the gateway can honestly show. Signed in the
//! transaction that ends the request, so it is signed exactly once; the person's portal,
//! their wallet and the staff read the same token.

use super::request_notices::{Audience, Happened};
use super::{Caller, Gateway, RequestError};

/// The operation a receipt names for a copy of the data the person received.
const PROVIDE: &str = "provide";
/// How many of a person's newest exports are looked through for the one a request's
/// receipt shows.
const PROVIDED_SCAN: u32 = 50;
/// Most receipts flagged in one sweep; the next sweep takes the rest.
const FLAG_BATCH: u32 = 500;
use crate::bundle::{
    CategoryOutcome, Evidence, MAX_RECEIPT_BYTES, OutcomeResult, Receipt, ReceiptClaims, sign_receipt,
};
use crate::protocol::Purpose;
use crate::protocol::notice::PrivacyNotice;
use crate::protocol::rights::{ActionStatus, RequestKind, RequestState};
use crate::protocol::subject::SubjectRef;
use crate::store::ExportRecord;
use crate::store::action_store::{Action, StoredReceipt};
use crate::store::pairing_store::Connection;
use crate::store::request_store::RightsRequest;

impl Gateway {
    /// Signs the receipt of `ended`, the request as it is once ended, with `actions`.
    /// Operations a refusal left unsettled are reported refused, with the refusal's reason.
    pub(super) fn sign_request_receipt(
        &self,
        ended: &RightsRequest,
        actions: &[Action],
        provided: Option<&ExportRecord>,
    ) -> Result<String, RequestError> {
        let refusal = ended.outcome.clone().unwrap_or_default();
        let mut outcomes: Vec<CategoryOutcome> = actions
            .iter()
            .map(|action| {
                let (result, note) = match action.status {
                    ActionStatus::Done => (OutcomeResult::Done, action.note.clone()),
                    ActionStatus::Manual => (OutcomeResult::Manual, action.note.clone()),
                    ActionStatus::Refused => (OutcomeResult::Refused, action.note.clone()),
                    ActionStatus::Pending | ActionStatus::Task => (OutcomeResult::Refused, Some(refusal.clone())),
                };
                let evidence =
                    if result == OutcomeResult::Done { action.evidence.clone() } else { Evidence::default() };
                let purpose = action.argument.as_ref().and_then(|a| a.get("purpose")).and_then(|p| p.as_str());
                CategoryOutcome {
                    category: action.category.clone(),
                    operation: action.operation.as_str().to_owned(),
                    purpose: purpose.map(str::to_owned),
                    result,
                    note,
                    evidence,
                }
            })
            .collect();
        // A copy asked for (access, portability) is proven by the bundle that carried it.
        if let Some(export) = provided {
            outcomes.extend(export.categories.iter().map(|category| CategoryOutcome {
                category: category.clone(),
                operation: PROVIDE.to_owned(),
                purpose: None,
                result: OutcomeResult::Done,
                note: None,
                evidence: Evidence { bundle: Some(export.id.clone()), ..Evidence::default() },
            }));
        }
        let claims = ReceiptClaims {
            iss: self.notice.controller.id.clone(),
            sub: ended.subject_ref.clone(),
            jti: ended.id.clone(),
            iat: ended.updated_at,
            receipt: Receipt {
                request_number: ended.number.clone(),
                kind: ended.kind,
                state: ended.state,
                received_at: ended.received_at,
                due_at: ended.due_at,
                completed_at: ended.updated_at,
                outcomes,
                detail: ended.outcome.clone(),
                information: self.information_answer(ended),
            },
        };
        let token = sign_receipt(&claims, self.keyring.active_signing())
            .map_err(|e| RequestError::Invalid(format!("the receipt could not be written: {e}")))?;
        // Notes are capped and evidence is short, so only a request with thousands of
        // operations comes near; a receipt no verifier would read is not signed.
        if token.len() > MAX_RECEIPT_BYTES {
            return Err(RequestError::Invalid(format!(
                "the receipt would exceed {MAX_RECEIPT_BYTES} bytes: narrow the request's categories"
            )));
        }
        Ok(token)
    }

    /// The answer to an information request that was carried out: the privacy notice,
    /// narrowed to the categories the person asked about.
    fn information_answer(&self, ended: &RightsRequest) -> Option<Box<PrivacyNotice>> {
        if ended.kind != RequestKind::Information || ended.state != RequestState::Closed {
            return None;
        }
        let mut notice = self.notice.clone();
        if !ended.categories.is_empty() {
            notice.categories.retain(|c| ended.categories.contains(&c.id));
        }
        Some(Box::new(notice))
    }

    /// The newest bundle of the kind an access or portability request asks for that the
    /// person received since filing it, through their portal or wallet: what its receipt
    /// shows as provided.
    pub(super) async fn provided_bundle(&self, request: &RightsRequest) -> Result<Option<ExportRecord>, RequestError> {
        let purpose = match request.kind {
            RequestKind::Access => Purpose::Access,
            RequestKind::Portability => Purpose::Portability,
            _ => return Ok(None),
        };
        let exports = self.exports.of_subject(&request.subject_ref, PROVIDED_SCAN).await?;
        Ok(exports.into_iter().find(|e| e.purpose == purpose.as_str() && e.created_at >= request.received_at))
    }

    /// The receipt of request `id`, for every staff role.
    pub async fn request_receipt(&self, caller: &Caller, id: &str) -> Result<StoredReceipt, RequestError> {
        let (request, _) = self.request_with_history(caller, id).await?;
        self.receipt_of(&request).await
    }

    /// The receipt of request `id` of `subject`, for the organisation's portal.
    pub async fn subject_request_receipt(
        &self,
        caller: &Caller,
        subject: &SubjectRef,
        id: &str,
    ) -> Result<StoredReceipt, RequestError> {
        if !caller.acts_for_organisation() {
            return Err(RequestError::NotFound);
        }
        let request = self.requests.by_id(id).await?.ok_or(RequestError::NotFound)?;
        if request.subject_ref != subject.as_str() {
            return Err(RequestError::NotFound);
        }
        self.receipt_of(&request).await
    }

    async fn receipt_of(&self, request: &RightsRequest) -> Result<StoredReceipt, RequestError> {
        if request.state == RequestState::Open {
            return Err(RequestError::NoReceipt(
                "the request is still open; its receipt is signed when it ends".into(),
            ));
        }
        let receipt = self
            .actions
            .receipt(&request.id)
            .await?
            .ok_or_else(|| RequestError::NoReceipt("the request ended before receipts were signed".into()))?;
        if receipt.token.is_none() {
            return Err(RequestError::NoReceipt(format!(
                "the receipt named a person since forgotten; the register keeps its digest {}",
                receipt.token_sha256
            )));
        }
        Ok(receipt)
    }

    /// A wallet of the person says the receipt of request `receipt_id` arrived and
    /// verified: the register records when, once. Acknowledgements for requests that are
    /// not the person's, or unknown, are dropped.
    pub(super) async fn receipt_acknowledged(
        &self,
        connection: &Connection,
        receipt_id: &str,
    ) -> Result<(), crate::store::StoreError> {
        let mine = match self.requests.by_id(receipt_id).await? {
            Some(request) => request.subject_ref == connection.subject_ref,
            None => false,
        };
        if !mine {
            tracing::info!(connection = %connection.id, "dropping an acknowledgement of a receipt not the person's");
            return Ok(());
        }
        let actor = format!("connection:{}", connection.id);
        let objects = vec![format!("request:{receipt_id}")];
        let entry = self.audit_entry_by(&actor, "receipt.acknowledged", objects, Some(&connection.subject_ref), None);
        if self.actions.acknowledge_receipt(receipt_id, self.clock.now(), &actor, &[entry]).await? {
            // The person has it: forget them now if this was their erasure (the hourly
            // sweep does what fails here).
            if let Err(e) = self.forget_due().await {
                tracing::warn!("forgetting the people of erasures: {e}");
            }
        }
        Ok(())
    }

    /// Flags receipts no wallet acknowledged within `receipt_ack_days`: a history line,
    /// and the `request.receipt_unacknowledged` webhook so staff send them another way.
    /// Answers how many were flagged.
    pub async fn flag_unacknowledged_receipts(&self) -> Result<usize, RequestError> {
        let now = self.clock.now();
        let before = now.saturating_sub(u64::from(self.request_rules.receipt_ack_days) * 86_400);
        let mut flagged = 0;
        for id in self.actions.unacknowledged(before, FLAG_BATCH).await? {
            let Some(request) = self.requests.by_id(&id).await? else { continue };
            let detail = format!("no wallet acknowledged the receipt in {} days", self.request_rules.receipt_ack_days);
            let happened = [Happened::new("request.receipt_unacknowledged", None, Some(detail))];
            let notices = self.request_notices(&request, &Audience::default(), &happened);
            let objects = vec![format!("request:{id}")];
            let entry =
                self.audit_entry_by("gateway", "receipt.unacknowledged", objects, Some(&request.subject_ref), None);
            if self.actions.flag_unacknowledged(&id, now, &notices, &[entry]).await? {
                flagged += 1;
            }
        }
        if flagged > 0 {
            self.outbox_wake.notify_one();
        }
        Ok(flagged)
    }
}
