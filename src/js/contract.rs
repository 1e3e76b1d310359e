//! The HTTP contract as the package and the page read it (`contract()`):
//! each scheme and each provider as the core describes them, each route's
//! path by who calls it, and a stamped scheme's default window. Written out
//! by hand: serde's writer, derived or through `serde_json::Value`, added
//! 5 KiB or more to the package's wasm for this one call.

use std::fmt::Write;

use crate::bridge::routes;
use crate::providers::{self, Provider};
use crate::signature::{Scheme, Window};

/// The contract's JSON text.
pub(super) fn json() -> String {
    let mut out = String::from("{\"schemes\":[");
    list(&mut out, providers::schemes(), scheme);
    out.push_str("],\"providers\":[");
    list(&mut out, providers::ALL.iter().copied(), provider);
    out.push_str("],\"signatureHeaders\":{");
    list(&mut out, providers::schemes(), |out, s| member(out, s.name, s.header));
    out.push_str("},\"webhookPaths\":{");
    let paths = routes().filter_map(|(path, _, route)| Some((route.source()?, path)));
    list(&mut out, paths, |out, (source, path)| member(out, source, &path));
    out.push('}');
    // Each stamped scheme's default window also as `<name>Window`, the key
    // the package's contract has always had.
    for scheme in providers::schemes().filter(|s| s.stamp.is_some()) {
        out.push_str(",\"");
        out.push_str(scheme.name);
        out.push_str("Window\":");
        window(&mut out);
    }
    out.push('}');
    out
}

fn scheme(out: &mut String, scheme: &Scheme) {
    let stamp = scheme.stamp.as_ref();
    out.push('{');
    member(out, "name", scheme.name);
    out.push(',');
    member(out, "title", scheme.title);
    out.push(',');
    member(out, "header", scheme.header);
    out.push(',');
    member(out, "encoding", scheme.encoding.name());
    out.push(',');
    optional(out, "prefix", scheme.prefix);
    out.push(',');
    optional(out, "timestampHeader", stamp.map(|stamp| stamp.header));
    out.push(',');
    optional(out, "urlSetting", stamp.map(|stamp| stamp.url_setting));
    out.push_str(",\"window\":");
    match stamp {
        Some(_) => window(out),
        None => out.push_str("null"),
    }
    out.push('}');
}

fn provider(out: &mut String, provider: Provider) {
    out.push('{');
    member(out, "name", provider.name);
    out.push(',');
    member(out, "title", provider.title);
    out.push(',');
    member(out, "scheme", provider.scheme.name);
    out.push(',');
    member(out, "secretsSetting", provider.secrets);
    out.push_str(",\"settings\":[");
    list(out, provider.settings.iter(), |out, name| string(out, name));
    out.push_str("],\"samples\":[");
    list(out, provider.samples.iter(), |out, sample| {
        out.push('{');
        member(out, "key", sample.key);
        out.push(',');
        member(out, "label", sample.label);
        out.push(',');
        member(out, "json", sample.json);
        out.push('}');
    });
    out.push_str("]}");
}

fn window(out: &mut String) {
    let (age, future) = (Window::DEFAULT_MAX_AGE, Window::DEFAULT_MAX_FUTURE);
    write!(out, "{{\"maxAgeSeconds\":{age},\"maxFutureSeconds\":{future}}}").expect("a String takes any text");
}

/// Each item written by `write`, with commas between.
fn list<T>(out: &mut String, items: impl Iterator<Item = T>, mut write: impl FnMut(&mut String, T)) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
}

fn member(out: &mut String, key: &str, value: &str) {
    string(out, key);
    out.push(':');
    string(out, value);
}

fn optional(out: &mut String, key: &str, value: Option<&str>) {
    string(out, key);
    out.push(':');
    match value {
        Some(value) => string(out, value),
        None => out.push_str("null"),
    }
}

/// `text` as a JSON string. The contract's texts are the core's own
/// (names, headers, a sample's JSON): quotes and backslashes are escaped,
/// and any control character, though none is written today.
fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' => write!(out, "\\u{:04x}", c as u32).expect("a String takes any text"),
            c => out.push(c),
        }
    }
    out.push('"');
}
