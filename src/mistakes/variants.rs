//! The variants of a request that senders sign by mistake: the body with
//! its line endings or byte-order mark changed, or re-serialized as common
//! JSON libraries write it; a signed URL with its scheme, host, slash, query
//! or port changed. JSON is written here as JavaScript's `JSON.stringify`
//! writes it, the usual re-serializer in front of a webhook.

use crate::json::{self, Node};

/// A body the sender may have signed instead of the one received.
pub(super) struct Variant {
    /// What differs, as "The body was signed with …" ends.
    pub what: String,
    /// For JSON written again: how ("with 2-space indentation").
    pub written: &'static str,
    pub bytes: Vec<u8>,
    /// The sender's JSON in another writing, where the body received is
    /// compact JSON as `JSON.stringify` writes it: the body was most likely
    /// parsed and written again on its way to the verifier.
    pub parsed_here: bool,
}

/// The body variants, each with what it is: none equal to `body`, and
/// none twice (the first named keeps bytes several writings give: a
/// compact body's final newline is one cause, not five).
pub(super) fn bodies(body: &[u8]) -> Vec<Variant> {
    const BOM: &[u8] = "\u{feff}".as_bytes();
    let plain = |what: &str, bytes: Vec<u8>| Variant { what: what.into(), bytes, written: "", parsed_here: false };
    let mut out = vec![plain("a trailing newline added", [body, b"\n"].concat())];
    if let Some(without) = body.strip_suffix(b"\r\n").or_else(|| body.strip_suffix(b"\n")) {
        out.push(plain("its final newline removed", without.to_vec()));
    }
    out.push(plain("CRLF line endings instead of LF", crlf(body)));
    if body.windows(2).any(|pair| pair == b"\r\n") {
        out.push(plain("LF line endings instead of CRLF", lf(body)));
    }
    match body.strip_prefix(BOM) {
        Some(without) => out.push(plain("without its byte-order mark (BOM)", without.to_vec())),
        None => out.push(plain("a byte-order mark (BOM) in front", [BOM, body].concat())),
    }
    let writings = reserialized(body);
    let compact_here = writings.first().is_some_and(|(_, compact)| compact.as_bytes() == body);
    out.extend(writings.into_iter().map(|(written, text)| Variant {
        what: format!("JSON re-serialized {written}"),
        written,
        bytes: text.into_bytes(),
        parsed_here: compact_here,
    }));
    distinct(out, body)
}

/// The variants whose bytes differ from `body` and from every variant
/// before them.
fn distinct(variants: Vec<Variant>, body: &[u8]) -> Vec<Variant> {
    let mut kept: Vec<Variant> = Vec::with_capacity(variants.len());
    for variant in variants {
        let seen = |bytes: &[u8]| bytes.len() == variant.bytes.len() && bytes == variant.bytes.as_slice();
        if !seen(body) && !kept.iter().any(|other| seen(&other.bytes)) {
            kept.push(variant);
        }
    }
    kept
}

