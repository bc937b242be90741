//! Written requests (bijlage 2, steps 1-2): a letter, an e-mail or a phone call confirmed
//! in writing, registered by a handler. The document itself is archived with the request,
//! size-capped and deleted when its retention ends; identity stays `pending` until a
//! handler records how it was checked; a request filed through an intermediary (a
//! practice, a lawyer) records whom, so they are told it was taken up.

use sha2::{Digest, Sha256};

use super::request_notices::Happened;
use super::request_workflow::unchanged;
use super::rights_requests::{IDENTIFICATION_PENDING, IDENTITY_VERIFIED, Intake, criterion_met};
use super::{Caller, Filed, Gateway, NewRequest, RequestError};
use crate::calendar::Date;
use crate::protocol::rights::{RequestChannel, RequestUpdate, StaffRole};
use crate::protocol::subject::SubjectRef;
use crate::store::document_store::RequestDocument;

/// Media types a written request's document may have.
pub const DOCUMENT_MEDIA_TYPES: &[&str] =
    &["application/pdf", "image/png", "image/jpeg", "image/tiff", "message/rfc822", "text/plain"];
/// How many days before today a letter may have been received: longer and its first month
/// would be over before anyone registered it.
pub const MAX_RECEIPT_AGE_DAYS: i64 = 31;
/// The history action recording that the document was archived.
const DOCUMENT_ARCHIVED: &str = "document_archived";
/// Longest intermediary, identification note or referral subject, in characters.
pub const MAX_WRITTEN_TEXT_CHARS: usize = 500;

/// A request that came in writing, as a handler registers it.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenRequest {
    pub subject: SubjectRef,
    pub request: NewRequest,
    /// The day the letter or e-mail arrived; today when absent. The deadline runs from it.
    pub received_on: Option<Date>,
    /// Who filed it for the person, and how to reach them.
    pub intermediary: Option<String>,
}

/// A written request's archived document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub media_type: String,
    pub content: Vec<u8>,
    pub sha256: String,
    /// The archive's file name (bijlage 2, step 2): `YYYYMMDD_<number>_<type>.<ext>`.
    pub file_name: String,
}

impl Gateway {
    /// Registers a written request and acknowledges it: numbered and due from the day it
    /// arrived, identity pending.
    pub async fn register_written_request(
        &self,
        caller: &Caller,
        written: WrittenRequest,
    ) -> Result<Filed, RequestError> {
        require_role(caller, &[StaffRole::Handler])?;
        let today = self.request_rules.deadlines.date_of(self.clock.now());
        if let Some(received_on) = written.received_on {
            if received_on > today {
                return Err(RequestError::Invalid(format!("received_on {received_on} is after today ({today})")));
            }
            if received_on < today.add_days(-MAX_RECEIPT_AGE_DAYS) {
                return Err(RequestError::Invalid(format!(
                    "received_on {received_on} is more than {MAX_RECEIPT_AGE_DAYS} days ago; register letters as they arrive"
                )));
            }
        }
        if let Some(intermediary) = &written.intermediary {
            check_short_text(intermediary, "intermediary")?;
        }
        let intake = Intake {
            channel: RequestChannel::Letter,
            filed_by: caller.register_name(),
            identification: None,
            intake_ref: None,
            intermediary: written.intermediary,
            received_on: written.received_on,
            reply_to: None,
        };
        self.file(&written.subject, written.request, intake).await
    }

