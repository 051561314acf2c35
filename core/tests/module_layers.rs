//! core's top-level modules form layers: no module reaches, through the modules it uses, back to
//! itself. `raft` and `peer` know nothing of `member`, `client` nothing of `member`, so each can
//! be read (and replaced) without the ones above it. A `use crate::x` that closes a cycle fails
//! here, naming the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// For each top-level module, the modules its code names (`crate::name`), with one place each.
fn uses(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files
                .extend(std::fs::read_dir(&path).expect("readable dir").map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).expect("under src");
        let first = relative.components().next().expect("a component");
        let module = first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let name: String = code[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let is_module = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                if is_module && name != module {
                    let place = format!("{}:{}", relative.display(), number + 1);
                    uses.entry(module.clone()).or_default().entry(name).or_insert(place);
                }
            }
        }
    }
    uses
}

/// A path of uses from `from` back to `to`, if any.
fn path_back(
    uses: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    for (next, place) in uses.get(from).into_iter().flatten() {
        if next == to {
            return Some(vec![format!("{from} -> {next} ({place})")]);
        }
        if seen.insert(next.clone()) {
            if let Some(mut rest) = path_back(uses, next, to, seen) {
                rest.insert(0, format!("{from} -> {next} ({place})"));
                return Some(rest);
            }
        }
    }
    None
}

#[test]
fn no_module_of_core_uses_itself_through_others() {
    let uses = uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(uses.contains_key("member") && uses.contains_key("raft"), "the scan found core");
    for module in uses.keys() {
        if let Some(cycle) = path_back(&uses, module, module, &mut BTreeSet::new()) {
            panic!("an import cycle through {module}:\n  {}", cycle.join("\n  "));
        }
    }
}

#[test]
fn raft_peer_and_client_know_nothing_of_member() {
    let uses = uses(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for module in ["raft", "peer", "client"] {
        let used = uses.get(module).cloned().unwrap_or_default();
        assert!(!used.contains_key("member"), "{module} uses member at {:?}", used.get("member"));
    }
}
