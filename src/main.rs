//! The `gdpr-gateway` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    gdpr_gateway::cli::main()
}