/// Every line ending as CRLF.
fn crlf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 16);
    for (i, &byte) in body.iter().enumerate() {
        if byte == b'\n' && (i == 0 || body[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

/// Every CRLF as LF.
fn lf(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for (i, &byte) in body.iter().enumerate() {
        if !(byte == b'\r' && body.get(i + 1) == Some(&b'\n')) {
            out.push(byte);
        }
    }
    out
}

/// How JSON is written: indentation (none is compact), a final newline
/// (as files and pretty-printing senders end), keys sorted, `/` escaped
/// (PHP), everything outside ASCII escaped.
#[derive(Clone, Copy, Default)]
struct Style {
    indent: usize,
    newline: bool,
    sorted: bool,
    slashes: bool,
    ascii: bool,
}

/// The body parsed and written again in the usual ways; none if it is not
/// JSON.
fn reserialized(body: &[u8]) -> Vec<(&'static str, String)> {
    let Ok(value) = json::parse(body, json::PARSER_MAX_DEPTH) else { return Vec::new() };
    if widest_object(&value) > SORTED_MAX_KEYS {
        // Looking each key up is quadratic; no webhook has objects this wide.
        return Vec::new();
    }
    let compact = Style::default();
    let styles = [
        ("compactly (no spaces)", compact),
        ("compactly, with a final newline", Style { newline: true, ..compact }),
        ("with 2-space indentation", Style { indent: 2, ..compact }),
        ("with 2-space indentation and a final newline", Style { indent: 2, newline: true, ..compact }),
        ("with 4-space indentation", Style { indent: 4, ..compact }),
        ("with 4-space indentation and a final newline", Style { indent: 4, newline: true, ..compact }),
        ("with its keys sorted", Style { sorted: true, ..compact }),
        ("with escaped slashes (\\/), as PHP does", Style { slashes: true, ..compact }),
        ("with non-ASCII escaped (\\u00e9)", Style { ascii: true, ..compact }),
        ("as PHP json_encode does (escaped slashes and unicode)", Style { slashes: true, ascii: true, ..compact }),
    ];
    styles
        .into_iter()
        .map(|(what, style)| {
            let mut out = String::with_capacity(body.len() + 16);
            write(&value, style, 0, &mut out);
            if style.newline {
                out.push('\n');
            }
            (what, out)
        })
        .collect()
}

/// The widest object re-serialized: sorting looks each key up.
const SORTED_MAX_KEYS: usize = 1000;

fn widest_object(node: &Node) -> usize {
    match node {
        Node::Array(items) => items.iter().map(widest_object).max().unwrap_or(0),
        Node::Object(object) => {
            object.iter().map(|(_, v)| widest_object(v)).max().unwrap_or(0).max(object.iter().count())
        }
        _ => 0,
    }
}

fn write(node: &Node, style: Style, depth: usize, out: &mut String) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(n) => write_number(n, out),
        Node::String(s) => write_string(s, style, out),
        Node::Array(items) => {
            let items = items.iter().map(|item| (None, item)).collect();
            write_members(items, ('[', ']'), style, depth, out);
        }
        Node::Object(object) => {
            let members =
                if style.sorted { sorted(object) } else { object.iter().map(|(k, v)| (Some(k), v)).collect() };
            write_members(members, ('{', '}'), style, depth, out);
        }
    }
}

/// The members by key. (The keys are sorted as the strict reader sorts
/// them to find one given twice, and each looked up: the same sort, not a
/// second one in the wasm. An object has no key twice, so each is found.)
fn sorted(object: &json::Object) -> Vec<(Option<&str>, &Node)> {
    let mut keys: Vec<&str> = object.iter().map(|(key, _)| key).collect();
    keys.sort_unstable();
    keys.into_iter().filter_map(|key| Some((Some(key), object.get(key)?))).collect()
}

fn write_members(
    members: Vec<(Option<&str>, &Node)>,
    (open, close): (char, char),
    style: Style,
    depth: usize,
    out: &mut String,
) {
    out.push(open);
    let count = members.len();
    for (i, (key, value)) in members.into_iter().enumerate() {
        newline(style, depth + 1, out);
        if let Some(key) = key {
            write_string(key, style, out);
            out.push_str(if style.indent > 0 { ": " } else { ":" });
        }
        write(value, style, depth + 1, out);
        if i + 1 < count {
            out.push(',');
        }
    }
    if count > 0 {
        newline(style, depth, out);
    }
    out.push(close);
}

fn newline(style: Style, depth: usize, out: &mut String) {
    if style.indent > 0 {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', style.indent * depth));
    }
}

/// As JavaScript writes numbers: a whole number without a fraction.
fn write_number(n: &serde_json::Number, out: &mut String) {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 1e15 => {
            out.push_str(&(f as i64).to_string())
        }
        _ => out.push_str(&n.to_string()),
    }
}

