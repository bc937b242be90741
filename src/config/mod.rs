//! Gateway configuration: a TOML file (or the built-in demo) overlaid by `GDPR_GATEWAY_*`
//! environment variables and command-line flags, checked before anything starts.

mod audit_config;
pub mod builtin_demo;
mod env;
mod http_limits;
mod key_lines;
pub mod public_reach;
mod request_phases;
mod request_rules;
mod retention_config;
mod secret;
mod source_operations;
mod sql_source_config;
mod staff_oidc;
mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::inventory::Language;
use crate::inventory::processing_register::RegisterDetails;
use crate::inventory::{Category, Controller, Inventory, Recipient, check_id};
pub use crate::protocol::rights::StaffRole;
pub use audit_config::AuditConfig;
pub use http_limits::ServerConfig;
pub use request_phases::{CLOSED_PHASE, CriterionConfig, PhaseConfig, default_phases};
pub use request_rules::{
    DEFAULT_DOCUMENT_RETENTION_DAYS, DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_RECEIPT_ACK_DAYS, MAX_DOCUMENT_BYTES_LIMIT,
    RequestsConfig,
};
pub use retention_config::RetentionConfig;
pub use secret::{DatabaseUrl, Secret, TokenDigest};
pub use source_operations::{HttpMethod, HttpOperation, HttpOperations};
pub use sql_source_config::{
    DEFAULT_SQL_MAX_CONNECTIONS, DEFAULT_SQL_TIMEOUT_SECONDS, MAX_SQL_CONNECTIONS, SqlBackend, SqlOperation, SqlParam,
    SqlQueries, SqlStatement,
};
pub use staff_oidc::StaffOidcConfig;
pub use webhooks::{
    AUDIT_CHECKPOINT_EVENT, BREACH_EVENTS, MAX_SECRET_BYTES, MAX_WEBHOOKS, MIN_SECRET_BYTES, RETENTION_UPCOMING_EVENT,
    SECRET_PREFIX, SOURCE_RETENTION_UPCOMING_EVENT, WebhookEndpoint,
};

/// Largest config file we read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./gdpr-gateway-data";
pub const DEFAULT_HTTP_TIMEOUT_SECONDS: u64 = 30;
pub const DEFAULT_PAIRING_LIFETIME_SECONDS: u64 = 600;
/// Longest pairing lifetime accepted: the relay keeps a connect token at most a day.
pub const MAX_PAIRING_LIFETIME_SECONDS: u64 = 24 * 3600;
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The whole configuration, as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Directory for keys, the SQLite database and demo files.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL; SQLite in the data dir when absent.
    #[serde(default)]
    pub database_url: Option<DatabaseUrl>,
    /// Base URL under which clients reach this gateway; `http://<listen>` when absent.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Which web pages may call the gateway from a browser.
    #[serde(default)]
    pub cors: CorsConfig,
    /// The trust framework's relay.
    #[serde(default)]
    pub relay_url: Option<String>,
    /// The relay operator's JWKS (a file), pinned: with an external relay, the gateway
    /// imports forwarded bundles only after checking the relay's trust list against it.
    #[serde(default)]
    pub relay_operator_jwks: Option<PathBuf>,
    /// How long a pairing's QR code and confirmation code stay valid.
    #[serde(default = "default_pairing_lifetime")]
    pub pairing_lifetime_seconds: u64,
    /// The language of the pages a person reads (`en`, `nl`).
    #[serde(default)]
    pub language: Language,
    pub controller: Controller,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Who receives personal data, each with its sharing assessment; categories name
    /// them by id.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// What the art. 30 register needs beyond the inventory.
    #[serde(default)]
    pub register: RegisterDetails,
    #[serde(default)]
    pub portal_clients: Vec<PortalClient>,
    /// The organisation's staff who handle rights requests, each with a role.
    #[serde(default)]
    pub staff: Vec<StaffMember>,
    /// Staff signing in with access tokens from the organisation's identity provider.
    #[serde(default)]
    pub staff_oidc: Option<StaffOidcConfig>,
    /// The HTTP server's deadlines, connection cap and shutdown grace.
    #[serde(default)]
    pub server: ServerConfig,
    /// Rights requests: the calendar of deadlines and the daily limit.
    #[serde(default)]
    pub requests: RequestsConfig,
    /// Endpoints told of request events (Standard Webhooks).
    #[serde(default)]
    pub webhooks: Vec<WebhookEndpoint>,
    /// When the audit trail's checkpoints are signed.
    #[serde(default)]
    pub audit: AuditConfig,
    /// How long the gateway keeps its own records, and the warning before deletion.
    #[serde(default)]
    pub retention: RetentionConfig,
}

