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
    list(&mut out, providers::schemes(), |out, s| members(out, &[(s.name, Some(s.header))]));
    out.push_str("},\"webhookPaths\":{");
    let paths = routes().filter_map(|(path, _, route)| Some((route.source()?, path)));
    list(&mut out, paths, |out, (source, path)| members(out, &[(source, Some(&path))]));
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
    members(
        out,
        &[
            ("name", Some(scheme.name)),
            ("title", Some(scheme.title)),
            ("header", Some(scheme.header)),
            ("encoding", Some(scheme.encoding.name())),
            ("prefix", scheme.prefix),
            ("timestampHeader", stamp.map(|stamp| stamp.header)),
            ("urlSetting", stamp.map(|stamp| stamp.url_setting)),
        ],
    );
    out.push_str(",\"window\":");
    match stamp {
        Some(_) => window(out),
        None => out.push_str("null"),
    }
    out.push('}');
}

fn provider(out: &mut String, provider: Provider) {
    out.push('{');
    members(
        out,
        &[
            ("name", Some(provider.name)),
            ("title", Some(provider.title)),
            ("scheme", Some(provider.scheme.name)),
            ("secretsSetting", Some(provider.secrets)),
        ],
    );
    out.push_str(",\"settings\":[");
    list(out, provider.settings.iter(), |out, name| string(out, name));
    out.push_str("],\"samples\":[");
    list(out, provider.samples.iter(), |out, sample| {
        out.push('{');
        members(out, &[("key", Some(sample.key)), ("label", Some(sample.label)), ("json", Some(sample.json))]);
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

/// `"key":"value"` for each pair (`null` for `None`), with commas between.
fn members(out: &mut String, pairs: &[(&str, Option<&str>)]) {
    list(out, pairs.iter(), |out, &(key, value)| {
        string(out, key);
        out.push(':');
        match value {
            Some(value) => string(out, value),
            None => out.push_str("null"),
        }
    });
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
