//! The fuzz targets' corpora (`fuzz/corpus/<target>/`), replayed on stable: every input
//! libFuzzer kept for its coverage must still be refused or accepted without a panic. The
//! fuzzing itself runs on nightly (`fuzz/`, `docs/security.md`).

use std::path::Path;

#[test]
fn every_corpus_input_is_handled_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, target) in gdpr_gateway::fuzzing::TARGETS {
        let dir = root.join(name);
        let mut replayed = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let input = std::fs::read(entry.unwrap().path()).unwrap();
            target(&input);
            replayed += 1;
        }
        assert!(replayed > 0, "no corpus for {name}");
    }
}
