//! Bundles and packages arriving: blobs fetched, zip packages streamed into a file and
//! verified there, and bundles checked against what the wallet knows before they leave.

use super::inbox::new_request_id;
use super::stored::Stored;
use super::{Bundle, Wallet, WalletError};
use crate::bundle::{self, BundleError};
use crate::jose::Jwks;
use crate::jose::jws::JwsError;
use crate::protocol::Purpose;
use crate::protocol::message::{Body, BundleForm};
use crate::relay_client::blob_transfer::{self, TransferError};

/// Deletes a file when dropped, unless disarmed.
pub(super) struct RemoveOnDrop(pub(super) Option<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Largest zip package a wallet downloads.
pub const MAX_PACKAGE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A zip package that verified, in the file it was downloaded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub path: String,
    pub issuer: String,
    pub subject: String,
    pub bundle_id: String,
    pub categories: Vec<String>,
}

/// How a bundle arrived.
pub(super) enum Delivered {
    Inline(String),
    Blob(crate::protocol::blob::BlobRef),
}

pub(super) fn summary(token: String, verified: &bundle::VerifiedSummary) -> Bundle {
    Bundle {
        issuer: verified.iss.clone(),
        subject: verified.sub.clone(),
        bundle_id: verified.jti.clone(),
        categories: verified.categories.iter().map(|c| c.id.clone()).collect(),
        token,
    }
}

pub(super) fn bundle_issued_by(token: &str, stored: &Stored) -> bool {
    bundle::verify_jwt_summary(token.as_bytes(), &stored.controller.jwks).is_ok_and(|v| v.iss == stored.controller.id)
}

impl Wallet {
    pub(super) async fn download_into(
        &self,
        stored: &Stored,
        purpose: Purpose,
        categories: Option<Vec<String>>,
        file: &mut std::fs::File,
        path: &str,
        timeout_secs: u64,
    ) -> Result<Package, WalletError> {
        let request_id = new_request_id();
        let body =
            Body::ExportRequest { request_id: request_id.clone(), purpose, categories, format: Some(BundleForm::Zip) };
        self.send(stored, body).await?;
        let answer = self.answer(stored, &request_id, timeout_secs, |body| match body {
            Body::ExportPackageBlob { blob, .. } => Some(blob),
            _ => None,
        });
        let blob = answer.await?;
        let client = self.client(stored)?;
        let blob = &blob;
        let fetched = blob_transfer::fetch_into(&client, &stored.connection_id, blob, MAX_PACKAGE_BYTES, file).await;
        fetched.map_err(|e| match e {
            TransferError::Relay(e) => WalletError::from(e),
            TransferError::Write(e) => WalletError::Storage(format!("{path}: {e}")),
            other => WalletError::BadBundle(other.to_string()),
        })?;
        file.sync_all().map_err(|e| WalletError::Storage(format!("{path}: {e}")))?;
        self.package_at(stored, path)
    }

    /// Verifies the zip package in the file `path` against the keys of the organisation
    /// behind `stored`, and that it is about the account the connection is bound to.
    pub(super) fn package_at(&self, stored: &Stored, path: &str) -> Result<Package, WalletError> {
        let reader = std::fs::File::open(path).map_err(|e| WalletError::Storage(format!("{path}: {e}")))?;
        let verified =
            bundle::package::verify_package(std::io::BufReader::new(reader), &stored.controller.jwks, &mut |_| {})
                .map_err(|e| WalletError::BadBundle(e.to_string()))?;
        let claims = verified.claims;
        if claims.iss != stored.controller.id {
            return Err(WalletError::BadBundle(format!("issued by {:?}, not {:?}", claims.iss, stored.controller.id)));
        }
        if stored.subject.as_deref() != Some(claims.sub.as_str()) {
            return Err(WalletError::BadBundle(format!(
                "the package is about {:?}, not this connection's account",
                claims.sub
            )));
        }
        Ok(Package {
            path: path.to_owned(),
            issuer: claims.iss,
            subject: claims.sub,
            bundle_id: claims.jti,
            categories: claims.package.categories.into_iter().map(|c| c.id).collect(),
        })
    }

    /// When the bundle claims a signing key of an organisation this wallet knows, it must
    /// verify under it: a tampered bundle is refused before it leaves the phone.
    pub(super) fn check_known_issuer(&self, token: &str, all: &[Stored]) -> Result<(), WalletError> {
        let keys = Jwks { keys: all.iter().flat_map(|s| s.controller.jwks.keys.iter().cloned()).collect() };
        match bundle::verify_jwt_summary(token.as_bytes(), &keys) {
            Ok(verified) => {
                let owner = all.iter().find(|s| s.controller.jwks.find(&verified.kid).is_some());
                match owner {
                    Some(owner) if owner.controller.id == verified.iss => Ok(()),
                    _ => Err(WalletError::BadBundle(format!("signed with a key that is not {:?}'s", verified.iss))),
                }
            }
            // An organisation this wallet has not met: the receiver checks it against the
            // trust list.
            Err(BundleError::Jws(JwsError::UnknownKid(_))) => Ok(()),
            Err(e) => Err(WalletError::BadBundle(e.to_string())),
        }
    }
}
