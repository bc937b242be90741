//! The audit trail's chain, apart from any database: how an entry is sealed (the SHA-256 of
//! its canonical form, which includes the hash of the entry before it), and the walk that
//! names the first entry edited, removed, inserted or reordered. The store appends with
//! it; `gdpr-gateway audit verify` walks with it. `docs/audit.md` is the format.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::UnixSeconds;

/// The `prev` of the first entry, and the head of an empty chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How far from its place the walk looks for an entry moved out of order.
const REORDER_REACH: u64 = 8;

/// An entry to append; the chain gives it its number and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: UnixSeconds,
    /// `portal:<client>`, `staff:<id>`, `connection:<id>`, `system` or `gateway`.
    pub actor: String,
    /// What happened: `export.created`, `request.advanced`, …
    pub action: String,
    /// What it happened to, as `kind:id` (`request:6f0c…`, `export:…`).
    pub objects: Vec<String>,
    /// The person concerned, as the keyed hash that also replaces them when forgotten.
    pub subject: Option<String>,
    /// A short note, never personal data.
    pub detail: Option<String>,
}

/// An entry as stored: numbered, chained, sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub seq: u64,
    pub at: UnixSeconds,
    pub actor: String,
    pub action: String,
    pub objects: Vec<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
    /// The `hash` of entry `seq - 1` ([`GENESIS`] for the first).
    pub prev: String,
    /// SHA-256 (hex) of the entry's canonical form.
    pub hash: String,
}

impl AuditEntry {
    /// `entry` as number `seq`, after the entry whose hash is `prev`.
    pub fn seal(entry: &NewAuditEntry, seq: u64, prev: &str) -> Self {
        let mut sealed = Self {
            seq,
            at: entry.at,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            objects: entry.objects.clone(),
            subject: entry.subject.clone(),
            detail: entry.detail.clone(),
            prev: prev.to_owned(),
            hash: String::new(),
        };
        sealed.hash = sealed.hash_as(seq);
        sealed
    }

    /// The hash of this entry's content were it number `seq`: the SHA-256 of the JSON
    /// array `[seq, at, actor, action, objects, subject, detail, prev]`, compact.
    /// The entry's content, to seal again elsewhere.
    pub fn into_new(self) -> NewAuditEntry {
        NewAuditEntry {
            at: self.at,
            actor: self.actor,
            action: self.action,
            objects: self.objects,
            subject: self.subject,
            detail: self.detail,
        }
    }

    fn hash_as(&self, seq: u64) -> String {
        let canonical =
            (seq, self.at, &self.actor, &self.action, &self.objects, &self.subject, &self.detail, &self.prev);
        // A tuple of numbers, strings and options always serializes.
        let text = serde_json::to_vec(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(&text))
    }

    fn is_sealed(&self) -> bool {
        self.hash_as(self.seq) == self.hash
    }
}

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The entry's content no longer matches its hash.
    Edited { seq: u64 },
    /// Number `seq` is missing.
    Removed { seq: u64 },
    /// The entry is sealed but does not follow the one before; the next one does.
    Inserted { seq: u64 },
    /// The entry sealed as number `from` stands at `seq`.
    Reordered { seq: u64, from: u64 },
    /// The entry is sealed but follows neither the entry before nor is followed by the next.
    Unchained { seq: u64 },
    /// The head says the chain runs to `head`, it stops at `last`: the end was removed.
    TailRemoved { last: u64, head: u64 },
    /// The head names another hash, or a number before the last entry.
    HeadChanged { seq: u64 },
    /// A signed checkpoint names another hash at `seq`, or an entry the chain lacks: the
    /// chain was rewritten since it was signed.
    CheckpointMismatch { seq: u64 },
    /// A row numbered outside the chain (past its head, or below 1) was added.
    Foreign { seq: i64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Edited { seq } => write!(f, "entry {seq} was edited: its content does not match its hash"),
            Self::Removed { seq } => write!(f, "entry {seq} was removed"),
            Self::Inserted { seq } => write!(f, "entry {seq} was inserted"),
            Self::Reordered { seq, from } => write!(f, "entries were reordered: entry {from} stands at {seq}"),
            Self::Unchained { seq } => {
                write!(f, "entry {seq} does not follow the one before: one between them was removed or replaced")
            }
            Self::TailRemoved { last, head } => {
                write!(f, "entries {} to {head} were removed: the chain stops at {last}", last + 1)
            }
            Self::HeadChanged { seq } => write!(f, "the chain's head was changed (it names entry {seq})"),
            Self::CheckpointMismatch { seq } => {
                write!(f, "the signed checkpoint at entry {seq} does not match: the chain was rewritten")
            }
            Self::Foreign { seq } => write!(f, "a row numbered {seq}, outside the chain, was inserted"),
        }
    }
}

/// Walks a chain entry by entry, in the order of their numbers, keeping one entry back
/// to tell an insertion from a removal; memory stays at two entries whatever the length.
#[derive(Debug)]
pub struct ChainWalk {
    expected: u64,
    prev: String,
    held: Option<AuditEntry>,
    /// Hash at each number a checkpoint names, as walked.
    wanted: Vec<(u64, String)>,
    walked: u64,
    finding: Option<Finding>,
}

