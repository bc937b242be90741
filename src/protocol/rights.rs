//! Rights requests in words both sides use: the right invoked, where a request stands, how
//! it came in, and the roles of the staff who handle it.

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

text_enum! {
    /// The right a request invokes.
    RequestKind {
        /// Art. 15: a copy of the data and what is done with it.
        Access = "access",
        /// Art. 16: correct or complete data; the request carries the proposed values.
        Rectification = "rectification",
        /// Art. 17: erase the data.
        Erasure = "erasure",
        /// Art. 18: keep the data but stop using it.
        Restriction = "restriction",
        /// Art. 20: the data in a portable form, to take elsewhere.
        Portability = "portability",
        /// Art. 21: object to a processing.
        Objection = "objection",
        /// Art. 22(3): a person to review an automated decision.
        HumanReview = "human_review",
        /// Art. 13/14: what is done with the data, and why.
        Information = "information",
    }
}

text_enum! {
    /// How a request came in.
    RequestChannel {
        /// A wallet on a bound connection, over the relay.
        Wallet = "wallet",
        /// The organisation's portal, for its logged-in customer.
        Portal = "portal",
        /// A letter, an e-mail or a phone call confirmed in writing, registered by staff.
        Letter = "letter",
    }
}

text_enum! {
    /// Whether a request still needs work.
    RequestState {
        /// Received and being handled.
        Open = "open",
        /// Carried out.
        Closed = "closed",
        /// Not carried out, with the reason given to the person.
        Refused = "refused",
    }
}

text_enum! {
    /// What a member of the organisation's staff may do with requests.
    StaffRole {
        /// Prepares requests: records identification and scope, moves them through phases.
        Handler = "handler",
        /// The data protection officer or privacy officer: approves what needs approval.
        Approver = "approver",
        /// Reads everything, changes nothing.
        Auditor = "auditor",
        /// Everything a handler and an approver may do.
        Admin = "admin",
    }
}

text_enum! {
    /// What just happened to a request, as the person is told.
    RequestUpdate {
        /// Received, numbered and due (art. 12(3)); the first word on every request.
        Acknowledged = "acknowledged",
        /// The identity of whoever filed a written request was established.
        Identified = "identified",
        /// The deadline moved once, by up to two months, for the reason given.
        Extended = "extended",
        /// (Part of) the request concerns data another organisation holds: ask them
        /// (bijlage 2, step 4a/4b); `detail` says whom and how.
        Referred = "referred",
        /// Carried out.
        Closed = "closed",
        /// Not carried out, for the reason given; the remedies say where to turn.
        Refused = "refused",
    }
}

/// What a refused person may do next (art. 12(4) GDPR).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Remedies {
    /// The supervisory authority to lodge a complaint with (art. 77).
    pub supervisory_authority: String,
    pub complaint_url: String,
    /// The right to an effective judicial remedy (art. 79).
    pub judicial_remedy: String,
}

/// Art. 79 in words a person can act on.
pub const JUDICIAL_REMEDY: &str = "You may also go to court against this decision (art. 79 GDPR).";

/// Where a person's request stands, as the organisation tells their wallet: sent on every
/// change, so the latest one (by `at`) is the whole story.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestStatus {
    /// `2026-000123`: quote it to the organisation.
    pub number: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    pub state: RequestState,
    pub update: RequestUpdate,
    /// When the update happened.
    pub at: u64,
    pub received_at: u64,
    /// The last day to answer, in the organisation's zone, and its last second.
    pub due_on: String,
    pub due_at: u64,
    /// Whom to contact about the request: the data protection officer.
    pub contact: String,
    /// The reason of an extension or refusal, or what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedies: Option<Remedies>,
    /// On the update that ends the request: its signed receipt (`gdpr-receipt+jwt`), to
    /// verify with the organisation's keys and acknowledge with `receipt.ack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// The request events webhook endpoints may subscribe to (`request.*` for all).
pub const REQUEST_EVENTS: &[&str] = &[
    "request.acknowledged",
    "request.identified",
    "request.advanced",
    "request.approval_requested",
    "request.extended",
    "request.referred",
    "request.carried_out",
    "request.closed",
    "request.refused",
    "request.receipt_unacknowledged",
];

text_enum! {
    /// What carrying out a request does to one category at its source.
    Operation {
        /// Apply the proposed values to one record (art. 16).
        Rectify = "rectify",
        /// Erase the person's records (art. 17).
        Erase = "erase",
        /// Keep the records but stop using them (art. 18).
        Restrict = "restrict",
        /// End a restriction (art. 18(3)).
        LiftRestriction = "lift_restriction",
        /// Stop processing for a purpose the person objected to (art. 21).
        Object = "object",
        /// A person reviews an automated decision (art. 22(3)).
        Review = "review",
    }
}

text_enum! {
    /// Where one operation of a request stands.
    ActionStatus {
        /// Waiting to be carried out at the source by the gateway, retried until it is.
        Pending = "pending",
        /// Waiting for a handler: the source cannot do it, refused it or never answered.
        Task = "task",
        /// Carried out at the source by the gateway.
        Done = "done",
        /// Carried out by a member of staff, who said how.
        Manual = "manual",
        /// Not carried out, for the ground given.
        Refused = "refused",
    }
}

impl ActionStatus {
    /// Whether nothing more will happen to the operation.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Done | Self::Manual | Self::Refused)
    }
}
