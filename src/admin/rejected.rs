//! Refused webhooks, kept for operators: what was received (the headers the
//! bridge reads, the body), what the bridge answered, and, when listed, the
//! likely cause, named by the debugger's mistake-finder (`mistakes`).
//!
//! The cause is found when the records are listed, not when a request is
//! refused: finding it signs variants of the request, and a refused request
//! must cost no more than its refusal (anyone can send one).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Serialize;

use crate::http::{Request, Response};
use crate::json::{self, required, JsonError, Object};
use crate::mistakes::{self, Cause, Checked};
use crate::providers::{self, Event};
use crate::settings::Settings;
use crate::signature::{Scheme, Signed, VerifyError};
use crate::store::{keys, Entry};
use crate::time;

/// How long a record is kept.
pub const REJECTED_TTL: u64 = 7 * 86_400;
/// The most of a body kept: enough for any call event; a transcript is
/// kept in part, and then not analysed.
pub const BODY_KEPT: usize = 64 * 1024;
/// The bytes the finder may hash for one record's variants when they are
/// listed (beyond checking the record as received, which a kept body of at
/// most 64 KiB bounds).
const CAUSE_BUDGET: usize = 2 << 20;

/// One refused webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub id: String,
    /// When, in Unix seconds, and as people read it.
    pub at: i64,
    pub time: String,
    pub method: String,
    pub route: String,
    /// The URL the signature was checked against (a stamped scheme signs it).
    pub url: String,
    /// The scheme the route is signed with, if it is a webhook route.
    pub scheme: Option<&'static str>,
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The headers the bridge reads, as received.
    pub headers: Vec<[String; 2]>,
    /// The body as received, up to `BODY_KEPT`, as text; and, where that
    /// text is not the very bytes (a body that is not UTF-8), the bytes in
    /// base64, for the causes and the debugger.
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub body_bytes: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
    /// The likely causes, found when the records are listed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// The event the body is, and the call it is of, read from the body
    /// when the records are listed (for the operator, who knows calls, not
    /// record ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The signature as received, and its timestamp where the scheme signs
    /// one, told apart when the records are listed (for the console's link
    /// to the debugger, which knows no scheme's headers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

/// What a refusal answered, from the answer's own JSON.
pub struct Answer<'a> {
    pub status: u16,
    pub code: &'a str,
    pub body: &'a [u8],
}

impl Rejected {
    /// The record of `request`, refused with `answer`: its signature was
    /// checked against `url` with `scheme`, from the headers named
    /// `signed_by` (the scheme's, and its timestamp's if it signs one).
    pub fn of(
        request: &Request,
        signed_by: &[&str],
        url: &str,
        scheme: Option<&Scheme>,
        answer: Answer,
        now: i64,
    ) -> Rejected {
        let headers: Vec<[String; 2]> = signed_by
            .iter()
            .filter_map(|&name| Some([name.to_string(), request.headers.get(name)?.into_owned()]))
            .collect();
        let kept = &request.body[..request.body.len().min(BODY_KEPT)];
        let (body, body_base64) = match std::str::from_utf8(kept) {
            Ok(text) => (text.to_string(), None),
            Err(_) => (String::from_utf8_lossy(kept).into_owned(), Some(BASE64.encode(kept))),
        };
        let message = json::parse_object(answer.body, 4)
            .ok()
            .and_then(|o| o.string("message", "message").ok().flatten().map(String::from));
        let id = id_of(request, &headers, now);
        Rejected {
            id,
            at: now,
            time: time::unix_to_iso(now).unwrap_or_default(),
            method: request.method.to_string(),
            route: request.path.to_string(),
            url: url.to_string(),
            scheme: scheme.map(|scheme| scheme.name),
            status: answer.status,
            code: answer.code.to_string(),
            message: message.unwrap_or_default(),
            headers,
            body,
            body_base64,
            body_bytes: request.body.len(),
            body_truncated: kept.len() < request.body.len(),
            causes: Vec::new(),
            event: None,
            call: None,
            signature: None,
            timestamp: None,
        }
    }

    /// The store entry that keeps it.
    pub fn entry(&self) -> Entry {
        let value = serde_json::to_string(self).expect("a record serializes");
        Entry { key: keys::rejected(self.at, &self.id), value, ttl_seconds: REJECTED_TTL }
    }

    /// A record as `entry` wrote it.
    pub fn read(text: &str) -> Result<Rejected, JsonError> {
        let object = json::parse_object(text.as_bytes(), 4)?;
        let text = |key: &str| object.string(key, key).map(|s| s.unwrap_or_default().to_string());
        let number = |key: &str| required(object.integer(key, key)?, key);
        let flag = |key: &str| matches!(object.get(key), Some(json::Node::Bool(true)));
        let scheme = object.string("scheme", "scheme")?.and_then(providers::scheme);
        Ok(Rejected {
            id: text("id")?,
            at: number("at")?,
            time: text("time")?,
            method: text("method")?,
            route: text("route")?,
            url: text("url")?,
            scheme: scheme.map(|scheme| scheme.name),
            status: u16::try_from(number("status")?).unwrap_or(0),
            code: text("code")?,
            message: text("message")?,
            headers: header_pairs(&object)?,
            body: text("body")?,
            body_base64: object.string("body_base64", "body_base64")?.map(String::from),
            body_bytes: usize::try_from(number("body_bytes")?).unwrap_or(0),
            body_truncated: flag("body_truncated"),
            causes: Vec::new(),
            event: None,
            call: None,
            signature: None,
            timestamp: None,
        })
    }

