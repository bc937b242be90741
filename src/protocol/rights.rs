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
