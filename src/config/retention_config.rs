//! The `[retention]` section: how long the gateway keeps its own records of each kind, and
//! how long before a deletion staff are warned. Defaults hold without configuration.

use serde::Deserialize;

use crate::inventory::IsoDuration;

/// Shortest retention that may be configured: a day, so a typo cannot empty a register.
const MIN_RETENTION_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// The export register (who was sent which bundle of whom): `P2Y`.
    pub exports: IsoDuration,
    /// The import register and the bundles people forwarded here: `P1Y`.
    pub imports: IsoDuration,
    /// Pairings that ended without a connection, and revoked connections: `P90D`.
    pub ended_pairings: IsoDuration,
    /// How long before a deletion it is listed and announced (`retention.upcoming`): `P14D`.
    pub warn_before: IsoDuration,
    /// Audit entries: `P7Y`. Older ones go only in whole stretches that end at a signed
    /// checkpoint, which then anchors the chain (`audit verify` starts from it).
    pub audit: IsoDuration,
}

fn days(n: u32) -> IsoDuration {
    IsoDuration { days: n, ..IsoDuration::default() }
}

fn years(n: u32) -> IsoDuration {
    IsoDuration { years: n, ..IsoDuration::default() }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { exports: years(2), imports: years(1), ended_pairings: days(90), warn_before: days(14), audit: years(7) }
    }
}

impl RetentionConfig {
    /// The first period shorter than a day.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        for (key, period) in [
            ("exports", self.exports),
            ("imports", self.imports),
            ("ended_pairings", self.ended_pairings),
            ("warn_before", self.warn_before),
            ("audit", self.audit),
        ] {
            if period.after(0) < MIN_RETENTION_SECS {
                return Err((format!("retention.{key}"), "must be at least a day (P1D)".to_owned()));
            }
        }
        Ok(())
    }
}
