//! Building a subject's bundle: choose the categories the purpose allows, pull records
//! through the connectors, attach the art. 15 information, sign.

use futures_util::TryStreamExt;

use crate::api::AppState;
use crate::bundle::{Art15, Bundle, CategoryData, Claims, Purpose, VERSION};
use crate::connectors::{ConnectorError, Record};
use crate::inventory::{Category, NoticeCategory};
use crate::subject::SubjectRef;

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

/// Builds the claims of a bundle for `subject` with `categories`' records.
pub async fn build_claims(
    state: &AppState,
    subject: &SubjectRef,
    purpose: Purpose,
    categories: &[&Category],
    jti: String,
) -> Result<Claims, ExportError> {
    let mut data = Vec::with_capacity(categories.len());
    let mut known_somewhere = false;
    let mut size = 0usize;
    for category in categories {
        let records = match fetch_all(state, subject, category, &mut size).await {
            Ok(records) => {
                known_somewhere = true;
                records
            }
            // A source that does not know the subject holds nothing about them.
            Err(ExportError::SubjectNotFound) => Vec::new(),
            Err(e) => return Err(e),
        };
        data.push(CategoryData { info: state.notice_category(category), records });
    }
    if !known_somewhere && !categories.is_empty() {
        return Err(ExportError::SubjectNotFound);
    }
    Ok(Claims {
        iss: state.notice.controller.id.clone(),
        sub: subject.as_str().to_owned(),
        iat: state.clock.now(),
        jti,
        bundle: Bundle {
            version: VERSION,
            purpose,
            categories: data,
            art15: Art15 { controller: state.notice.controller.clone(), rights: state.notice.rights.clone() },
        },
    })
}

async fn fetch_all(
    state: &AppState,
    subject: &SubjectRef,
    category: &Category,
    size: &mut usize,
) -> Result<Vec<Record>, ExportError> {
    let connector = state.connectors.source(&category.source).ok_or_else(|| {
        ExportError::Connector(ConnectorError::Unreachable(format!("no connector for {}", category.source)))
    })?;
    let mut stream = connector.fetch(subject, &category.id).await.map_err(connector_error)?;
    let mut records = Vec::new();
    while let Some(record) = stream.try_next().await.map_err(connector_error)? {
        *size += serde_json::to_vec(&record).map_or(0, |v| v.len());
        if *size > MAX_JWT_RECORDS_BYTES {
            return Err(ExportError::TooLargeForJwt);
        }
        records.push(record);
    }
    Ok(records)
}

fn connector_error(e: ConnectorError) -> ExportError {
    match e {
        ConnectorError::SubjectNotFound => ExportError::SubjectNotFound,
        other => ExportError::Connector(other),
    }
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