    /// The body's bytes as they were kept.
    fn kept_bytes(&self) -> Cow<'_, [u8]> {
        match self.body_base64.as_deref().map(|text| BASE64.decode(text)) {
            Some(Ok(bytes)) => Cow::Owned(bytes),
            _ => Cow::Borrowed(self.body.as_bytes()),
        }
    }

    /// The event and the call the body tells of, if it is a provider's
    /// payload the bridge reads.
    fn happening(&self, settings: &Settings) -> (Option<String>, Option<String>) {
        let provider = providers::ALL.iter().find(|p| Some(p.scheme.name) == self.scheme);
        let Some(event) = provider.and_then(|&p| Event::parse(p, &self.kept_bytes(), settings.max_json_depth).ok())
        else {
            return (None, None);
        };
        (Some(event.name()), event.call_id())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|[n, _]| n.eq_ignore_ascii_case(name)).map(|[_, value]| value.as_str())
    }

    /// The likely causes of the refusal, with the settings as they are now
    /// and the clock as it was then.
    pub fn causes(&self, settings: &Settings) -> Vec<Cause> {
        let signature_refused = VerifyError::is_request_refusal(&self.code);
        let Some(scheme) = self.scheme.and_then(providers::scheme).filter(|_| signature_refused) else {
            let (title, detail) = remedy_of(&self.code);
            return vec![Cause { title: title.into(), detail: detail.into() }];
        };
        if self.body_truncated {
            let detail = "Only the first 64 KiB of the body were kept, so its signature cannot be checked here.";
            return vec![Cause { title: "The body is too long to analyse here".into(), detail: detail.into() }];
        }
        let body = self.kept_bytes();
        let secrets: Vec<Vec<u8>> =
            providers::secrets_for(settings, scheme).iter().map(|secret| secret.as_ref().to_vec()).collect();
        let signed = Signed {
            body: &body,
            timestamp: scheme.timestamp_header().and_then(|name| self.header(name)),
            url: Some(&self.url),
        };
        let window = settings.stamp_window(scheme.stamp.as_ref(), self.at);
        let checked = Checked { scheme, secrets: &secrets, signed, received: self.header(scheme.header()), window };
        mistakes::diagnose(&checked, CAUSE_BUDGET).causes
    }
}

/// What a refusal that is not a signature's means, in a few words, and
/// what to do about it (the record's own message says what was wrong).
fn remedy_of(code: &str) -> (&'static str, &'static str) {
    match code {
        "no_secrets_configured" | "not_configured" | "invalid_setting" => (
            "The bridge is not set up for this route",
            "GET /healthz names the settings missing or invalid; set them, and the sender's retries get through.",
        ),
        "body_too_large" => {
            ("The body is over MAX_BODY_BYTES", "Raise MAX_BODY_BYTES if the sender's payloads are really this large.")
        }
        "header_too_large" => (
            "A header is over MAX_HEADER_BYTES",
            "Raise MAX_HEADER_BYTES if the sender's headers are really this large.",
        ),
        "recipient_unclear" => (
            "The reply's recipient cannot be told",
            "The bridge sends no SMS it cannot address for certain: check the conversation's phone number in Re:amaze.",
        ),
        _ => (
            "The payload is not what the bridge reads",
            "The signature was right, so the sender sent this: if its payloads changed, the bridge needs to learn \
             the new form.",
        ),
    }
}

fn header_pairs(object: &Object) -> Result<Vec<[String; 2]>, JsonError> {
    let Some(items) = object.get("headers").and_then(json::Node::as_array) else { return Ok(Vec::new()) };
    let pair = |item: &json::Node| match item.as_array() {
        Some([json::Node::String(name), json::Node::String(value)]) => Ok([name.clone(), value.clone()]),
        _ => Err(json::wrong_kind("a header", item, "a [name, value] pair")),
    };
    items.iter().map(pair).collect()
}

/// A short id: the time, and a digest of what was received (the same
/// request refused twice in one second is kept once).
fn id_of(request: &Request, headers: &[[String; 2]], now: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new().chain_update(request.path);
    for [name, value] in headers {
        hasher.update([0]);
        hasher.update(name);
        hasher.update([0]);
        hasher.update(value);
    }
    let digest = hasher.chain_update([0]).chain_update(request.body).finalize();
    format!("{now}-{}", hex::encode(&digest[..6]))
}

/// `GET /admin/rejected`: the newest `REJECTED_KEEP` records, each with
/// its likely causes; and the keys of older ones, to delete.
pub fn listing(settings: &Settings, kept: &[(String, Option<String>)]) -> (Response, Vec<String>) {
    #[derive(Serialize)]
    struct Listing {
        count: usize,
        keep: usize,
        rejected: Vec<Rejected>,
    }
    let keep = settings.rejected_keep as usize;
    let (listed, beyond) = kept.split_at(kept.len().min(keep));
    let rejected: Vec<Rejected> = listed
        .iter()
        .filter_map(|(_, value)| Rejected::read(value.as_deref()?).ok())
        .map(|record| {
            let scheme = record.scheme.and_then(providers::scheme);
            let signature = scheme.and_then(|scheme| record.header(scheme.header)).map(String::from);
            let timestamp = scheme
                .and_then(|scheme| scheme.timestamp_header())
                .and_then(|name| record.header(name))
                .map(String::from);
            let (event, call) = record.happening(settings);
            Rejected { causes: record.causes(settings), event, call, signature, timestamp, ..record }
        })
        .collect();
    let answer = Response::json(200, &Listing { count: rejected.len(), keep, rejected }).hardened();
    (answer, beyond.iter().map(|(key, _)| key.clone()).collect())
}