fn default_listen() -> SocketAddr {
    // A constant that parses; the test `defaults_parse` pins it.
    DEFAULT_LISTEN.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
}

fn default_pairing_lifetime() -> u64 {
    DEFAULT_PAIRING_LIFETIME_SECONDS
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(DEFAULT_DATA_DIR)
}

/// Where a category's records live.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum SourceConfig {
    /// JSON Lines files: `<path>/<subject_ref>/<category>.jsonl`.
    File {
        id: String,
        #[serde(default)]
        name: Option<String>,
        /// Relative paths resolve against the config file's directory (the data dir for
        /// the built-in demo).
        path: PathBuf,
    },
    /// `GET {base_url}/subjects/{subject_ref}/{category}` on the source system, and the
    /// writes configured in `operations`.
    Http {
        id: String,
        #[serde(default)]
        name: Option<String>,
        base_url: String,
        #[serde(default)]
        auth: Option<HttpAuth>,
        #[serde(default = "default_timeout")]
        timeout_seconds: u64,
        #[serde(default = "default_max_response")]
        max_response_bytes: u64,
        /// The writes the source carries out for rights requests; none when absent. Boxed:
        /// the other variants are small.
        #[serde(default)]
        operations: Box<HttpOperations>,
    },
    /// A PostgreSQL or SQLite database, read and written by the queries configured per
    /// category (`[sources.queries.<category>]`), their `:name` parameters always bound.
    Sql {
        id: String,
        #[serde(default)]
        name: Option<String>,
        /// `postgres://…` or `sqlite:…`; its password is never printed.
        url: DatabaseUrl,
        #[serde(default = "default_sql_max_connections")]
        max_connections: u32,
        /// Longest wait for a connection, and for each statement or row.
        #[serde(default = "default_sql_timeout")]
        timeout_seconds: u64,
        /// The queries of each category the source holds, by category id.
        #[serde(default)]
        queries: BTreeMap<String, SqlQueries>,
    },
}

fn default_sql_max_connections() -> u32 {
    DEFAULT_SQL_MAX_CONNECTIONS
}

fn default_sql_timeout() -> u64 {
    DEFAULT_SQL_TIMEOUT_SECONDS
}

fn default_timeout() -> u64 {
    DEFAULT_HTTP_TIMEOUT_SECONDS
}

fn default_max_response() -> u64 {
    DEFAULT_MAX_RESPONSE_BYTES
}

impl SourceConfig {
    pub fn id(&self) -> &str {
        match self {
            Self::File { id, .. } | Self::Http { id, .. } | Self::Sql { id, .. } => id,
        }
    }

    /// Human-readable name for privacy notices; the id when none is configured.
    pub fn name(&self) -> &str {
        match self {
            Self::File { name, id, .. } | Self::Http { name, id, .. } | Self::Sql { name, id, .. } => {
                name.as_deref().unwrap_or(id)
            }
        }
    }
}

/// How the gateway authenticates to an HTTP source.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum HttpAuth {
    /// A static `Authorization: Bearer` token.
    Bearer { token: Secret },
    /// OAuth 2.0 client credentials grant (RFC 6749 §4.4); the token is cached until expiry.
    Oauth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: Secret,
        #[serde(default)]
        scopes: Vec<String>,
    },
}

