//! The HTTP vocabulary every layer shares, with no policy in it: a request
//! as received, the answer for its sender, a request the bridge makes
//! (`Delivery`) and what came of it (`DeliveryResult`).

use std::borrow::Cow;

use serde_json::Value;

/// Request headers, as a shell received them; names compare
/// case-insensitively. A header sent more than once reads as its values
/// joined by ", ", as the Fetch standard's `Headers.get` and Node's
/// `IncomingMessage` give it, so every shell shows the core the same text.
/// (The `http` crate's `HeaderMap` would do, but weighs on every wasm
/// build: BENCHMARKS.md.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The value of `name`; a header sent more than once gives its values
    /// joined by ", ". (Joined here rather than in `append`, so a request
    /// with thousands of headers costs one pass per header read.)
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let first = values.next()?;
        Some(match values.next() {
            None => Cow::Borrowed(first),
            Some(second) => Cow::Owned([first, second].into_iter().chain(values).collect::<Vec<_>>().join(", ")),
        })
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Headers(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// A request as received.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The full URL as received; a stamped scheme signs it (unless its URL
    /// setting names the public one).
    pub url: &'a str,
    pub headers: &'a Headers,
    pub body: &'a [u8],
}

/// The answer for the sender: a status and a small JSON body saying what
/// happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON answer; `body` is anything that serializes (a `Value`, or a
    /// struct that keeps its fields in order).
    pub fn json(status: u16, body: &impl serde::Serialize) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("answers serialize"),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (null when it is not): for tests and tools.
    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// An admin route's answer: never stored by a cache, never run or
    /// framed as a page (`pages::data_headers`).
    pub fn hardened(mut self) -> Response {
        self.headers.extend(crate::pages::data_headers());
        self
    }

    pub(crate) fn with_header(mut self, name: &str, value: Option<String>) -> Response {
        if let Some(value) = value {
            self.headers.push((name.into(), value));
        }
        self
    }
}

/// Where a delivery goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A message for a Re:amaze custom channel (`voice` or `sms`).
    Reamaze { channel: &'static str, message_id: String },
    /// One SMS part through the SMS provider's API (`sender` names it).
    Sms { sender: &'static str, part: usize, parts: usize },
    /// An operational alert to `ALERT_WEBHOOK_URL`, by its type.
    Alert { kind: &'static str },
}

impl Target {
    /// Who answers this delivery, as people name it.
    pub fn upstream(&self) -> &'static str {
        match self {
            Target::Reamaze { .. } => "Re:amaze",
            Target::Sms { sender, .. } => sender,
            Target::Alert { .. } => "the alert webhook",
        }
    }
}

/// An outbound HTTP request, ready to send as is: the signature covers
/// exactly `body`. Its `Debug` hides the SMS API's key.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    pub target: Target,
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The header that carries a secret itself (not a MAC of one).
pub const API_KEY_HEADER: &str = "X-API-Key";

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), if k.eq_ignore_ascii_case(API_KEY_HEADER) { "<redacted>" } else { v.as_str() }))
            .collect();
        f.debug_struct("Delivery")
            .field("target", &self.target)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// What came of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeliveryResult {
    /// The HTTP status, or `None` when no answer came (timeout, refused
    /// connection, DNS): always temporary.
    pub status: Option<u16>,
    /// The `Retry-After` header of the answer, as sent.
    pub retry_after: Option<String>,
    /// The answer's body (or its beginning), or the network error.
    pub body: String,
}

impl DeliveryResult {
    pub fn answered(status: u16, body: impl Into<String>) -> Self {
        DeliveryResult { status: Some(status), retry_after: None, body: body.into() }
    }

    pub fn unanswered(why: impl Into<String>) -> Self {
        DeliveryResult { status: None, retry_after: None, body: why.into() }
    }

    /// No answer within `timeout_ms` (`UPSTREAM_TIMEOUT_MS`).
    pub fn timed_out(target: &Target, timeout_ms: u64) -> Self {
        Self::unanswered(format!("{} did not answer within {timeout_ms} ms", target.upstream()))
    }

    /// The request could not be made (a refused connection, DNS).
    pub fn unreachable(target: &Target, why: &str) -> Self {
        Self::unanswered(format!("{} could not be reached: {why}", target.upstream()))
    }

    /// Whether a message posted to Re:amaze under its claim is delivered:
    /// the claim becomes the mark that makes a later copy a duplicate.
    /// Otherwise the claim is released, so a retry may post it. The same
    /// as `verdict` being `Accepted` for a Re:amaze target (a test holds
    /// them together); kept apart so the Worker's Claims object can settle
    /// a claim from a status alone.
    pub fn marks_delivered(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }

    /// Re:amaze: 2xx is success. The SMS API also says `"error": true` in
    /// a 2xx body when it did not send.
    pub fn verdict(&self, target: &Target) -> Verdict {
        match self.status {
            None => Verdict::Temporary,
            Some(200..=299) if matches!(target, Target::Sms { .. }) && self.says_error() => Verdict::Permanent,
            Some(200..=299) => Verdict::Accepted,
            Some(408 | 425 | 429 | 500..=599) => Verdict::Temporary,
            Some(_) => Verdict::Permanent,
        }
    }

    fn says_error(&self) -> bool {
        let answer = crate::json::parse_object(self.body.as_bytes(), 16);
        answer.is_ok_and(|object| matches!(object.get("error"), Some(crate::json::Node::Bool(true))))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Worth retrying: no answer, 408, 425, 429, 5xx.
    Temporary,
    /// Refused: do not retry unchanged.
    Permanent,
}

/// What a runtime's error says, without what it says of the runtime: its
/// first line, cut where a stack frame or a file path begins, at most 200
/// bytes. A shell passes every error text of its runtime through this
/// before handing it to the core, so no answer, log line or dead letter
/// carries a stack trace or a path.
pub fn plain(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let bytes = line.as_bytes();
    // A byte scan, not `str::find`: its two-way searcher weighs on the wasm builds.
    let starts = |at: usize| [&b" at "[..], b"file://", b" (/", b"\tat "].iter().any(|m| bytes[at..].starts_with(m));
    let mut cut = (0..bytes.len()).find(|&at| starts(at)).unwrap_or(bytes.len()).min(200);
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line[..cut].trim_end().to_string()
}
