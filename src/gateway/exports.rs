//! One export flow for the portal and for wallets: [`Gateway::prepare_export`] chooses the
//! categories the purpose allows, opens their record streams through the connectors and
//! makes the register entry; then the export is signed as a compact JWS
//! ([`Gateway::signed_jwt`]) or written as a zip package (`export_package`).

use futures_util::TryStreamExt;

use super::{Caller, Gateway};
use crate::bundle::{Art15, VERSION};
use crate::connectors::{ConnectorError, RecordStream};
use crate::inventory::{Category, NoticeCategory};
use crate::protocol::message::BundleForm;
use crate::protocol::{ErrorCode, Purpose, SubjectRef};
use crate::store::{ExportRecord, StoreError};

/// Most categories one request may name.
pub const MAX_REQUESTED_CATEGORIES: usize = 256;
/// Largest JSON size of the records in one compact JWS bundle; more needs the zip form.
pub const MAX_JWT_RECORDS_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error("name at most {MAX_REQUESTED_CATEGORIES} categories")]
    TooManyCategories,
    #[error("no category {0:?} in the inventory")]
    UnknownCategory(String),
    #[error("category {0:?} is not covered by the right to data portability (art. 20)")]
    NotPortable(String),
    #[error("name at least one category, or leave `categories` out for all")]
    NoCategories,
    #[error("the subject is unknown to every source")]
    SubjectNotFound,
    #[error("the records exceed {MAX_JWT_RECORDS_BYTES} bytes; ask for the zip format")]
    TooLargeForJwt,
    #[error(transparent)]
    Connector(ConnectorError),
    #[error("signing the bundle failed: {0}")]
    Signing(String),
}

impl ExportError {
    /// The stable code of a refusal the requester can act on; `None` for failures of a
    /// source system or of signing, which are ours, not theirs.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::TooManyCategories | Self::NoCategories => Some(ErrorCode::InvalidParameter),
            Self::UnknownCategory(_) => Some(ErrorCode::CategoryNotFound),
            Self::NotPortable(_) => Some(ErrorCode::CategoryNotPortable),
            Self::SubjectNotFound => Some(ErrorCode::SubjectNotFound),
            Self::TooLargeForJwt => Some(ErrorCode::BundleTooLarge),
            Self::Connector(_) | Self::Signing(_) => None,
        }
    }

    /// The code of a failure of ours ([`ExportError::error_code`] is `None`): a source that
    /// cannot be reached, one that failed, or signing.
    pub fn failure_code(&self) -> ErrorCode {
        match self {
            Self::Connector(ConnectorError::Unreachable(_) | ConnectorError::Setup(_)) => ErrorCode::SourceUnavailable,
            Self::Signing(_) => ErrorCode::Internal,
            _ => ErrorCode::UpstreamUnavailable,
        }
    }
}

/// What is asked for, from the portal or a wallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub purpose: Purpose,
    /// Category ids; all the purpose allows when `None`.
    pub categories: Option<Vec<String>>,
    pub form: BundleForm,
}

/// An export ready to be written: its categories with their record streams open (`None`:
/// the source does not know the subject), and its register entry, not yet recorded.
pub struct PreparedExport {
    pub subject: SubjectRef,
    pub purpose: Purpose,
    pub record: ExportRecord,
    pub(super) open: Vec<(Category, Option<RecordStream>)>,
}

impl Gateway {
    /// Chooses the categories, opens every record stream before anything is sent (so an
    /// unknown subject answers 404 even for a streamed download), and makes the register
    /// entry that names `caller`.
    pub async fn prepare_export(
        &self,
        caller: &Caller,
        subject: SubjectRef,
        request: &ExportRequest,
    ) -> Result<PreparedExport, ExportError> {
        // Only routes a staff member or a status token cannot reach call this; refused
        // here too, as if the subject did not exist, should one ever be wired wrongly.
        if !caller.exports_data() {
            return Err(ExportError::SubjectNotFound);
        }
        if request.categories.as_ref().is_some_and(|c| c.len() > MAX_REQUESTED_CATEGORIES) {
            return Err(ExportError::TooManyCategories);
        }
        let categories = select(self.inventory.categories(), request.purpose, request.categories.as_deref())?;
        let mut open = Vec::with_capacity(categories.len());
        for category in categories {
            let connector = self.connectors.source(&category.source).ok_or_else(|| {
                let missing = format!("no connector for source {}", category.source);
                ExportError::Connector(ConnectorError::Unreachable(missing))
            })?;
            match connector.fetch(&subject, &category.id).await {
                Ok(stream) => open.push((category.clone(), Some(stream))),
                Err(ConnectorError::SubjectNotFound) => open.push((category.clone(), None)),
                Err(e) => return Err(ExportError::Connector(e)),
            }
        }
        if !open.is_empty() && open.iter().all(|(_, stream)| stream.is_none()) {
            return Err(ExportError::SubjectNotFound);
        }
        let record = ExportRecord {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: caller.register_name(),
            subject_ref: subject.as_str().to_owned(),
            purpose: request.purpose.as_str().to_owned(),
            format: request.form.as_str().to_owned(),
            categories: open.iter().map(|(c, _)| c.id.clone()).collect(),
            kid: self.keyring.active_signing().kid().to_owned(),
            created_at: self.clock.now(),
        };
        Ok(PreparedExport { subject, purpose: request.purpose, record, open })
    }

