//! The `gdpr-gateway` binary run as a child process, as an operator runs it: started on
//! 127.0.0.1:0 and read until it says where it listens, stopped by SIGTERM, or killed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gdpr-gateway");
/// How long a starting gateway may take before the test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd).env("GDPR_GATEWAY_LOG", "info");
    // The developer's own environment must not leak into the binary under test.
    for (key, _) in std::env::vars() {
        if key.starts_with("GDPR_GATEWAY_") && key != "GDPR_GATEWAY_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A running `serve`; killed on drop.
pub struct Running {
    child: Child,
    pub url: String,
    /// Log lines up to and including the "listening on" line.
    pub startup: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Running {
    pub fn start(cwd: &Path, extra: &[&str]) -> Self {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::spawn(cwd, &args)
    }

    /// Runs the binary with `args` until it logs the address it listens on.
    pub fn spawn(cwd: &Path, args: &[&str]) -> Self {
        let mut child = command(cwd, args).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if let Some(at) = line.find("listening on http://") {
                let url = line[at + "listening on ".len()..].trim().to_owned();
                seen.push(line);
                return Self { child, url, startup: seen.join("\n"), log: rx };
            }
            seen.push(line);
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("gateway did not start:\n{}", seen.join("\n"));
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async { reqwest::get(format!("{}{path}", self.url)).await.unwrap().json().await.unwrap() })
    }

    /// Sends SIGTERM and returns the exit status and the remaining log.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.log.try_iter().collect();
        (status, rest.join("\n"))
    }
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL: no shutdown, no flush, as a crash or the OOM killer.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
