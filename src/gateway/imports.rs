//! Receiving a bundle a person forwarded from another controller: it is verified against
//! the issuer's keys from the trust list, never against keys the bundle or the wallet
//! names, then kept in the import register and acknowledged to the wallet.

use sha2::{Digest, Sha256};

use super::{Caller, Gateway};
use crate::bundle::{self, BundleError};
use crate::jose::jws::JwsError;
use crate::protocol::ErrorCode;
use crate::protocol::message::Body;
use crate::store::StoreError;
use crate::store::import_store::Import;

impl Gateway {
    /// The import register, newest first: at most `limit`, older than import `before`.
    pub async fn imports(&self, caller: &Caller, limit: u32, before: Option<&str>) -> Result<Vec<Import>, StoreError> {
        if !caller.acts_for_organisation() {
            return Ok(Vec::new());
        }
        self.imports.list(limit, before).await
    }

    /// One import with its bundle.
    pub async fn import(&self, caller: &Caller, id: &str) -> Result<Option<Import>, StoreError> {
        if !caller.acts_for_organisation() {
            return Ok(None);
        }
        self.imports.by_id(id).await
    }
}

/// Verifies and stores `token`, answering `import.accepted` or `request.refused`. A bundle
/// imported before is not stored twice; the answer names the earlier import.
pub(super) async fn receive(
    gateway: &Gateway,
    connection_id: &str,
    subject_ref: Option<&str>,
    request_id: String,
    token: String,
) -> Result<Body, StoreError> {
    let refuse = |code: ErrorCode, detail: String| Body::RequestRefused {
        request_id: request_id.clone(),
        error_code: code.as_str().to_owned(),
        detail,
    };
    let Some(trust) = &gateway.trust else {
        let detail = "this organisation has no trust list to check forwarded bundles against".to_owned();
        return Ok(refuse(ErrorCode::TrustListUnavailable, detail));
    };
    let loaded = match trust.fresh().await {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::warn!("imports: the trust list is unavailable: {e}");
            return Ok(refuse(
                ErrorCode::TrustListUnavailable,
                "the trust list cannot be read; try again later".into(),
            ));
        }
    };
    let verified = match bundle::verify_jwt_summary(token.as_bytes(), &loaded.list.signing_keys()) {
        Ok(verified) => verified,
        Err(BundleError::Jws(JwsError::UnknownKid(kid))) => {
            let detail = format!("the signing key {kid:?} belongs to no controller in the trust list");
            return Ok(refuse(ErrorCode::IssuerNotTrusted, detail));
        }
        Err(e) => return Ok(refuse(e.error_code(), e.to_string())),
    };
    if let Err(e) = loaded.list.check_issuer(&verified.kid, &verified.iss) {
        return Ok(refuse(ErrorCode::IssuerMismatch, e.to_string()));
    }
    let claims = &verified;
    let import = Import {
        id: uuid::Uuid::new_v4().simple().to_string(),
        issuer: claims.iss.clone(),
        bundle_id: claims.jti.clone(),
        issuer_subject: claims.sub.clone(),
        subject_ref: subject_ref.map(str::to_owned),
        connection_id: connection_id.to_owned(),
        purpose: claims.purpose.as_str().to_owned(),
        categories: claims.categories.iter().map(|c| c.id.clone()).collect(),
        bundle_sha256: hex::encode(Sha256::digest(token.as_bytes())),
        bundle: token,
        issued_at: claims.iat,
        received_at: gateway.clock.now(),
    };
    let objects = vec![format!("import:{}", import.id), format!("bundle:{}", import.bundle_id)];
    let actor = super::Caller::wallet(connection_id).audit_name();
    let detail = format!("from {}", import.issuer);
    let entry = gateway.audit_entry_by(&actor, "import.received", objects, subject_ref, Some(detail));
    let import_id = gateway.imports.insert(&import, &[entry]).await?;
    tracing::info!(import = %import_id, issuer = %import.issuer, "imported a forwarded bundle");
    Ok(Body::ImportAccepted { request_id, import_id })
}