    /// Reads every record of `export` and signs them as a compact JWS bundle. The register
    /// entry comes back unrecorded: the caller records it once the bundle is on its way.
    pub async fn signed_jwt(&self, export: PreparedExport) -> Result<(String, ExportRecord), ExportError> {
        let PreparedExport { subject, purpose, record, open } = export;
        let categories = self.collect(open).await?;
        let art15 = Art15 { controller: self.notice.controller.clone(), rights: self.notice.rights.clone() };
        let claims = SignedClaims {
            iss: &self.notice.controller.id,
            sub: subject.as_str(),
            iat: self.clock.now(),
            jti: &record.id,
            bundle: SignedBundle { version: VERSION, purpose, categories, art15 },
        };
        let payload = serde_json::to_vec(&claims).map_err(|e| ExportError::Signing(e.to_string()))?;
        drop(claims);
        Ok((crate::jose::jws::sign(self.keyring.active_signing(), crate::bundle::TYP, &payload), record))
    }

    /// Adds an export to the register.
    pub async fn record_export(&self, record: &ExportRecord) -> Result<(), StoreError> {
        // The register names a wallet `connection:<id>` and a portal by its bare id.
        let actor = if record.client_id.starts_with("connection:") {
            record.client_id.clone()
        } else {
            Caller::portal(record.client_id.clone()).audit_name()
        };
        let objects = vec![format!("export:{}", record.id)];
        let detail = format!("{} as {}: {}", record.purpose, record.format, record.categories.join(", "));
        let entry = self.audit_entry_by(&actor, "export.created", objects, Some(&record.subject_ref), Some(detail));
        self.exports.record(record, &[entry]).await
    }

    /// The subject's exports, newest first.
    pub async fn exports_of(
        &self,
        caller: &Caller,
        subject: &SubjectRef,
        limit: u32,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        if !caller.acts_for_organisation() {
            return Ok(Vec::new());
        }
        self.exports.of_subject(subject.as_str(), limit).await
    }

    /// Reads every record into memory as JSON text for the compact JWS form, refusing more
    /// than [`MAX_JWT_RECORDS_BYTES`].
    async fn collect(&self, open: Vec<(Category, Option<RecordStream>)>) -> Result<Vec<SignedCategory>, ExportError> {
        let mut size = 0usize;
        let mut data = Vec::with_capacity(open.len());
        for (category, stream) in open {
            let mut records = Vec::new();
            if let Some(mut stream) = stream {
                while let Some(record) = stream.try_next().await.map_err(ExportError::Connector)? {
                    let text =
                        serde_json::value::to_raw_value(&record).map_err(|e| ExportError::Signing(e.to_string()))?;
                    size += text.get().len();
                    if size > MAX_JWT_RECORDS_BYTES {
                        return Err(ExportError::TooLargeForJwt);
                    }
                    records.push(text);
                }
            }
            data.push(SignedCategory { info: self.notice_category(&category), records });
        }
        Ok(data)
    }
}

/// The categories `purpose` allows, narrowed to `requested` when given (in inventory order).
pub(super) fn select<'a>(
    categories: &'a [Category],
    purpose: Purpose,
    requested: Option<&[String]>,
) -> Result<Vec<&'a Category>, ExportError> {
    let allowed = |c: &Category| purpose == Purpose::Access || c.portable;
    let Some(requested) = requested else {
        return Ok(categories.iter().filter(|c| allowed(c)).collect());
    };
    if requested.is_empty() {
        return Err(ExportError::NoCategories);
    }
    for id in requested {
        let category =
            categories.iter().find(|c| &c.id == id).ok_or_else(|| ExportError::UnknownCategory(id.clone()))?;
        if !allowed(category) {
            return Err(ExportError::NotPortable(id.clone()));
        }
    }
    Ok(categories.iter().filter(|c| requested.contains(&c.id)).collect())
}

/// Bundle claims as they are signed: each record kept as the JSON text it serializes to,
/// not as a tree, so a large bundle costs its text (the same bytes `bundle::Claims` gives).
#[derive(serde::Serialize)]
struct SignedClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: crate::clock::UnixSeconds,
    jti: &'a str,
    bundle: SignedBundle,
}

#[derive(serde::Serialize)]
struct SignedBundle {
    version: u32,
    purpose: Purpose,
    categories: Vec<SignedCategory>,
    art15: Art15,
}

#[derive(serde::Serialize)]
struct SignedCategory {
    #[serde(flatten)]
    info: NoticeCategory,
    records: Vec<Box<serde_json::value::RawValue>>,
}
