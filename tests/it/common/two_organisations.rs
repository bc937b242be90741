//! The two-organisation fixture: the framework `gdpr-gateway demo` runs (one relay, two
//! real gateways, an operator), with a wallet per test and the portals.

use std::sync::Arc;

use gdpr_gateway::clock::ManualClock;
use gdpr_gateway::config::{self, Origin, Overrides};
use gdpr_gateway::demo::framework::{self, Framework, Organisation};
use gdpr_gateway::wallet::{FileKeyStore, Wallet};

use super::{PG_ENV, PgSchema, PortalClient, T0};

/// How long a wallet waits for an organisation's answer in tests, in seconds.
pub const WAIT: u64 = 10;

/// A framework of two demo organisations (A holds alice's and bob's data, B receives), on
/// SQLite, or each organisation in a PostgreSQL schema of its own when [`PG_ENV`] is set.
pub struct TwoOrganisations {
    pub framework: Framework,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    schemas: Vec<PgSchema>,
}

impl TwoOrganisations {
    pub async fn start() -> Self {
        Self::start_with(gdpr_gateway::config::builtin_demo::CONFIG).await
    }

    /// With organisation A configured by `a_config` (relative paths under its data dir).
    pub async fn start_with(a_config: &str) -> Self {
        Self::start_with_setup(a_config, |_| {}).await
    }

    /// As [`Self::start_with`], after `setup` has prepared A's data dir (its sources must
    /// exist before the gateway starts).
    pub async fn start_with_setup(a_config: &str, setup: impl FnOnce(&std::path::Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        setup(&dir.path().join("a"));
        let mut schemas = Vec::new();
        let mut organisations = Vec::new();
        for (name, text) in [("a", a_config), ("b", gdpr_gateway::config::builtin_demo::RECEIVER_CONFIG)] {
            let database_url = match std::env::var(PG_ENV) {
                Ok(url) => {
                    let (schema, scoped) = PgSchema::create(&url).await;
                    schemas.push(schema);
                    Some(scoped)
                }
                Err(_) => None,
            };
            let overrides = Overrides { data_dir: Some(dir.path().join(name)), database_url, ..Overrides::default() };
            organisations.push(config::from_text(Origin::BuiltInDemo, text, Vec::new(), overrides).unwrap());
        }
        let clock = ManualClock::new(T0);
        let framework = framework::start(dir.path(), organisations, None, Arc::new(clock.clone())).await.unwrap();
        Self { framework, clock, dir, schemas }
    }

    pub fn a(&self) -> &Organisation {
        &self.framework.organisations[0]
    }

    pub fn b(&self) -> &Organisation {
        &self.framework.organisations[1]
    }

    pub fn wallet(&self, name: &str) -> Wallet {
        let store = FileKeyStore::new(self.dir.path().join(name)).unwrap();
        Wallet::with_clock(Arc::new(store), Arc::new(self.clock.clone()))
    }

    pub async fn stop(self) {
        self.framework.stop().await;
        for schema in self.schemas {
            schema.drop_idle().await;
        }
    }
}

/// The typed portal client of `org`.
pub fn portal(org: &Organisation) -> PortalClient {
    PortalClient::new(&org.url, &org.portal_token)
}

/// Pairs `wallet` with `org` for `subject` through the portal; returns the connection id.
pub async fn pair(org: &Organisation, wallet: &Wallet, subject: &str) -> String {
    let portal = portal(org);
    let pairing = portal.create_pairing(subject).await;
    let pending = wallet.connect(pairing.connect_uri.unwrap()).await.unwrap();
    portal.confirm(&pairing.pairing_id, &pending.code).await.unwrap();
    wallet.wait_connected(pending.connection_id.clone(), WAIT).await.unwrap();
    pending.connection_id
}
