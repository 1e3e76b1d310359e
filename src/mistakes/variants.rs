//! The variants of a request that senders sign by mistake: the body with
//! its line endings or byte-order mark changed, or re-serialized as common
//! JSON libraries write it; a signed URL with its scheme, host, slash, query
//! or port changed. JSON is written here as JavaScript's `JSON.stringify`
//! writes it, the usual re-serializer in front of a webhook.

use crate::json::{self, Node};

/// The body variants, each with what it is, none equal to `body`.
pub(super) fn bodies(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    const BOM: &[u8] = "\u{feff}".as_bytes();
    let mut out: Vec<(String, Vec<u8>)> = vec![("a trailing newline added".into(), [body, b"\n"].concat())];
    if let Some(without) = body.strip_suffix(b"\r\n").or_else(|| body.strip_suffix(b"\n")) {
        out.push(("its final newline removed".into(), without.to_vec()));
    }
    out.push(("CRLF line endings instead of LF".into(), crlf(body)));
    if body.windows(2).any(|pair| pair == b"\r\n") {
        out.push(("LF line endings instead of CRLF".into(), lf(body)));
    }
    match body.strip_prefix(BOM) {
        Some(without) => out.push(("without its byte-order mark (BOM)".into(), without.to_vec())),
        None => out.push(("a byte-order mark (BOM) in front".into(), [BOM, body].concat())),
    }
    out.extend(reserialized(body).into_iter().map(|(what, text)| (format!("JSON {what}"), text.into_bytes())));
    out.retain(|(_, variant)| variant != body);
    out
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

/// How JSON is written: indentation (none is compact), keys sorted, `/`
/// escaped (PHP), everything outside ASCII escaped.
#[derive(Clone, Copy, Default)]
struct Style {
    indent: usize,
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
        ("re-serialized compactly (no spaces)", compact),
        ("re-serialized with 2-space indentation", Style { indent: 2, ..compact }),
        ("re-serialized with 4-space indentation", Style { indent: 4, ..compact }),
        ("re-serialized with its keys sorted", Style { sorted: true, ..compact }),
        ("re-serialized with escaped slashes (\\/), as PHP does", Style { slashes: true, ..compact }),
        ("re-serialized with non-ASCII escaped (\\u00e9)", Style { ascii: true, ..compact }),
        (
            "re-serialized as PHP json_encode does (escaped slashes and unicode)",
            Style { slashes: true, ascii: true, ..compact },
        ),
    ];
    styles
        .into_iter()
        .map(|(what, style)| {
            let mut out = String::with_capacity(body.len() + 16);
            write(&value, style, 0, &mut out);
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
            written[1],
            "{\n  \"b\": [\n    1,\n    {\n      \"x\": \"é/😀\"\n    }\n  ],\n  \"a\": 1,\n  \"c\": {},\n  \"d\": [],\n  \"e\": \"\\u0001\\n\"\n}"
        );
        assert_eq!(written[3], "{\"a\":1,\"b\":[1,{\"x\":\"é/😀\"}],\"c\":{},\"d\":[],\"e\":\"\\u0001\\n\"}");
        assert_eq!(
            written[6],
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

    #[test]
    fn line_endings_and_marks() {
        let names = |body: &[u8]| bodies(body).into_iter().map(|(what, _)| what).collect::<Vec<_>>();
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
        let crlf_body = bodies(b"a\nb\r\n").into_iter().find(|(what, _)| what.starts_with("CRLF")).unwrap().1;
        assert_eq!(crlf_body, b"a\r\nb\r\n");
    }
}
