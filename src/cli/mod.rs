//! The command line: `serve`, `relay`, `demo`, `keys`, `verify`, `check-config` and `openapi`. Exit codes:
//! 0 success, 1 failure (the reason on stderr), 2 usage error.

mod audit_command;
mod issuer_discovery;
mod keys_command;
mod relay_command;
mod trust_list_command;
mod verify_command;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, DatabaseUrl, Loaded, Overrides, SourceConfig};
use crate::inventory::processing_register::ProcessingRegister;
use crate::serve;

#[derive(Debug, Parser)]
#[command(name = "gdpr-gateway", version, about = "Signed, verifiable GDPR data portability for your customers.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway. Without --config it runs the built-in demo.
    Serve(ConfigArgs),
    /// Manage the controller's signing and encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify a signed bundle (compact JWS or zip package) or receipt: exit 0 valid, 1 checked
    /// and invalid (reason on stderr), 2 could not check (usage or I/O error, a truncated zip,
    /// a file that is no package).
    Verify {
        /// A bundle (a compact JWS `.jwt`, or a zip package) or a receipt (`.jwt`).
        file: PathBuf,
        /// The issuer's JWKS, or its signed key history (`keys export-history`): a file or an
        /// http(s) URL such as https://gateway.example/.well-known/jwks.json
        #[arg(
            long,
            value_name = "FILE_OR_URL",
            required_unless_present_any = ["trust_list", "issuer_discovery"],
            conflicts_with_all = ["trust_list", "issuer_discovery"]
        )]
        jwks: Option<String>,
        /// A signed trust list (file or URL): the issuer's keys are taken from its entry.
        #[arg(long, value_name = "FILE_OR_URL", requires = "operator_jwks", conflicts_with = "issuer_discovery")]
        trust_list: Option<String>,
        /// The trust framework operator's JWKS, pinned, to check the trust list's signature.
        #[arg(long, value_name = "FILE_OR_URL", requires = "trust_list")]
        operator_jwks: Option<String>,
        /// Find the issuer's keys from the bundle's `iss` by the key discovery rule: the
        /// discovery document at {iss}/.well-known/gdpr-gateway, whose id must be `iss`, and
        /// the JWKS it names (docs/bundle-format.md § Key discovery).
        #[arg(long)]
        issuer_discovery: bool,
        /// Judge the keys as of this moment (RFC 3339), as a verifier with archived keys
        /// does years later: the trust list must have been valid then, and what is checked
        /// signed by then. Default: now.
        #[arg(long, value_name = "TIME", value_parser = parse_instant)]
        at: Option<u64>,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run the trust framework's relay on its own, serving a trust list signed elsewhere.
    Relay(relay_command::RelayArgs),
    /// See the product in one minute: two organisations, a relay and a wallet in this
    /// process; pair by QR code, download, verify, forward, import, and correct an address
    /// with a signed receipt.
    Demo {
        /// Where the downloaded bundle and what verifies it are written.
        #[arg(long, value_name = "DIR", default_value = "demo-out")]
        out: PathBuf,
        /// Do not tell the story: keep the relay and both organisations running until
        /// Ctrl-C, and print their URLs and portal tokens as one JSON line.
        #[arg(long)]
        serve: bool,
    },
    /// Check a config file and exit: 0 when it is valid. Warns about what the art. 30
    /// register lacks; fails while a recipient has no sharing assessment.
    CheckConfig {
        #[command(flatten)]
        config: ConfigArgs,
        /// Accept recipients without a sharing assessment (a first run), with a warning.
        #[arg(long)]
        allow_unassessed: bool,
    },
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Keep a trust framework's list, as its operator: keys, entries, signing.
    #[command(subcommand)]
    TrustList(trust_list_command::TrustListCommand),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List keys: kid, curve, creation time, and which are active.
    List {
        #[command(flatten)]
        config: KeyArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create new active keys; old ones stay published as verify-only. Restart every
    /// instance within 7 days to use them: the old signing key is valid for that long.
    Rotate(KeyArgs),
    /// Write the signed key history (every signing key with its period of use), for a
    /// verifier to archive beside the bundles it keeps.
    ExportHistory {
        #[command(flatten)]
        config: KeyArgs,
        /// Write it here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Re-walk the audit trail and check its signed checkpoints: exit 0 intact, 1 tampered
    /// (the first entry edited, removed, inserted or reordered, on stderr), 2 usage or I/O
    /// error.
    Verify {
        #[command(flatten)]
        config: ConfigArgs,
        /// A checkpoint a witness kept (`audit.checkpoint` webhook): the chain must hold its
        /// hash at its entry, so a chain rewritten whole no longer agrees with it.
        #[arg(long, value_name = "FILE")]
        from_checkpoint: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// Config file (TOML). Without it: the built-in demo.
    #[arg(long, env = "GDPR_GATEWAY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [env: GDPR_GATEWAY_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory [env: GDPR_GATEWAY_DATA_DIR] [default: ./gdpr-gateway-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL instead of the embedded SQLite [env: GDPR_GATEWAY_DATABASE_URL]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Base URL wallets, portals and verifiers reach this gateway at, put in QR codes and
    /// links [env: GDPR_GATEWAY_PUBLIC_URL] [default: http://<listen address>]
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// What the `keys` commands need: where the keys are (the data dir, from the config or the
/// flag) and, for the history, the controller id. No address, no database.
#[derive(Debug, Args)]
struct KeyArgs {
    /// Config file (TOML). Without it: the built-in demo.
    #[arg(long, env = "GDPR_GATEWAY_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory [env: GDPR_GATEWAY_DATA_DIR] [default: ./gdpr-gateway-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl KeyArgs {
    fn load(&self) -> Result<Loaded, config::ConfigError> {
        let overrides = Overrides { data_dir: self.data_dir.clone(), ..Overrides::default() };
        config::load(self.config.as_deref(), crate::config::builtin_demo::CONFIG, std::env::vars(), overrides)
    }
}

impl ConfigArgs {
    fn load(&self) -> Result<Loaded, config::ConfigError> {
        let overrides = Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone().map(DatabaseUrl::new),
            public_url: self.public_url.clone(),
        };
        config::load(self.config.as_deref(), crate::config::builtin_demo::CONFIG, std::env::vars(), overrides)
    }
}

/// An RFC 3339 time, as Unix seconds.
fn parse_instant(text: &str) -> Result<u64, String> {
    crate::calendar::Date::parse_instant(text).ok_or_else(|| format!("{text:?} is not an RFC 3339 time"))
}

/// Runs the command line; the binary's `main` is only this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo narrates on stdout; only trouble goes to the log.
    let quiet = matches!(cli.command, Command::Demo { .. });
    init_logging(if quiet { tracing::Level::WARN } else { tracing::Level::INFO });
    let result = match cli.command {
        Command::Verify { file, jwks, trust_list, operator_jwks, issuer_discovery, at, json } => {
            let source = match (&jwks, &trust_list, &operator_jwks) {
                _ if issuer_discovery => verify_command::KeySource::IssuerDiscovery,
                (Some(jwks), _, _) => verify_command::KeySource::Jwks(jwks),
                (None, Some(list), Some(operator_jwks)) => verify_command::KeySource::TrustList { list, operator_jwks },
                // clap enforces one of the two forms.
                _ => return ExitCode::from(2),
            };
            return verify_command::run(&file, source, json, at);
        }
        Command::Serve(args) => serve(&args),
        Command::Relay(args) => relay_command::run(args),
        Command::Demo { out, serve } => demo(&out, serve),
        Command::Keys(KeysCommand::List { config, json }) => keys_command::list(&config, json),
        Command::Keys(KeysCommand::Rotate(config)) => keys_command::rotate(&config),
        Command::Keys(KeysCommand::ExportHistory { config, out }) => {
            keys_command::export_history(&config, out.as_deref())
        }
        Command::CheckConfig { config, allow_unassessed } => check_config(&config, allow_unassessed),
        Command::TrustList(command) => trust_list_command::run(command),
        Command::Audit(AuditCommand::Verify { config, from_checkpoint }) => {
            return match config.load() {
                Ok(loaded) => audit_command::verify(loaded, from_checkpoint.as_deref()),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Openapi => serde_json::to_string_pretty(&crate::serve::openapi())
            .map(|json| println!("{json}"))
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default: tracing::Level) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("GDPR_GATEWAY_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(default).with_target("sqlx", tracing::Level::WARN));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(filter),
        )
        .init();
}

fn serve(args: &ConfigArgs) -> Result<(), String> {
    let loaded = args.load().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let listen = loaded.config.listen;
        let data_dir = loaded.config.data_dir.clone();
        let backend = loaded.config.database_url.as_ref().map_or_else(|| "SQLite".to_owned(), |u| format!("PostgreSQL at {u}"));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let listener = serve::bind(listen).await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let prepared = serve::prepare(loaded, clock, addr).await.map_err(|e| e.to_string())?;
        tracing::info!(data_dir = %data_dir.display(), store = %backend, kid = prepared.gateway().keyring().active_signing().kid(), "gdpr-gateway ready");
        if let Some(token) = &prepared.demo_token {
            tracing::warn!(
                "DEMO MODE: built-in inventory and demo data (subjects alice and bob); pass --config FILE for real use. \
                 Portal API token: {}",
                token.display()
            );
        }
        // Tests and scripts read this line to find the port when listening on :0.
        tracing::info!("listening on http://{addr}");
        serve::run(listener, prepared, serve::shutdown_signal()).await.map_err(|e| format!("HTTP server failed: {e}"))
    })
}

fn demo(out: &std::path::Path, keep_serving: bool) -> Result<(), String> {
    let work = tempfile::Builder::new().prefix("gdpr-gateway-demo").tempdir().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let started = std::time::Instant::now();
    let mut stdout = std::io::stdout();
    if keep_serving {
        return runtime.block_on(crate::demo::story::serve(&mut stdout, work.path(), serve::shutdown_signal()));
    }
    runtime.block_on(crate::demo::story::run(&mut stdout, work.path(), out))?;
    println!("\nThe whole story took {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// Loads and checks a config as `serve` would, without starting: the file, and each source
/// as set up (a file source's directory must exist). Then what the organisation must still
/// record: sharing assessments (an error) and the art. 30 register's empty fields (warnings).
fn check_config(args: &ConfigArgs, allow_unassessed: bool) -> Result<(), String> {
    let loaded = args.load().map_err(|e| e.to_string())?;
    let config = &loaded.config;
    let connectors = crate::connectors::Connectors::from_config(&config.sources).map_err(|e| e.to_string())?;
    for warning in crate::gateway::check_source_retention(&connectors, &loaded.inventory)? {
        eprintln!("warning: {warning}");
    }
    let source_name = |id: &str| config.sources.iter().find(|s| s.id() == id).map(SourceConfig::name);
    let register = ProcessingRegister::new(&config.controller, &config.register, &loaded.inventory, source_name);
    for gap in &register.gaps {
        eprintln!("warning: {gap}");
    }
    let unassessed = loaded.inventory.unassessed();
    if !unassessed.is_empty() {
        let lines: Vec<String> = unassessed.iter().map(ToString::to_string).collect();
        if !allow_unassessed {
            return Err(format!("{}\n(--allow-unassessed accepts this for a first run)", lines.join("\n")));
        }
        for line in lines {
            eprintln!("warning: {line}");
        }
    }
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let categories = count(loaded.inventory.categories().len(), "category", "categories");
    let sources = count(loaded.config.sources.len(), "source", "sources");
    println!("{}: valid ({categories}, {sources})", loaded.origin);
    Ok(())
}
