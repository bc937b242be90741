//! `cargo run -p uniffi-bindgen -- generate --library <libgdpr_wallet.so> --language …`: the
//! generator pinned to the same UniFFI version as the library, so bindings and scaffolding
//! always match.

fn main() {
    uniffi::uniffi_bindgen_main()
}