/// A portal backend allowed to call the integrator API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalClient {
    pub id: String,
    /// SHA-256 of the client's bearer token, hex; the token itself is never configured.
    pub token_sha256: TokenDigest,
}

/// A member of staff, authenticated by a bearer token whose SHA-256 is configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffMember {
    /// How the register names them (`staff:<id>`): letters, digits, `.`, `_`, `-`, `@`.
    pub id: String,
    pub role: StaffRole,
    /// SHA-256 of the member's bearer token, hex; the token itself is never configured.
    pub token_sha256: TokenDigest,
}

/// Where the configuration text came from, for error messages and relative paths.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Origin {
    File(PathBuf),
    BuiltInDemo,
}

impl Origin {
    pub fn is_demo(&self) -> bool {
        matches!(self, Self::BuiltInDemo)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::BuiltInDemo => f.write_str("built-in demo config"),
        }
    }
}

/// Why the configuration cannot be used. Every variant names where to look.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment: {0}")]
    Env(String),
    #[error("{origin}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid { origin: String, line: Option<usize>, key: String, message: String },
}

/// Command-line flags, which win over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<DatabaseUrl>,
    pub public_url: Option<String>,
}

/// A configuration that passed every check, with its inventory built.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub inventory: Inventory,
    pub origin: Origin,
}

impl Loaded {
    /// The base URL clients use to reach this gateway, without a trailing slash: the
    /// configured `public_url`, else the address actually bound.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound}"),
        }
    }
}

/// Reads the config file at `path`, or the built-in demo when `None`.
pub fn load(
    path: Option<&Path>,
    demo_text: &str,
    vars: impl IntoIterator<Item = (String, String)>,
    overrides: Overrides,
) -> Result<Loaded, ConfigError> {
    let (origin, text) = match path {
        Some(path) => (Origin::File(path.to_owned()), read_capped(path)?),
        None => (Origin::BuiltInDemo, demo_text.to_owned()),
    };
    from_text(origin, &text, vars, overrides)
}

fn read_capped(path: &Path) -> Result<String, ConfigError> {
    let read_err = |source| ConfigError::Read { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { path: path.to_owned() });
    }
    std::fs::read_to_string(path).map_err(read_err)
}

/// Parses and checks configuration text; public for tests and tools.
pub fn from_text(
    origin: Origin,
    text: &str,
    vars: impl IntoIterator<Item = (String, String)>,
    overrides: Overrides,
) -> Result<Loaded, ConfigError> {
    let parse_err = |e: toml::de::Error| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() };
    // First pass on the text alone: toml's errors then carry the file's line and column.
    toml::from_str::<Config>(text).map_err(parse_err)?;
    let mut table: toml::Table = toml::from_str(text).map_err(parse_err)?;
    let applied = env::apply(&mut table, vars).map_err(ConfigError::Env)?;
    let mut config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
        ConfigError::Env(format!("after applying {}: {}", applied.join(", "), e.message()))
    })?;
    if let Some(listen) = overrides.listen {
        config.listen = listen;
    }
    if let Some(dir) = overrides.data_dir {
        config.data_dir = dir;
    }
    if let Some(url) = overrides.database_url {
        config.database_url = Some(url);
    }
    if let Some(url) = overrides.public_url {
        config.public_url = Some(url);
    }
    let base = match &origin {
        Origin::File(path) => path.parent().unwrap_or(Path::new(".")).to_owned(),
        Origin::BuiltInDemo => config.data_dir.clone(),
    };
    resolve_relative_paths(&mut config, &base);
    let inventory = check(&config).map_err(|(key, message)| match env::set_by(&applied, &key) {
        // A value from the environment is the variable's fault, not the file's.
        Some(name) => ConfigError::Invalid { origin: format!("environment variable {name}"), line: None, key, message },
        None => ConfigError::Invalid { origin: origin.to_string(), line: key_lines::line_of(text, &key), key, message },
    })?;
    Ok(Loaded { config, inventory, origin })
}