fn write_string(text: &str, style: Style, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style.slashes => out.push_str("\\/"),
            c if u32::from(c) < 0x20 || (style.ascii && u32::from(c) >= 0x7f) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A signed URL with one part changed, each with what changed; none for a
/// URL that is not http(s).
pub(super) fn urls(url: &str) -> Vec<(String, String)> {
    let Some(parts) = Url::read(url) else { return Vec::new() };
    let mut out = Vec::new();
    let other_scheme = if parts.scheme == "https" { "http" } else { "https" };
    out.push((format!("the scheme {other_scheme}"), Url { scheme: other_scheme, ..parts }.text()));
    let host = match parts.host.strip_prefix("www.") {
        Some(bare) => bare.to_string(),
        None => format!("www.{}", parts.host),
    };
    out.push((format!("the host {host}"), Url { host: &host, ..parts }.text()));
    if parts.path.len() > 1 {
        let (what, path) = match parts.path.strip_suffix('/') {
            Some(bare) => ("no trailing slash", bare.to_string()),
            None => ("a trailing slash", format!("{}/", parts.path)),
        };
        out.push((what.to_string(), Url { path: &path, ..parts }.text()));
    }
    if !parts.query.is_empty() {
        out.push(("no query string".into(), Url { query: "", ..parts }.text()));
    }
    if !parts.port.is_empty() {
        out.push(("no port".into(), Url { port: "", ..parts }.text()));
    }
    out.retain(|(_, other)| other != url);
    out
}

/// An http(s) URL in its parts: `scheme://host[:port]path[?query][#rest]`
/// (`port` with its colon, `query` with its `?`).
#[derive(Clone, Copy)]
struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    port: &'a str,
    path: &'a str,
    query: &'a str,
    fragment: &'a str,
}

impl<'a> Url<'a> {
    fn read(url: &'a str) -> Option<Url<'a>> {
        let colon = url.find(':')?;
        let (scheme, rest) = (&url[..colon], url[colon + 1..].strip_prefix("//")?);
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return None;
        }
        let (rest, fragment) = rest.find('#').map_or((rest, ""), |at| rest.split_at(at));
        let (rest, query) = rest.find('?').map_or((rest, ""), |at| rest.split_at(at));
        let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let (host, port) = authority.rfind(':').map_or((authority, ""), |at| authority.split_at(at));
        (!host.is_empty()).then_some(Url { scheme, host, port, path, query, fragment })
    }

