//! The shape of `src/`, held: modules depend one way (no cycle; a module
//! and its own submodules count as one), no core module names a shell, no
//! file is over 600 lines and no function over 80, and nothing is read by
//! serde's typed reading. See docs/architecture.md for the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The shells: the IO around the core. The core never names them.
const SHELLS: [&str; 2] = ["js", "worker"];
const MAX_FILE_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 80;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            (relative, fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// The top-level module a file of `src/` belongs to (`bridge/step.rs` is
/// `bridge`); `None` for the crate root and the binaries.
fn module_of(file: &str) -> Option<String> {
    if file == "lib.rs" || file.starts_with("bin/") {
        return None;
    }
    let first = file.split('/').next().unwrap();
    Some(first.trim_end_matches(".rs").to_string())
}

/// The top-level modules `text` names through `crate::`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name == "{" || name.is_empty() {
                // `crate::{a, b}`: each name in the braces.
                let inner = rest.trim_start_matches('{');
                let end = inner.find('}').unwrap_or(inner.len());
                for item in inner[..end].split(',') {
                    let item: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !item.is_empty() {
                        named.insert(item);
                    }
                }
            } else {
                named.insert(name);
            }
        }
    }
    named
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources().iter().filter_map(|(f, _)| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in sources() {
        let Some(module) = module_of(&file) else { continue };
        let named: Vec<String> =
            named_modules(&text).into_iter().filter(|n| modules.contains(n) && *n != module).collect();
        graph.entry(module).or_default().extend(named);
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_depend_one_way() {
    let graph = graph();
    assert!(graph.contains_key("bridge") && graph["bridge"].contains("providers"), "the graph is read: {graph:?}");
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
}

/// Within each folder of `src/`, which files name which siblings through
/// `super::` (the folder's `mod.rs`, their parent, aside).
fn sibling_graphs() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let sources = sources();
    for (file, text) in &sources {
        let Some((folder, name)) = file.rsplit_once('/') else { continue };
        let name = name.trim_end_matches(".rs");
        if name == "mod" || folder.starts_with("bin") {
            continue;
        }
        let is_sibling = |n: &str| n != name && sources.iter().any(|(f, _)| *f == format!("{folder}/{n}.rs"));
        let named = named_after(text, "super::").into_iter().filter(|n| is_sibling(n)).collect::<BTreeSet<_>>();
        folders.entry(folder.to_string()).or_default().insert(name.to_string(), named);
    }
    folders
}

/// The names that follow `prefix` in `text`'s code (not its comments).
fn named_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                named.insert(name);
            }
        }
    }
    named
}

/// No file imports, through its siblings, itself: the exchange's stages
/// answer through the traits of `bridge/step.rs`, which names none of them.
#[test]
fn the_files_of_a_module_depend_one_way() {
    let folders = sibling_graphs();
    assert!(folders["bridge"]["posting"].contains("step"), "the graph is read: {:?}", folders["bridge"]);
    for (folder, graph) in &folders {
        assert_eq!(find_cycle(graph), None, "src/{folder}: {graph:#?}");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    assert_eq!(named_modules("use crate::{http::Request, json};"), BTreeSet::from(["http".into(), "json".into()]));
}

#[test]
fn no_core_module_names_a_shell() {
    for (module, names) in graph() {
        if SHELLS.contains(&module.as_str()) {
            continue;
        }
        let shells: Vec<_> = names.iter().filter(|n| SHELLS.contains(&n.as_str())).collect();
        assert!(shells.is_empty(), "{module} names {shells:?}");
    }
}

/// The lines of `text`, before its tests, that read JSON into a type by
/// serde (a derived `Deserialize`, `from_value`, or a turbofish into
/// anything but `Value`). Each brings serde's error texts, and core's float
/// formatting with them, into the wasm builds (BENCHMARKS.md); what the
/// bridge reads whole is read from a `json::Object` member by member.
fn typed_reads(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let typed = |line: &str| {
        (line.contains("derive(") && line.contains("Deserialize"))
            || line.contains("serde_json::from_value")
            || ["from_str::<", "from_slice::<"].iter().any(|f| line.split(f).skip(1).any(|t| !t.starts_with("Value>")))
    };
    code.lines().filter(|line| typed(line)).map(|line| line.trim().to_string()).collect()
}

#[test]
fn nothing_is_read_by_serde_typed_reading() {
    let found: Vec<String> = sources()
        .iter()
        .filter(|(file, _)| !file.starts_with("bin/"))
        .flat_map(|(file, text)| typed_reads(text).into_iter().map(move |line| format!("{file}: {line}")))
        .collect();
    assert!(found.is_empty(), "typed serde reads: {found:#?}");
}

#[test]
fn typed_reads_are_found() {
    let sample = "#[derive(Debug, Deserialize)]\nlet a = serde_json::from_str::<f64>(t);\nlet v = serde_json::from_str::<Value>(t);\nlet q = serde_json::from_value(v);\n#[cfg(test)]\n#[derive(Deserialize)]";
    assert_eq!(typed_reads(sample).len(), 3, "{:?}", typed_reads(sample));
}

#[test]
fn files_and_functions_are_short() {
    let mut long = Vec::new();
    for (file, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            long.push(format!("{file}: {} lines", lines.len()));
        }
        for (name, start, length) in functions(&lines) {
            if length > MAX_FUNCTION_LINES {
                long.push(format!("{file}:{}: fn {name} has {length} lines", start + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines a file or {MAX_FUNCTION_LINES} a function:\n{}",
        long.join("\n")
    );
}

/// Each function's name, first line and length in lines, from `fn` to its
/// closing brace (braces counted; the sources keep them out of strings in
/// any number that matters).
fn functions(lines: &[&str]) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = function_name(line) else { continue };
        let mut depth = 0i32;
        let mut opened = false;
        for (offset, line) in lines[start..].iter().enumerate() {
            if !opened && line.trim_end().ends_with(';') && !line.contains('{') {
                break; // a declaration without a body
            }
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            opened |= line.contains('{');
            if opened && depth <= 0 {
                found.push((name.clone(), start, offset + 1));
                break;
            }
        }
    }
    found
}

fn function_name(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return None;
    }
    let at = trimmed.find("fn ")?;
    let before = &trimmed[..at];
    let qualifiers = ["pub", "pub(crate)", "pub(super)", "async", "const", "unsafe", "extern"];
    if !before.split_whitespace().all(|word| qualifiers.contains(&word)) {
        return None;
    }
    let name: String = trimmed[at + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}
