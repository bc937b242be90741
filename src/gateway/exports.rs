//! Building a subject's bundle: choose the categories the purpose allows, open their
//! record streams through the connectors, attach the art. 15 information.

use futures_util::TryStreamExt;

use crate::api::AppState;
use crate::bundle::{Art15, Bundle, CategoryData, Claims, Purpose, VERSION};
use crate::connectors::{ConnectorError, RecordStream};
use crate::inventory::{Category, NoticeCategory};
use crate::protocol::ErrorCode;
use crate::store::ExportRecord;
use crate::subject::SubjectRef;

/// Most categories one request may name.
pub const MAX_REQUESTED_CATEGORIES: usize = 256;
/// Largest JSON size of the records in one compact JWS bundle; more needs the zip form.
pub const MAX_JWT_RECORDS_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
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

/// The categories `purpose` allows, narrowed to `requested` when given (in inventory order).
pub fn select<'a>(
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

impl ExportError {
    /// The stable code of a refusal the requester can act on; `None` for failures of a
    /// source system or of signing, which are ours, not theirs.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::UnknownCategory(_) => Some(ErrorCode::CategoryNotFound),
            Self::NotPortable(_) => Some(ErrorCode::CategoryNotPortable),
            Self::NoCategories => Some(ErrorCode::InvalidParameter),
            Self::SubjectNotFound => Some(ErrorCode::SubjectNotFound),
            Self::TooLargeForJwt => Some(ErrorCode::BundleTooLarge),
            Self::Connector(_) | Self::Signing(_) => None,
        }
    }
}

/// Each selected category with its open record stream (`None`: the source does not know
/// the subject, so it holds nothing about them). Opening every stream before anything is
/// sent lets an unknown subject answer 404 even for a streamed download.
pub type OpenCategories<'a> = Vec<(&'a Category, Option<RecordStream>)>;

pub async fn open<'a>(
    state: &AppState,
    subject: &SubjectRef,
    categories: &[&'a Category],
) -> Result<OpenCategories<'a>, ExportError> {
    let mut open = Vec::with_capacity(categories.len());
    for category in categories {
        let connector = state.connectors.source(&category.source).ok_or_else(|| {
            ExportError::Connector(ConnectorError::Unreachable(format!("no connector for source {}", category.source)))
        })?;
        match connector.fetch(subject, &category.id).await {
            Ok(stream) => open.push((*category, Some(stream))),
            Err(ConnectorError::SubjectNotFound) => open.push((*category, None)),
            Err(e) => return Err(ExportError::Connector(e)),
        }
    }
    if !open.is_empty() && open.iter().all(|(_, stream)| stream.is_none()) {
        return Err(ExportError::SubjectNotFound);
    }
    Ok(open)
}

/// The claims every bundle form shares, with `categories` as given.
pub fn claims(
    state: &AppState,
    subject: &SubjectRef,
    purpose: Purpose,
    jti: String,
    categories: Vec<CategoryData>,
) -> Claims {
    Claims {
        iss: state.notice.controller.id.clone(),
        sub: subject.as_str().to_owned(),
        iat: state.clock.now(),
        jti,
        bundle: Bundle {
            version: VERSION,
            purpose,
            categories,
            art15: Art15 { controller: state.notice.controller.clone(), rights: state.notice.rights.clone() },
        },
    }
}

/// A signed compact JWS bundle of `subject`'s data and its register entry (not yet
/// recorded: the caller records it once the bundle is on its way).
pub async fn signed_jwt(
    state: &AppState,
    subject: &SubjectRef,
    purpose: Purpose,
    requested: Option<&[String]>,
    client_id: &str,
) -> Result<(String, ExportRecord), ExportError> {
    let categories = select(state.inventory.categories(), purpose, requested)?;
    let open = open(state, subject, &categories).await?;
    let jti = uuid::Uuid::new_v4().to_string();
    let key = state.keyring.active_signing();
    let record = ExportRecord {
        id: jti.clone(),
        client_id: client_id.to_owned(),
        subject_ref: subject.as_str().to_owned(),
        purpose: purpose.as_str().to_owned(),
        format: "jwt".to_owned(),
        categories: categories.iter().map(|c| c.id.clone()).collect(),
        kid: key.kid().to_owned(),
        created_at: state.clock.now(),
    };
    let categories = collect(state, open).await?;
    let art15 = Art15 { controller: state.notice.controller.clone(), rights: state.notice.rights.clone() };
    let claims = SignedClaims {
        iss: &state.notice.controller.id,
        sub: subject.as_str(),
        iat: state.clock.now(),
        jti: &record.id,
        bundle: SignedBundle { version: VERSION, purpose, categories, art15 },
    };
    let payload = serde_json::to_vec(&claims).map_err(|e| ExportError::Signing(e.to_string()))?;
    drop(claims);
    Ok((crate::jose::jws::sign(key, crate::bundle::TYP, &payload), record))
}

/// [`Claims`] as they are signed: each record kept as the JSON text it serializes to, not
/// as a tree, so a large bundle costs its text (the same bytes `Claims` would give).
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
pub struct SignedCategory {
    #[serde(flatten)]
    info: NoticeCategory,
    records: Vec<Box<serde_json::value::RawValue>>,
}

/// Reads every record into memory as JSON text for the compact JWS form, refusing more
/// than [`MAX_JWT_RECORDS_BYTES`].
pub async fn collect(state: &AppState, open: OpenCategories<'_>) -> Result<Vec<SignedCategory>, ExportError> {
    let mut size = 0usize;
    let mut data = Vec::with_capacity(open.len());
    for (category, stream) in open {
        let mut records = Vec::new();
        if let Some(mut stream) = stream {
            while let Some(record) = stream.try_next().await.map_err(ExportError::Connector)? {
                let text = serde_json::value::to_raw_value(&record).map_err(|e| ExportError::Signing(e.to_string()))?;
                size += text.get().len();
                if size > MAX_JWT_RECORDS_BYTES {
                    return Err(ExportError::TooLargeForJwt);
                }
                records.push(text);
            }
        }
        data.push(SignedCategory { info: state.notice_category(category), records });
    }
    Ok(data)
}

impl AppState {
    /// The art. 15 information of `category`, as published in the privacy notice.
    pub fn notice_category(&self, category: &Category) -> NoticeCategory {
        self.notice
            .categories
            .iter()
            .find(|c| c.id == category.id)
            .cloned()
            // The notice is built from this same inventory, so every category is in it.
            .unwrap_or_else(|| NoticeCategory::new(category, &category.source))
    }
}
