//! The `[audit]` section: how often the gateway signs a checkpoint over the audit trail's
//! head. Defaults hold without configuration.

use serde::Deserialize;

/// Entries after which a checkpoint is signed, by default.
const DEFAULT_CHECKPOINT_EVERY_ENTRIES: u64 = 1000;
/// Minutes after which a checkpoint is signed if anything was appended, by default.
const DEFAULT_CHECKPOINT_EVERY_MINUTES: u64 = 60;
/// Most entries between checkpoints that may be configured.
const MAX_CHECKPOINT_EVERY_ENTRIES: u64 = 1_000_000;
/// Most minutes between checkpoints that may be configured: a day.
const MAX_CHECKPOINT_EVERY_MINUTES: u64 = 24 * 60;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Sign a checkpoint after this many entries since the last one.
    pub checkpoint_every_entries: u64,
    /// Sign one after this many minutes since the last one, if anything was appended.
    pub checkpoint_every_minutes: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_entries: DEFAULT_CHECKPOINT_EVERY_ENTRIES,
            checkpoint_every_minutes: DEFAULT_CHECKPOINT_EVERY_MINUTES,
        }
    }
}

impl AuditConfig {
    /// The first key out of range, with what it must be.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        if !(1..=MAX_CHECKPOINT_EVERY_ENTRIES).contains(&self.checkpoint_every_entries) {
            let message = format!("must be 1 to {MAX_CHECKPOINT_EVERY_ENTRIES}");
            return Err(("audit.checkpoint_every_entries".to_owned(), message));
        }
        if !(1..=MAX_CHECKPOINT_EVERY_MINUTES).contains(&self.checkpoint_every_minutes) {
            let message = format!("must be 1 to {MAX_CHECKPOINT_EVERY_MINUTES} minutes");
            return Err(("audit.checkpoint_every_minutes".to_owned(), message));
        }
        Ok(())
    }
}
