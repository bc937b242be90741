//! `SubjectRef`: the organisation's own reference for a data subject, checked once at the
//! edge so it can be used safely as a path segment, a URL segment and a log field.

use serde::{Deserialize, Deserializer, Serialize};

pub const MAX_SUBJECT_REF_LEN: usize = 128;

/// A validated subject reference: 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SubjectRef(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "subject_ref must be 1 to {MAX_SUBJECT_REF_LEN} characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.'"
)]
pub struct InvalidSubjectRef;

impl SubjectRef {
    pub fn parse(text: &str) -> Result<Self, InvalidSubjectRef> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > MAX_SUBJECT_REF_LEN || text.starts_with('.') || !text.chars().all(ok) {
            return Err(InvalidSubjectRef);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SubjectRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_references() {
        for ok in ["alice", "C-000123", "a.b_c-d", &"x".repeat(MAX_SUBJECT_REF_LEN)] {
            assert!(SubjectRef::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_path_tricks_and_oversize() {
        for bad in [
            "",
            ".",
            "..",
            "../etc",
            "a/b",
            "a\\b",
            ".hidden",
            "a b",
            "é",
            "a%2F",
            &"x".repeat(MAX_SUBJECT_REF_LEN + 1),
        ] {
            assert!(SubjectRef::parse(bad).is_err(), "{bad}");
        }
    }
}
