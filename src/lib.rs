//! gdpr-gateway: lets people take their personal data with them as signed, verifiable
//! bundles, through a blind relay, with a signed receipt for every GDPR right exercised.
//!
//! The core (`clock`, `calendar`, `protocol`, `jose`, `bundle`) has no server dependencies; with the
//! `relay-client` feature it adds the relay client and the platform-free `wallet`, which
//! the wallet SDK wraps for mobile. Everything else sits behind the default `server`
//! feature: `serve` composes the domain (`gateway`), its `store` and the `relay`, and is
//! what the binary (`cli`), the one-process `demo` and the tests start. The HTTP layers
//! (`api`, `http`) and the server's internals (`inventory`, `keys`, `oidc`, `trust`) are
//! private; `docs/decisions.md` § Architecture draws the whole map.

#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod bundle;
pub mod calendar;
pub mod clock;
pub mod fuzzing;
pub mod jose;
pub mod protocol;
#[cfg(feature = "relay-client")]
pub mod relay_client;
#[cfg(feature = "relay-client")]
pub mod wallet;

#[cfg(feature = "server")]
mod api;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod connectors;
#[cfg(feature = "server")]
pub mod demo;
#[cfg(feature = "server")]
pub mod gateway;
#[cfg(feature = "server")]
mod http;
#[cfg(feature = "server")]
mod inventory;
#[cfg(feature = "server")]
mod keys;
#[cfg(feature = "server")]
mod oidc;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
mod trust;
/// The API's request and response bodies.
#[cfg(feature = "server")]
pub use api::views;
