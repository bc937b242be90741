//! The `[server]` section: the HTTP server's deadlines, connection cap and shutdown grace,
//! with defaults that hold without configuration.

use serde::Deserialize;

pub(super) const DEFAULT_HEADER_TIMEOUT_SECONDS: u64 = 20;
pub(super) const DEFAULT_BODY_TIMEOUT_SECONDS: u64 = 30;
pub(super) const DEFAULT_MAX_CONNECTIONS: usize = 4096;
pub(super) const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 10;

/// Most connections the cap may be set to.
pub(super) const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;
/// Longest any of the server's deadlines may be set to.
pub(super) const MAX_DEADLINE_SECONDS: u64 = 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection is kept.
    pub header_timeout_seconds: u64,
    /// Seconds a request body may pause between chunks.
    pub body_timeout_seconds: u64,
    /// Connections open at once; more wait until one closes.
    pub max_connections: usize,
    /// Seconds requests in flight may still take after SIGTERM before they are cut.
    pub shutdown_grace_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout_seconds: DEFAULT_HEADER_TIMEOUT_SECONDS,
            body_timeout_seconds: DEFAULT_BODY_TIMEOUT_SECONDS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace_seconds: DEFAULT_SHUTDOWN_GRACE_SECONDS,
        }
    }
}

impl ServerConfig {
    /// The first key out of range, with what it must be.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        let deadlines = [
            ("server.header_timeout_seconds", self.header_timeout_seconds),
            ("server.body_timeout_seconds", self.body_timeout_seconds),
            ("server.shutdown_grace_seconds", self.shutdown_grace_seconds),
        ];
        for (key, seconds) in deadlines {
            if !(1..=MAX_DEADLINE_SECONDS).contains(&seconds) {
                return Err((key.to_owned(), format!("must be 1 to {MAX_DEADLINE_SECONDS} seconds")));
            }
        }
        if !(1..=MAX_CONNECTIONS_LIMIT).contains(&self.max_connections) {
            return Err(("server.max_connections".to_owned(), format!("must be 1 to {MAX_CONNECTIONS_LIMIT}")));
        }
        Ok(())
    }
}