    fn text(&self) -> String {
        let path = if self.path.is_empty() { "/" } else { self.path };
        format!("{}://{}{}{path}{}{}", self.scheme, self.host, self.port, self.query, self.fragment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `JSON.stringify` writes of this body, printed by Node (v20) with
    /// the page's own re-serializations.
    #[test]
    fn json_is_written_as_javascript_writes_it() {
        let body = "{\"b\":[1,{\"x\":\"é/😀\"}],\"a\":1.0,\"c\":{},\"d\":[],\"e\":\"\\u0001\\n\"}";
        let written: Vec<String> = reserialized(body.as_bytes()).into_iter().map(|(_, text)| text).collect();
        assert_eq!(written[0], "{\"b\":[1,{\"x\":\"é/😀\"}],\"a\":1,\"c\":{},\"d\":[],\"e\":\"\\u0001\\n\"}");
        assert_eq!(
            written[2],
            "{\n  \"b\": [\n    1,\n    {\n      \"x\": \"é/😀\"\n    }\n  ],\n  \"a\": 1,\n  \"c\": {},\n  \"d\": [],\n  \"e\": \"\\u0001\\n\"\n}"
        );
        assert_eq!(written[6], "{\"a\":1,\"b\":[1,{\"x\":\"é/😀\"}],\"c\":{},\"d\":[],\"e\":\"\\u0001\\n\"}");
        assert_eq!(
            written[9],
            "{\"b\":[1,{\"x\":\"\\u00e9\\/\\ud83d\\ude00\"}],\"a\":1,\"c\":{},\"d\":[],\"e\":\"\\u0001\\n\"}"
        );
        assert!(reserialized(b"not json").is_empty());
    }

    #[test]
    fn signed_urls_change_one_part_each() {
        let changed = urls("https://bridge.example.com:8443/webhooks/stamped?env=prod");
        let texts: Vec<(&str, &str)> = changed.iter().map(|(what, url)| (what.as_str(), url.as_str())).collect();
        assert_eq!(
            texts,
            [
                ("the scheme http", "http://bridge.example.com:8443/webhooks/stamped?env=prod"),
                ("the host www.bridge.example.com", "https://www.bridge.example.com:8443/webhooks/stamped?env=prod"),
                ("a trailing slash", "https://bridge.example.com:8443/webhooks/stamped/?env=prod"),
                ("no query string", "https://bridge.example.com:8443/webhooks/stamped"),
                ("no port", "https://bridge.example.com/webhooks/stamped?env=prod"),
            ]
        );
        assert!(urls("mailto:someone").is_empty());
    }

    /// A compact body with no slash and nothing outside ASCII: compact,
    /// sorted, escaped-slash and escaped-Unicode writings are its own bytes,
    /// and its newline variants the same as the plain ones; none is kept.
    #[test]
    fn variants_differ_from_the_body_and_from_each_other() {
        for body in [&b"{\"a\":1,\"b\":\"x\"}"[..], b"{\"a\":1}\n", b"{\n  \"z\": \"a/\xc3\xa9\"\n}\n", b"a\r\nb"] {
            let variants = bodies(body);
            for (i, variant) in variants.iter().enumerate() {
                assert_ne!(variant.bytes, body, "{}", variant.what);
                assert!(variants[..i].iter().all(|other| other.bytes != variant.bytes), "{} twice", variant.what);
            }
        }
        let compact = bodies(b"{\"a\":1,\"b\":\"x\"}");
        assert!(!compact.iter().any(|variant| variant.what.contains("PHP") || variant.what.contains("compactly (no")));
    }

    proptest::proptest! {
        /// Over generated bodies: JSON-ish text with slashes, accents, emoji,
        /// CR, LF and a BOM in any order, and bytes that are not UTF-8.
        #[test]
        fn generated_bodies_give_distinct_variants(
            body in proptest::string::string_regex("(\u{feff})?[{}\\[\\]\"a:, /é😀\r\n0-9]{0,40}").unwrap(),
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
        ) {
            // The text as JSON too, compact and with a final newline, so the
            // writings are tried.
            let json = serde_json::json!({"b": [1, {"a/": body.clone()}], "a": body.clone()}).to_string();
            for body in [body.into_bytes(), raw, json.clone().into_bytes(), format!("{json}\n").into_bytes()] {
                let variants = bodies(&body);
                for (i, variant) in variants.iter().enumerate() {
                    proptest::prop_assert_ne!(&variant.bytes, &body, "{}", variant.what);
                    proptest::prop_assert!(variants[..i].iter().all(|other| other.bytes != variant.bytes), "{} twice", variant.what);
                }
            }
        }
    }

    #[test]
    fn line_endings_and_marks() {
        let names = |body: &[u8]| bodies(body).into_iter().map(|variant| variant.what).collect::<Vec<_>>();
        assert_eq!(
            names(b"a\r\nb\n"),
            [
                "a trailing newline added",
                "its final newline removed",
                "CRLF line endings instead of LF",
                "LF line endings instead of CRLF",
                "a byte-order mark (BOM) in front"
            ]
        );
        let crlf_body = bodies(b"a\nb\r\n").into_iter().find(|variant| variant.what.starts_with("CRLF")).unwrap().bytes;
        assert_eq!(crlf_body, b"a\r\nb\r\n");
    }
}
