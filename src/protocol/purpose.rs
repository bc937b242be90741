//! `Purpose`: why a data subject receives their data, art. 15 access or art. 20
//! portability; it decides which categories a bundle may hold.

use serde::{Deserialize, Serialize};

/// Why the data subject receives the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Art. 15: every category.
    Access,
    /// Art. 20: only the categories the right to data portability applies to.
    Portability,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Portability => "portability",
        }
    }
}
