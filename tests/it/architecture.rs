//! The shape of the code, checked: which modules may import which (docs/decisions.md §
//! Architecture), no circle between top-level modules, no file over the size limit, and no
//! two modules with the same name. Read from the source text, so a new import that breaks
//! a rule fails here before review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core: no server dependency, what the wallet SDK builds.
const CORE: &[&str] = &["clock", "calendar", "protocol", "jose", "bundle", "relay_client", "wallet"];
/// Longest source file, in lines.
const MAX_FILE_LINES: usize = 600;

struct Source {
    path: PathBuf,
    /// The top-level module the file belongs to (`gateway` for `src/gateway/pairing.rs`).
    module: String,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&root).unwrap();
                let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
                let module = first.trim_end_matches(".rs").to_owned();
                out.push(Source { text: std::fs::read_to_string(&path).unwrap(), path, module });
            }
        }
    }
    assert!(out.len() > 50, "only {} source files found", out.len());
    out
}

/// The top-level modules a file names as `crate::<module>` or in `crate::{a, b::c}`
/// groups (over several lines too), outside comments.
fn imports(source: &Source) -> BTreeSet<String> {
    let code: String = source.text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + 7..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => {
                // The group's own members (split at its top-level commas), up to its brace.
                let (mut depth, mut start, mut members) = (0usize, 0, Vec::new());
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth > 0 => depth -= 1,
                        ',' | '}' if depth == 0 => {
                            members.push(group[start..i].trim());
                            start = i + 1;
                            if c == '}' {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                members
            }
            None => vec![rest],
        };
        for name in names {
            let name: String = name.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != source.module {
                found.insert(name);
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources().iter().filter(|s| !["lib", "main"].contains(&s.module.as_str())) {
        graph.entry(source.module.clone()).or_default().extend(imports(source));
    }
    graph
}

#[test]
fn no_circle_between_top_level_modules() {
    let graph = graph();
    let reaches = |from: &str, to: &str| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.to_owned()]);
        while let Some(next) = todo.pop() {
            for dep in graph.get(&next).into_iter().flatten() {
                if dep == to {
                    return true;
                }
                if seen.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        false
    };
    for (module, deps) in &graph {
        for dep in deps {
            assert!(!reaches(dep, module), "{module} imports {dep}, which leads back to {module}");
        }
    }
}

#[test]
fn layers_import_only_what_they_may() {
    let server = ["api", "serve", "cli", "demo"];
    for source in sources() {
        let names = imports(&source);
        let uses = |m: &str| names.contains(m);
        let name = source.path.display();
        match source.module.as_str() {
            core if CORE.contains(&core) => {
                let outside: Vec<_> = names.iter().filter(|m| !CORE.contains(&m.as_str())).collect();
                assert!(outside.is_empty(), "core file {name} imports {outside:?}");
            }
            "gateway" => {
                assert!(!server.iter().any(|m| uses(m)) && !uses("relay"), "{name} imports the server or relay");
                let axum = source.text.lines().any(|l| !l.trim_start().starts_with("//") && l.contains("axum::"));
                assert!(!axum, "{name} uses axum: the domain knows no HTTP");
            }
            "relay" => assert!(!uses("api") && !uses("serve") && !uses("gateway"), "{name} imports the gateway"),
            "http" => assert!(!uses("api") && !uses("gateway") && !uses("relay"), "{name} imports a router"),
            "store" => assert!(!uses("gateway") && !uses("relay") && !uses("http"), "{name} imports its users"),
            _ => {}
        }
        if source.module == "protocol" {
            assert!(!uses("bundle"), "{name}: protocol must not import bundle (bundle imports protocol)");
        }
    }
}

#[test]
fn no_source_file_is_over_the_limit() {
    for source in sources() {
        let lines = source.text.lines().count();
        assert!(lines <= MAX_FILE_LINES, "{} has {lines} lines; split it by job", source.path.display());
    }
}

#[test]
fn no_two_modules_share_a_name() {
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for source in sources() {
        let stem = source.path.file_stem().unwrap().to_str().unwrap().to_owned();
        let name = if stem == "mod" {
            source.path.parent().unwrap().file_name().unwrap().to_str().unwrap().to_owned()
        } else {
            stem
        };
        if ["lib", "main"].contains(&name.as_str()) {
            continue;
        }
        if let Some(earlier) = seen.insert(name.clone(), source.path.clone()) {
            panic!("module {name:?} twice: {} and {}", earlier.display(), source.path.display());
        }
    }
}
