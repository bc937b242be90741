//! Seeing a correction for oneself (art. 16; bijlage 2: a correction is shown "door
//! inzage"): the receipt of a rectification names each corrected record by its digest, and
//! a fresh bundle of the corrected categories, signed by the same organisation, either
//! holds a record with that digest or it does not. Two signed statements, tied by the
//! digest, so the person need not take the receipt's word for it.

use super::{Bundle, Wallet, WalletError, receipts};
use crate::bundle::{self, record_digest};
use crate::protocol::Purpose;
use crate::protocol::rights::RequestKind;

/// What a fresh bundle shows of a rectification's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionProof {
    /// The fresh bundle of the corrected categories, verified like any download.
    pub bundle: Bundle,
    /// Every corrected record the receipt names, and whether the bundle shows it.
    pub records: Vec<CorrectedRecord>,
    /// True when the bundle shows every record the receipt says was corrected.
    pub confirmed: bool,
}

/// One record a rectification's receipt says was corrected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectedRecord {
    pub category: String,
    /// `sha256:<hex>`, as the receipt states it.
    pub digest: String,
    /// Whether the fresh bundle holds a record of the category with this digest. `false`
    /// when the record changed again since, or the correction is not what was signed.
    pub shown: bool,
}

impl Wallet {
    /// Downloads a fresh bundle of the categories the verified receipt of rectification
    /// `request_number` says were corrected, and checks that it shows each corrected
    /// record with the digest the receipt names.
    pub async fn confirm_correction(
        &self,
        connection_id: String,
        request_number: String,
        timeout_secs: u64,
    ) -> Result<CorrectionProof, WalletError> {
        let stored = self.connected(&connection_id)?;
        let request = stored
            .requests
            .iter()
            .find(|r| r.status.number == request_number)
            .ok_or_else(|| WalletError::InvalidInput(format!("no request {request_number} on this connection")))?;
        if request.status.kind != RequestKind::Rectification {
            return Err(WalletError::InvalidInput(format!("request {request_number} is not a rectification")));
        }
        if !request.receipt_verified {
            return Err(WalletError::InvalidInput(format!(
                "request {request_number} has no verified receipt yet: the correction is not reported done"
            )));
        }
        let mut named: Vec<(String, String)> = receipts::outcomes(&stored, request)
            .into_iter()
            .filter(|o| o.operation == "rectify" && o.result == "done")
            .flat_map(|o| o.record_digests.into_iter().map(move |d| (o.category.clone(), d)))
            .collect();
        named.dedup();
        if named.is_empty() {
            return Err(WalletError::InvalidInput(format!(
                "the receipt of request {request_number} names no corrected record to look for"
            )));
        }
        let mut categories: Vec<String> = named.iter().map(|(c, _)| c.clone()).collect();
        categories.sort();
        categories.dedup();
        let fresh = self.request_export(connection_id, Purpose::Access, Some(categories), timeout_secs).await?;
        // `request_export` verified it already; the records are read from the same token.
        let verified = bundle::verify_jwt(fresh.token.as_bytes(), &stored.controller.jwks)
            .map_err(|e| WalletError::BadBundle(e.to_string()))?;
        let shown: Vec<(&str, String)> = verified
            .claims
            .bundle
            .categories
            .iter()
            .flat_map(|c| c.records.iter().map(move |r| (c.info.id.as_str(), record_digest(r))))
            .collect();
        let records: Vec<CorrectedRecord> = named
            .into_iter()
            .map(|(category, digest)| {
                let found = shown.iter().any(|(c, d)| *c == category && *d == digest);
                CorrectedRecord { category, digest, shown: found }
            })
            .collect();
        let confirmed = records.iter().all(|r| r.shown);
        Ok(CorrectionProof { bundle: fresh, records, confirmed })
    }
}