fn resolve_relative_paths(config: &mut Config, base: &Path) {
    if let Some(path) = &mut config.relay_operator_jwks {
        if path.is_relative() {
            *path = base.join(&*path);
        }
    }
    for source in &mut config.sources {
        if let SourceConfig::File { path, .. } = source {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        if let SourceConfig::Sql { url, .. } = source {
            if let Some(resolved) = sql_source_config::resolve_sqlite_path(url.expose(), base) {
                *url = DatabaseUrl::new(resolved);
            }
        }
    }
}

/// Semantic checks serde cannot express; errors name the key path.
fn check(config: &Config) -> Result<Inventory, (String, String)> {
    let c = &config.controller;
    check_url(&c.id, true).map_err(|m| ("controller.id".to_owned(), m))?;
    for (key, value) in [("controller.name", &c.name), ("controller.dpo_contact", &c.dpo_contact)] {
        if value.trim().is_empty() {
            return Err((key.to_owned(), "must not be empty".to_owned()));
        }
    }
    check_url(&c.supervisory_authority.url, false)
        .map_err(|m| ("controller.supervisory_authority.url".to_owned(), m))?;
    if let Some(url) = &config.public_url {
        check_url(url, false).map_err(|m| ("public_url".to_owned(), m))?;
    }
    if !(60..=MAX_PAIRING_LIFETIME_SECONDS).contains(&config.pairing_lifetime_seconds) {
        return Err((
            "pairing_lifetime_seconds".to_owned(),
            format!("must be 60 to {MAX_PAIRING_LIFETIME_SECONDS} seconds"),
        ));
    }
    if let Some(url) = &config.relay_url {
        check_url(url, false).map_err(|m| ("relay_url".to_owned(), m))?;
    }
    config.server.check()?;
    config.requests.check()?;
    config.audit.check()?;
    config.retention.check()?;
    webhooks::check_webhooks(&config.webhooks)?;
    if let Some(oidc) = &config.staff_oidc {
        oidc.check()?;
    }
    for (i, origin) in config.cors.portal_origins.iter().enumerate() {
        check_origin(origin).map_err(|m| (format!("cors.portal_origins[{i}]"), format!("{origin:?} {m}")))?;
    }
    if config.relay_operator_jwks.is_some() && config.relay_url.is_none() {
        return Err((
            "relay_operator_jwks".to_owned(),
            "only with relay_url: the embedded relay's trust list is this gateway's own".to_owned(),
        ));
    }
    if let Some(url) = &config.database_url {
        if !url.is_postgres() {
            return Err(("database_url".to_owned(), "must be a postgres:// URL; SQLite needs no URL".to_owned()));
        }
    }
    for (i, source) in config.sources.iter().enumerate() {
        let key = |field: &str| format!("sources[{i}].{field}");
        check_id(source.id()).map_err(|m| (key("id"), m))?;
        if config.sources[..i].iter().any(|s| s.id() == source.id()) {
            return Err((key("id"), format!("duplicate source id {:?}", source.id())));
        }
        if let SourceConfig::Http { base_url, auth, timeout_seconds, max_response_bytes, operations, .. } = source {
            check_url(base_url, false).map_err(|m| (key("base_url"), m))?;
            if let Some(HttpAuth::Oauth2ClientCredentials { token_url, .. }) = auth {
                check_url(token_url, false).map_err(|m| (key("auth.token_url"), m))?;
            }
            if *timeout_seconds == 0 {
                return Err((key("timeout_seconds"), "must be at least 1".to_owned()));
            }
            if *max_response_bytes == 0 {
                return Err((key("max_response_bytes"), "must be at least 1".to_owned()));
            }
            operations.check().map_err(|(field, m)| (key(&format!("operations.{field}")), m))?;
        }
        if let SourceConfig::Sql { url, max_connections, timeout_seconds, .. } = source {
            sql_source_config::check_url(url.expose()).map_err(|m| (key("url"), m))?;
            if !(1..=MAX_SQL_CONNECTIONS).contains(max_connections) {
                return Err((key("max_connections"), format!("must be 1 to {MAX_SQL_CONNECTIONS}")));
            }
            if *timeout_seconds == 0 {
                return Err((key("timeout_seconds"), "must be at least 1".to_owned()));
            }
        }
    }
    for (i, client) in config.portal_clients.iter().enumerate() {
        if client.id.trim().is_empty() {
            return Err((format!("portal_clients[{i}].id"), "must not be empty".to_owned()));
        }
        if config.portal_clients[..i].iter().any(|o| o.id == client.id) {
            return Err((format!("portal_clients[{i}].id"), format!("duplicate portal client id {:?}", client.id)));
        }
    }
    for (i, member) in config.staff.iter().enumerate() {
        if !is_staff_id(&member.id) {
            return Err((format!("staff[{i}].id"), "1 to 128 letters, digits, '.', '_', '-' or '@'".to_owned()));
        }
        if config.staff[..i].iter().any(|o| o.id == member.id) {
            return Err((format!("staff[{i}].id"), format!("duplicate staff id {:?}", member.id)));
        }
        let taken = config.staff[..i]
            .iter()
            .map(|o| &o.token_sha256)
            .chain(config.portal_clients.iter().map(|c| &c.token_sha256));
        if taken.into_iter().any(|d| d.matches(&member.token_sha256)) {
            return Err((
                format!("staff[{i}].token_sha256"),
                "every member and portal client needs a token of their own".to_owned(),
            ));
        }
    }
    let source_ids: Vec<&str> = config.sources.iter().map(SourceConfig::id).collect();
    config.register.check()?;
    let inventory = Inventory::new(config.categories.clone(), config.recipients.clone(), &source_ids)
        .map_err(|e| (e.key, e.message))?
        .with_language(config.language);
    for (i, source) in config.sources.iter().enumerate() {
        if let SourceConfig::Sql { id, url, queries, .. } = source {
            // The URL's scheme was checked above.
            let backend = SqlBackend::of_url(url.expose()).unwrap_or(SqlBackend::Postgres);
            sql_source_config::check_categories(id, queries, backend, &config.categories)
                .map_err(|(field, m)| (format!("sources[{i}].{field}"), m))?;
        }
    }
    Ok(inventory)
}

/// Longest staff id: the register names members `staff:<id>`.
pub const MAX_STAFF_ID_LEN: usize = 128;

/// True for a usable staff id, configured or taken from an identity provider's token:
/// 1 to 128 letters, digits, `.`, `_`, `-` or `@`.
pub(crate) fn is_staff_id(id: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    !id.is_empty() && id.len() <= MAX_STAFF_ID_LEN && id.chars().all(ok_char)
}

/// Accepts http(s) URLs; `https_only` for identifiers that must be https.
/// https, or http only to this machine (a provider or receiver in tests or beside the
/// gateway): who is staff, and what is told of people's requests, must not travel in the
/// clear.
fn check_https_or_loopback(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("{text:?} must be an https URL (http only on the loopback address)")),
    }
}

fn check_url(text: &str, https_only: bool) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if !https_only => Ok(()),
        _ if https_only => Err(format!("{text:?} must be an https URL")),
        _ => Err(format!("{text:?} must be an http or https URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        assert_eq!(default_listen().to_string(), DEFAULT_LISTEN);
    }
}

/// `[cors]`: the public documents are open to every origin; the portal routes only to
/// these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Web origins (`https://portal.example`) whose pages may call the portal routes from
    /// a browser; none by default.
    #[serde(default)]
    pub portal_origins: Vec<String>,
}

/// A web origin as browsers send it: `scheme://host[:port]`, http(s), nothing after.
fn check_origin(origin: &str) -> Result<(), String> {
    let url = url::Url::parse(origin).map_err(|e| format!("is not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() || !bare || origin.ends_with('/') {
        return Err("is not an origin: scheme://host[:port], nothing after".into());
    }
    Ok(())
}
