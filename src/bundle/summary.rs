//! What a verifier reports about any valid bundle, compact or packaged.

use serde::Serialize;

use super::Purpose;
use super::package::VerifiedPackage;
use super::verify::{CategorySummary, VerifiedBundle, VerifiedSummary};
use crate::clock::UnixSeconds;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub kid: String,
    pub issuer: String,
    pub subject: String,
    pub issued_at: UnixSeconds,
    pub bundle_id: String,
    pub purpose: Purpose,
    pub categories: Vec<CategorySummary>,
}

impl From<&VerifiedBundle> for Summary {
    fn from(v: &VerifiedBundle) -> Self {
        Self {
            kid: v.kid.clone(),
            issuer: v.claims.iss.clone(),
            subject: v.claims.sub.clone(),
            issued_at: v.claims.iat,
            bundle_id: v.claims.jti.clone(),
            purpose: v.claims.bundle.purpose,
            categories: v.categories(),
        }
    }
}

impl From<&VerifiedSummary> for Summary {
    fn from(v: &VerifiedSummary) -> Self {
        Self {
            kid: v.kid.clone(),
            issuer: v.iss.clone(),
            subject: v.sub.clone(),
            issued_at: v.iat,
            bundle_id: v.jti.clone(),
            purpose: v.purpose,
            categories: v.categories.clone(),
        }
    }
}

impl From<&VerifiedPackage> for Summary {
    fn from(v: &VerifiedPackage) -> Self {
        Self {
            kid: v.kid.clone(),
            issuer: v.claims.iss.clone(),
            subject: v.claims.sub.clone(),
            issued_at: v.claims.iat,
            bundle_id: v.claims.jti.clone(),
            purpose: v.claims.package.purpose,
            categories: v.claims.package.categories.clone(),
        }
    }
}
