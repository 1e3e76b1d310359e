//! One provider, one place: a provider is named in product code only in its
//! own module and in the registry (`src/providers/mod.rs`), apart from the
//! files listed below, each with why. The providers come from the registry,
//! so a new one is held to the same rule without a change here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use reamaze_bridge::providers;

/// The product code: the core, the package's sources and the page's.
const PRODUCT: [&str; 3] = ["src", "pkg/src", "www/src"];

/// The registry, which lists every provider.
const REGISTRY: &str = "src/providers/mod.rs";

/// Files that may still name a provider, and why. Each must still name one:
/// an entry that no longer does is stale, and fails.
const EXCEPTIONS: [(&str, &str); 1] =
    [("src/lib.rs", "the crate's example: one Voice360 webhook through the whole bridge, as a reader writes it")];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every product file, by its path from the repository's root, with its text.
fn product() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    PRODUCT.iter().for_each(|dir| files(&root.join(dir), &mut paths));
    paths.sort();
    let text = |path: &Path| fs::read(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap();
    paths
        .iter()
        .map(|path| (path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"), text(path)))
        .collect()
}

/// Whether `path` is `provider`'s own module (`src/providers/<name>.rs` or
/// `src/providers/<name>/`).
fn own_module(path: &str, provider: &str) -> bool {
    path == format!("src/providers/{provider}.rs") || path.starts_with(&format!("src/providers/{provider}/"))
}

/// The product files that name `provider` in any case, outside its module
/// and the registry.
fn naming(product: &[(String, String)], provider: &str) -> BTreeSet<String> {
    let name = provider.to_lowercase();
    product
        .iter()
        .filter(|(path, text)| path != REGISTRY && !own_module(path, provider) && text.to_lowercase().contains(&name))
        .map(|(path, _)| path.clone())
        .collect()
}

#[test]
fn a_provider_is_named_only_in_its_module_and_the_registry() {
    let product = product();
    let allowed: BTreeSet<&str> = EXCEPTIONS.iter().map(|(path, _)| *path).collect();
    for provider in providers::ALL {
        let outside: Vec<String> =
            naming(&product, provider.name()).into_iter().filter(|path| !allowed.contains(path.as_str())).collect();
        assert!(outside.is_empty(), "{} is named outside its module and the registry: {outside:?}", provider.title());
    }
}

#[test]
fn every_exception_still_names_a_provider() {
    let product = product();
    for (path, why) in EXCEPTIONS {
        let names = providers::ALL.iter().any(|p| naming(&product, p.name()).contains(path));
        assert!(names, "{path} ({why}) names no provider any more: take it off the list");
    }
}

/// The finder finds: a file naming a provider in any case, outside its
/// module, is reported; its own module and the registry are not.
#[test]
fn the_finder_finds_a_name_in_any_case() {
    let product = vec![
        ("src/bridge/x.rs".to_string(), "// as BiRd says".to_string()),
        ("src/bridge/y.rs".to_string(), "// a b i r d".to_string()),
        ("src/providers/bird.rs".to_string(), "bird".to_string()),
        ("src/providers/bird/calls.rs".to_string(), "bird".to_string()),
        (REGISTRY.to_string(), "bird".to_string()),
        ("www/src/page.mjs".to_string(), "birdwatch".to_string()),
    ];
    let found: Vec<String> = naming(&product, "bird").into_iter().collect();
    assert_eq!(found, ["src/bridge/x.rs", "www/src/page.mjs"]);
}

#[test]
fn the_registry_lists_each_provider_once_with_its_own_scheme() {
    let names: BTreeSet<&str> = providers::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(names.len(), providers::ALL.len(), "a provider listed twice");
    let schemes: BTreeSet<&str> = providers::schemes().map(|s| s.name).collect();
    assert_eq!(schemes.len(), providers::ALL.len() + 1, "two providers share a scheme's name, or one is Re:amaze's");
    for provider in providers::ALL {
        assert_eq!(providers::Provider::named(provider.name()), Some(provider));
        assert!(provider.settings().first() == Some(&provider.secrets), "{provider}: its secrets' setting comes first");
        assert!(!provider.samples.is_empty(), "{provider}: the debugger needs a sample");
        for sample in provider.samples {
            let parsed = providers::Event::parse(provider, sample.json.as_bytes(), 32);
            assert!(parsed.is_ok(), "{provider}'s sample {}: {parsed:?}", sample.key);
            assert!(sample.key.starts_with(provider.name()), "{}: a sample's key starts with its provider", sample.key);
        }
    }
}

/// The text of a file of the repository.
fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The quoted names of a TypeScript union `export type <name> = 'a' | 'b';`.
fn union(types: &str, name: &str) -> Vec<String> {
    let start = types.find(&format!("export type {name} = ")).unwrap_or_else(|| panic!("no type {name}"));
    let line = types[start..].lines().next().unwrap();
    line.split('\'').skip(1).step_by(2).map(String::from).collect()
}

#[test]
fn the_package_types_list_the_registry() {
    let types = read("pkg/index.d.ts");
    let names: Vec<String> = providers::ALL.iter().map(|p| p.name().to_string()).collect();
    assert_eq!(union(&types, "Provider"), names, "pkg/index.d.ts's Provider");
    let schemes: Vec<String> = providers::schemes().map(|s| s.name.to_string()).collect();
    assert_eq!(union(&types, "Scheme"), schemes, "pkg/index.d.ts's Scheme");
}

/// The settings of what only the Worker has: a delivery queue. The
/// package's types and README leave them out.
const WORKER_ONLY: [&str; 3] = ["QUEUE_MAX_ATTEMPTS", "QUEUE_RETRY_BASE_SECONDS", "QUEUE_RETRY_MAX_SECONDS"];

#[test]
fn every_setting_is_documented_in_both_readmes_and_the_package_types() {
    let readme = read("README.md");
    let table = &readme[readme.find("## Settings").expect("the README's Settings section")..];
    let types = read("pkg/index.d.ts");
    let package_readme = read("pkg/README.md");
    let package_table = &package_readme[package_readme.find("## Settings").expect("pkg/README's Settings section")..];
    let own = reamaze_bridge::settings::names::ALL.into_iter();
    for name in own.chain(providers::declared().map(|d| d.name)) {
        assert!(table.contains(&format!("`{name}`")), "{name} is not in the README's settings table");
        if !WORKER_ONLY.contains(&name) {
            assert!(types.contains(name), "{name} is not in pkg/index.d.ts's Settings");
            assert!(package_table.contains(&format!("`{name}`")), "{name} is not in pkg/README's settings table");
        }
    }
}
