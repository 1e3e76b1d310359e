//! How the bridge's two pages and its admin answers are served: the
//! signature debugger (`GET /`) and the operator console (`GET /admin`) each
//! carry a strict Content-Security-Policy that allows their own inline
//! script and style by hash, and nothing else loads; no page may frame
//! them; and the console and the admin routes, which show what strangers
//! sent (bodies that may hold customers' data), are never stored by a
//! cache.
//!
//! The Worker serves the pages as static assets: its build writes these
//! headers into the assets' `_headers` file, and the same policy into each
//! page's `<meta>` (for the debugger opened from a file). The npm package
//! serves the console with `headers` itself.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

/// One of the pages the bridge serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// The signature debugger, at `GET /`: it runs the core as WebAssembly
    /// and asks nothing of the network.
    Debugger,
    /// The operator console, at `GET /admin`: it asks this bridge's admin
    /// routes, and nothing else.
    Console,
}

/// Headers every admin answer and page carries: no sniffing a listing into
/// HTML, no referrer leaving with a token-bearing page's URL, no framing.
const HARDENED: [(&str, &str); 3] =
    [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")];

/// The policy of an answer that is data, not a page: nothing runs from it,
/// and nothing frames it.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

impl Page {
    pub fn named(name: &str) -> Option<Page> {
        match name {
            "debugger" => Some(Page::Debugger),
            "console" => Some(Page::Console),
            _ => None,
        }
    }

    /// The policy of `html`, this page's text as served: its inline scripts
    /// and styles by hash. `frame-ancestors` is left out of a `<meta>`
    /// policy (`for_meta`), where browsers ignore it and say so.
    pub fn policy(self, html: &str, for_meta: bool) -> String {
        let scripts = hashes(html, "script");
        let styles = hashes(html, "style");
        let mut policy = format!("default-src 'none'; script-src {scripts}");
        if self == Page::Debugger {
            // The core is compiled from the bytes the script carries.
            policy.push_str(" 'wasm-unsafe-eval'");
        }
        policy.push_str(&format!("; style-src {styles}"));
        if self == Page::Debugger {
            policy.push_str("; img-src data:");
        }
        policy.push_str("; connect-src 'self'; form-action 'none'; base-uri 'none'");
        if !for_meta {
            policy.push_str("; frame-ancestors 'none'");
        }
        policy
    }

    /// Every header the page is served with, its type first.
    pub fn headers(self, html: &str) -> Vec<(String, String)> {
        // The console shows refused bodies once loaded, and its token's
        // page is nobody's to keep; the debugger holds nothing, but is
        // checked for a newer build on every visit.
        let cache = if self == Page::Console { "no-store" } else { "no-cache" };
        let mut headers = vec![
            ("Content-Type".to_string(), "text/html; charset=utf-8".to_string()),
            ("Content-Security-Policy".to_string(), self.policy(html, false)),
            ("Cache-Control".to_string(), cache.to_string()),
        ];
        headers.extend(HARDENED.iter().map(|&(name, value)| (name.to_string(), value.to_string())));
        headers
    }
}

/// The headers an admin route's answer adds to its own: never stored, and
/// never run or framed as a page.
pub fn data_headers() -> impl Iterator<Item = (String, String)> {
    let policy = [("Cache-Control", "no-store"), ("Content-Security-Policy", DATA_POLICY)];
    policy.into_iter().chain(HARDENED).map(|(name, value)| (name.to_string(), value.to_string()))
}

/// The CSP sources of every inline `<tag>` element in `html` (written
/// without attributes, as the pages' templates and build write them), or
/// `'none'` where there is none.
fn hashes(html: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut sources = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let inner = &rest[start + open.len()..];
        let Some(end) = inner.find(&close) else { break };
        sources.push(format!("'sha256-{}'", BASE64.encode(Sha256::digest(&inner.as_bytes()[..end]))));
        rest = &inner[end + close.len()..];
    }
    if sources.is_empty() {
        return "'none'".into();
    }
    sources.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash of a script as `echo -n 'alert(1)' | openssl dgst -sha256
    /// -binary | base64` gives it.
    #[test]
    fn inline_scripts_and_styles_are_allowed_by_hash_and_nothing_else() {
        let html = "<style>p{}</style><script>alert(1)</script><script>x()</script>";
        let policy = Page::Console.policy(html, false);
        assert!(
            policy.contains("script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' 'sha256-"),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none'; "), "{policy}");
        assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("wasm"), "{policy}");
        assert!(Page::Debugger.policy(html, false).contains("'wasm-unsafe-eval'"));
        assert!(!Page::Debugger.policy(html, true).contains("frame-ancestors"), "ignored in a <meta>");
        assert!(Page::Console.policy("<p>no script</p>", true).contains("script-src 'none'"));
    }
}