impl ChainWalk {
    /// A walk from the start of the chain that also checks the hash each of `checkpoints`
    /// names at its number.
    pub fn from_start(checkpoints: Vec<(u64, String)>) -> Self {
        Self { expected: 1, prev: GENESIS.to_owned(), held: None, wanted: checkpoints, walked: 0, finding: None }
    }

    /// A walk of the entries after number `seq`, whose hash is `hash`: what the gateway
    /// checks before it signs a checkpoint over what was appended since the last one.
    pub fn after(seq: u64, hash: String) -> Self {
        Self { expected: seq + 1, prev: hash, held: None, wanted: Vec::new(), walked: 0, finding: None }
    }

    /// A walk from a signed checkpoint at `seq` (the entries before it pruned) that checks
    /// the hash each later checkpoint names; earlier ones name pruned entries and are passed
    /// over, and one at `seq` itself must name `hash`.
    pub fn after_checked(seq: u64, hash: String, checkpoints: Vec<(u64, String)>) -> Self {
        let finding =
            checkpoints.iter().any(|(s, h)| *s == seq && *h != hash).then_some(Finding::CheckpointMismatch { seq });
        let wanted = checkpoints.into_iter().filter(|(s, _)| *s > seq).collect();
        Self { finding, wanted, ..Self::after(seq, hash) }
    }

    /// Takes the next entry; after a finding, entries are only counted.
    pub fn push(&mut self, entry: AuditEntry) {
        self.walked += 1;
        if self.finding.is_some() {
            return;
        }
        if let Some(held) = self.held.take() {
            self.check(held, Some(&entry));
        }
        self.held = Some(entry);
    }

    /// Ends the walk against the head the store keeps: what it found first, if anything.
    pub fn finish(mut self, head_seq: u64, head_hash: &str) -> Walked {
        if let Some(held) = self.held.take() {
            if self.finding.is_none() {
                self.check(held, None);
            }
        }
        let last = self.expected - 1;
        if self.finding.is_none() {
            self.finding = if head_seq > last {
                Some(Finding::TailRemoved { last, head: head_seq })
            } else if head_seq < last || head_hash != self.prev {
                Some(Finding::HeadChanged { seq: head_seq })
            } else {
                None
            };
        }
        if self.finding.is_none() {
            // Checkpoints past the end name entries the chain lacks.
            if let Some((seq, _)) = self.wanted.iter().find(|(seq, _)| *seq > last) {
                self.finding = Some(Finding::CheckpointMismatch { seq: *seq });
            }
        }
        Walked { entries: self.walked, last, finding: self.finding }
    }

    fn check(&mut self, entry: AuditEntry, next: Option<&AuditEntry>) {
        let seq = self.expected;
        if entry.seq > seq {
            self.finding = Some(Finding::Removed { seq });
            return;
        }
        if !entry.is_sealed() {
            let reach = seq.saturating_sub(REORDER_REACH).max(1)..=seq + REORDER_REACH;
            let moved = reach.into_iter().find(|s| *s != seq && entry.hash_as(*s) == entry.hash);
            // Sealed under another number: renumbered. When the next entry is off by the
            // same distance, the rest moved with it, after a removal or an insertion.
            let shifted = |from: u64| {
                next.is_some_and(|n| n.hash_as((n.seq + from).saturating_sub(seq)) == n.hash) || next.is_none()
            };
            self.finding = Some(match moved {
                Some(from) if from > seq && shifted(from) => Finding::Removed { seq },
                Some(from) if from < seq && shifted(from) => Finding::Inserted { seq: from },
                Some(from) => Finding::Reordered { seq, from },
                None => Finding::Edited { seq },
            });
            return;
        }
        if entry.prev != self.prev {
            self.finding = Some(match next {
                Some(next) if next.prev == self.prev => Finding::Inserted { seq },
                _ => Finding::Unchained { seq },
            });
            return;
        }
        if self.wanted.iter().any(|(s, hash)| *s == seq && *hash != entry.hash) {
            self.finding = Some(Finding::CheckpointMismatch { seq });
            return;
        }
        self.prev = entry.hash;
        self.expected += 1;
    }
}