    /// Archives the written request's document; once, and only for a written request.
    pub async fn attach_document(
        &self,
        caller: &Caller,
        id: &str,
        media_type: &str,
        content: Vec<u8>,
    ) -> Result<Document, RequestError> {
        require_role(caller, &[StaffRole::Handler])?;
        let (request, history) = self.request_with_history(caller, id).await?;
        if request.channel != RequestChannel::Letter {
            return Err(RequestError::Invalid("only a written request carries a document".into()));
        }
        // Once archived, never replaced: not even after its retention ended.
        if history.iter().any(|e| e.action == DOCUMENT_ARCHIVED) {
            return Err(RequestError::DocumentAttached);
        }
        let media_type = media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !DOCUMENT_MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(RequestError::UnsupportedDocument(format!(
                "{media_type:?} is not one of {DOCUMENT_MEDIA_TYPES:?}"
            )));
        }
        if content.is_empty() {
            return Err(RequestError::Invalid("the document is empty".into()));
        }
        let max = self.request_rules.max_document_bytes;
        if content.len() as u64 > max {
            return Err(RequestError::DocumentTooLarge(max));
        }
        let retention = u64::from(self.request_rules.document_retention_days) * 24 * 3600;
        let document = RequestDocument {
            request_id: request.id.clone(),
            media_type,
            sha256: hex::encode(Sha256::digest(&content)),
            content,
            stored_at: self.clock.now(),
            retain_until: request.received_at + retention,
        };
        let detail = format!("{} of {} bytes, sha256 {}", document.media_type, document.content.len(), document.sha256);
        let event = self.event(caller, &request.phase, DOCUMENT_ARCHIVED, Some(detail));
        let objects = vec![format!("request:{}", request.id), format!("document:sha256:{}", document.sha256)];
        let entry = self.audit_entry(caller, "document.archived", objects, Some(&request.subject_ref), None);
        if !self.documents.insert(&document, &event, &[entry]).await? {
            return Err(RequestError::DocumentAttached);
        }
        Ok(archived(&request.number, request.received_on, request.kind.as_str(), document))
    }

    /// The archived document of a written request, for every staff role.
    pub async fn document(&self, caller: &Caller, id: &str) -> Result<Document, RequestError> {
        let (request, _) = self.request_with_history(caller, id).await?;
        let document = self.documents.by_request(&request.id).await?.ok_or(RequestError::NoDocument)?;
        Ok(archived(&request.number, request.received_on, request.kind.as_str(), document))
    }

    /// Records how the identity of a written request's sender was checked (bijlage 2:
    /// "op enige wijze identificeren"); meets the `identity_verified` criterion.
    pub async fn record_identification(&self, caller: &Caller, id: &str, method: &str) -> Result<(), RequestError> {
        let (request, _) = self.open_request(caller, id, &[StaffRole::Handler, StaffRole::Approver]).await?;
        let method = method.trim();
        if method.is_empty() {
            return Err(RequestError::Invalid("say how identity was checked (`method`)".into()));
        }
        check_short_text(method, "method")?;
        if request.identification != IDENTIFICATION_PENDING {
            return Err(RequestError::AlreadyIdentified(request.identification));
        }
        let mut change = unchanged(&request, self.clock.now());
        change.identification = method;
        let event = self.event(caller, &request.phase, &criterion_met(IDENTITY_VERIFIED), Some(method.to_owned()));
        let happened = Happened::new("request.identified", Some(RequestUpdate::Identified), None);
        self.apply(&request, change, &[event], &[happened]).await
    }
}

fn require_role(caller: &Caller, roles: &[StaffRole]) -> Result<(), RequestError> {
    match caller {
        Caller::Staff { role, .. } if *role == StaffRole::Admin || roles.contains(role) => Ok(()),
        _ => {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(RequestError::NotPermitted(format!("this needs the role {} or admin", names.join(" or "))))
        }
    }
}

pub(super) fn check_short_text(text: &str, what: &str) -> Result<(), RequestError> {
    if text.chars().count() > MAX_WRITTEN_TEXT_CHARS {
        return Err(RequestError::Invalid(format!("{what} is at most {MAX_WRITTEN_TEXT_CHARS} characters")));
    }
    super::request_workflow::check_text(text, what)
}

fn archived(number: &str, received_on: Date, kind: &str, document: RequestDocument) -> Document {
    let extension = match document.media_type.as_str() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/tiff" => "tif",
        "message/rfc822" => "eml",
        _ => "txt",
    };
    let day = received_on.to_string().replace('-', "");
    Document {
        file_name: format!("{day}_{number}_{kind}.{extension}"),
        media_type: document.media_type,
        content: document.content,
        sha256: document.sha256,
    }
}
