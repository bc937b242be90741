//! `Caller`: who asks the domain for something. Every domain call names one, so ownership
//! is checked where the data is, not in each handler (omicron's `OpContext`).

use crate::config::TokenDigest;
use crate::protocol::rights::StaffRole;
use crate::store::pairing_store::Pairing;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Caller {
    /// A portal backend, authenticated by its bearer token. Its pairings are its own:
    /// another portal client of the same organisation gets 404 for them.
    Portal { client_id: String },
    /// A wallet, over one relay connection.
    Wallet { connection_id: String },
    /// A member of the organisation's staff, in their role.
    Staff { id: String, role: StaffRole },
    /// The gateway itself: the inbox poller and its upkeep.
    System,
    /// A browser holding one pairing's status token (the digest here): it may read that
    /// pairing, its QR code and its events until shortly after it expires, and nothing else.
    PairingViewer { status: TokenDigest },
}

impl Caller {
    pub fn portal(client_id: impl Into<String>) -> Self {
        Self::Portal { client_id: client_id.into() }
    }

    pub fn wallet(connection_id: impl Into<String>) -> Self {
        Self::Wallet { connection_id: connection_id.into() }
    }

    pub fn staff(id: impl Into<String>, role: StaffRole) -> Self {
        Self::Staff { id: id.into(), role }
    }

    /// How the caller is named in registers (`client_id` of an export).
    pub fn register_name(&self) -> String {
        match self {
            Self::Portal { client_id } => client_id.clone(),
            Self::Wallet { connection_id } => format!("connection:{connection_id}"),
            Self::Staff { id, .. } => format!("staff:{id}"),
            Self::System => "system".to_owned(),
            Self::PairingViewer { .. } => "pairing-viewer".to_owned(),
        }
    }

    /// How the caller is named in the audit trail and requests' histories: every kind
    /// with its prefix, so no portal client named `gateway` passes for the gateway.
    pub fn audit_name(&self) -> String {
        match self {
            Self::Portal { client_id } => format!("portal:{client_id}"),
            other => other.register_name(),
        }
    }

    /// True for callers that act for the organisation (its portals, the gateway itself):
    /// they may see its subjects' registers and connections; a wallet may not.
    pub(crate) fn acts_for_organisation(&self) -> bool {
        matches!(self, Self::Portal { .. } | Self::System)
    }

    /// True when `pairing` is this caller's to see: the portal client that made it, or a
    /// holder of its status token (whose expiry the caller of this checks).
    pub(crate) fn reads_pairing(&self, pairing: &Pairing) -> bool {
        match self {
            Self::Portal { client_id } => *client_id == pairing.client_id,
            Self::System => true,
            Self::PairingViewer { status } => {
                pairing.status_sha256.as_deref().and_then(TokenDigest::from_hex).is_some_and(|d| d.matches(status))
            }
            Self::Wallet { .. } | Self::Staff { .. } => false,
        }
    }

    /// True for callers that may download a subject's data: the organisation's portals, a
    /// wallet (for the subject its connection is bound to, which its caller passes), the
    /// gateway itself. Staff and a pairing's status token may not.
    pub(crate) fn exports_data(&self) -> bool {
        matches!(self, Self::Portal { .. } | Self::Wallet { .. } | Self::System)
    }

    /// True for callers that may start, confirm or cancel pairings: a status token only reads.
    pub(crate) fn changes_pairings(&self) -> bool {
        matches!(self, Self::Portal { .. } | Self::System)
    }

    /// True for auditors and administrators, and the gateway itself: the audit trail is
    /// theirs to read.
    pub(crate) fn reads_audit(&self) -> bool {
        matches!(self, Self::Staff { role: StaffRole::Auditor | StaffRole::Admin, .. } | Self::System)
    }

    /// True for staff of every role, auditors included: the request register is theirs
    /// to read.
    pub(crate) fn reads_register(&self) -> bool {
        matches!(self, Self::Staff { .. } | Self::System)
    }

    /// True for staff who may record a breach and answer the procedure's questions:
    /// every role but the auditor, who reads only.
    pub(crate) fn records_breaches(&self) -> bool {
        matches!(self, Self::Staff { role, .. } if *role != StaffRole::Auditor)
    }

    /// True for approvers and administrators: notifying the authority or the people is
    /// the organisation speaking, decided above the handler.
    pub(crate) fn notifies_breaches(&self) -> bool {
        matches!(self, Self::Staff { role: StaffRole::Approver | StaffRole::Admin, .. })
    }
}