/// What a walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Entries read.
    pub entries: u64,
    /// The last entry that chained correctly.
    pub last: u64,
    pub finding: Option<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let new = NewAuditEntry {
                    at: 1_800_000_000 + seq,
                    actor: "staff:hanna".into(),
                    action: "request.advanced".into(),
                    objects: vec![format!("request:{seq:032x}")],
                    subject: Some("~00ff".into()),
                    detail: None,
                };
                let entry = AuditEntry::seal(&new, seq, &prev);
                prev = entry.hash.clone();
                entry
            })
            .collect()
    }

    fn walk(entries: &[AuditEntry], head: (u64, &str), checkpoints: Vec<(u64, String)>) -> Walked {
        let mut walk = ChainWalk::from_start(checkpoints);
        for entry in entries {
            walk.push(entry.clone());
        }
        walk.finish(head.0, head.1)
    }

    fn head(entries: &[AuditEntry]) -> (u64, &str) {
        entries.last().map_or((0, GENESIS), |e| (e.seq, e.hash.as_str()))
    }

    #[test]
    fn an_intact_chain_walks_clean_and_an_empty_one_too() {
        let entries = chain(5);
        let walked = walk(&entries, head(&entries), vec![(3, entries[2].hash.clone())]);
        assert_eq!(walked, Walked { entries: 5, last: 5, finding: None });
        assert_eq!(walk(&[], (0, GENESIS), vec![]).finding, None);
    }

    #[test]
    fn the_first_edit_removal_insertion_or_reordering_is_named() {
        let entries = chain(6);
        let (seq, hash) = (6, entries[5].hash.clone());

        let mut edited = entries.clone();
        edited[2].detail = Some("nothing to see".into());
        assert_eq!(walk(&edited, (seq, &hash), vec![]).finding, Some(Finding::Edited { seq: 3 }));

        let mut removed = entries.clone();
        removed.remove(3);
        assert_eq!(walk(&removed, (seq, &hash), vec![]).finding, Some(Finding::Removed { seq: 4 }));

        // Renumbered and resealed, but chained to nothing the chain holds.
        let mut inserted = entries.clone();
        let forged = NewAuditEntry {
            at: 1,
            actor: "system".into(),
            action: "export.created".into(),
            objects: vec![],
            subject: None,
            detail: None,
        };
        inserted.insert(2, AuditEntry::seal(&forged, 3, &"ab".repeat(32)));
        let renumbered: Vec<AuditEntry> = inserted
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.seq = i as u64 + 1;
                e
            })
            .collect();
        let found = walk(&renumbered, (7, &hash), vec![]).finding;
        assert_eq!(found, Some(Finding::Inserted { seq: 3 }));

        let mut reordered = entries.clone();
        reordered.swap(1, 3);
        reordered[1].seq = 2;
        reordered[3].seq = 4;
        assert_eq!(walk(&reordered, (seq, &hash), vec![]).finding, Some(Finding::Reordered { seq: 2, from: 4 }));

        assert_eq!(walk(&entries[..4], (seq, &hash), vec![]).finding, Some(Finding::TailRemoved { last: 4, head: 6 }));
        assert_eq!(walk(&entries, (6, GENESIS), vec![]).finding, Some(Finding::HeadChanged { seq: 6 }));
    }

    #[test]
    fn a_correctly_chained_insertion_or_a_renumbered_removal_is_named_as_such() {
        let entries = chain(6);
        let head = (6, entries[5].hash.as_str());
        // A forgery chained to entry 2 and sealed as 3, the rest renumbered after it.
        let forged = AuditEntry::seal(&chain(9)[8].clone().into_new(), 3, &entries[1].hash);
        let mut inserted = entries[..2].to_vec();
        inserted.push(forged);
        inserted.extend(entries[2..].iter().cloned().map(|mut e| {
            e.seq += 1;
            e
        }));
        assert_eq!(walk(&inserted, (7, &entries[5].hash), vec![]).finding, Some(Finding::Inserted { seq: 3 }));
        // Entry 3 deleted and the rest renumbered down.
        let removed: Vec<AuditEntry> = entries
            .iter()
            .filter(|e| e.seq != 3)
            .cloned()
            .map(|mut e| {
                if e.seq > 3 {
                    e.seq -= 1;
                }
                e
            })
            .collect();
        assert_eq!(walk(&removed, head, vec![]).finding, Some(Finding::Removed { seq: 3 }));
    }

    #[test]
    fn a_chain_resealed_after_an_edit_is_caught_by_a_checkpoint() {
        let entries = chain(4);
        let signed = (2, entries[1].hash.clone());
        // Every hash recomputed after editing entry 2: consistent, but not what was signed.
        let mut prev = GENESIS.to_owned();
        let rewritten: Vec<AuditEntry> = entries
            .iter()
            .map(|e| {
                let mut new = NewAuditEntry {
                    at: e.at,
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    objects: e.objects.clone(),
                    subject: e.subject.clone(),
                    detail: e.detail.clone(),
                };
                if e.seq == 2 {
                    new.action = "request.refused".into();
                }
                let sealed = AuditEntry::seal(&new, e.seq, &prev);
                prev = sealed.hash.clone();
                sealed
            })
            .collect();
        let head = (4, rewritten[3].hash.clone());
        assert_eq!(walk(&rewritten, (head.0, &head.1), vec![]).finding, None, "consistent in itself");
        let found = walk(&rewritten, (head.0, &head.1), vec![signed]).finding;
        assert_eq!(found, Some(Finding::CheckpointMismatch { seq: 2 }));
        // A checkpoint past the end: the entries it covered were cut away with the head.
        let found = walk(&entries[..2], (2, &entries[1].hash), vec![(4, entries[3].hash.clone())]).finding;
        assert_eq!(found, Some(Finding::CheckpointMismatch { seq: 4 }));
    }
}
