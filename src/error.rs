//! Every way the bridge can refuse or fail a request, as one type: its
//! HTTP `status()`, stable `code()`, the `field()` it concerns, a message
//! for people (`Display`), and the JSON answer, built here and nowhere
//! else. Every shell shows these same answers; the npm package's one-off
//! calls throw them as `BridgeError`s with the same code and field.

use std::fmt;

use serde::Serialize;

use crate::http::Response;
use crate::json::JsonError;
use crate::providers::TranslateError;
use crate::reamaze::ReplyError;
use crate::settings::{names, SettingsError};
use crate::signature::VerifyError;

/// How many characters of an upstream answer are quoted back to the sender.
const UPSTREAM_QUOTE_CHARS: usize = 300;
/// How long a sender is asked to wait when the store or the queue failed.
const IO_RETRY_SECONDS: u32 = 30;
/// How long a sender is asked to wait while a setting cannot be used.
const SETTING_RETRY_SECONDS: u32 = 300;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    NoRoute {
        path: String,
    },
    MethodNotAllowed {
        path: String,
        method: String,
        allowed: &'static str,
    },
    /// The signature debugger page is served by the shells that have it.
    NoPage,
    /// Over `MAX_BODY_BYTES`; `bytes` when the size is known.
    BodyTooLarge {
        bytes: Option<usize>,
        limit: usize,
    },
    HeaderTooLarge {
        name: String,
        bytes: usize,
        limit: u32,
    },
    /// The body could not be read off the connection.
    Unreadable(String),
    NotConfigured {
        setting: &'static str,
    },
    /// A setting `feature` depends on cannot be used.
    InvalidSetting {
        error: SettingsError,
        feature: String,
    },
    Signature(VerifyError),
    Payload(TranslateError),
    /// A staff reply whose body is not the JSON Re:amaze sends.
    ReplyBody(JsonError),
    Reply(ReplyError),
    /// Another copy of this request is doing its work right now; its claim
    /// lapses within `retry_after` seconds, if that copy dies.
    InProgress {
        retry_after: u64,
    },
    /// Re:amaze did not take a webhook's messages.
    Reamaze(Upstream),
    /// The SMS provider did not send part `part` (from 0) of a staff reply.
    SmsNotSent {
        part: usize,
        parts: usize,
        upstream: Upstream,
    },
    StoreUnavailable(String),
    QueueUnavailable(String),
    /// An admin route without the right bearer token.
    Unauthorized,
    /// Dead letters and held transcriptions are listed only by a shell that
    /// keeps them in a store it can list (the Worker, in KV).
    NoDeadLetters,
    /// Dead letters asked of a build with no delivery queue (the npm
    /// package's): there are none.
    NoDeliveryQueue,
    /// Replaying dead letters needs the delivery queue.
    QueueModeOff,
    /// A replay body that is neither empty nor `{"ids": [...]}`.
    ReplayBody(String),
    /// A deliveries question that is not `{"ids": [...]}` with 1 to 100 ids.
    IdsBody(String),
}

/// What an upstream answered, or that it did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// "Re:amaze", or the SMS provider's name.
    pub name: &'static str,
    pub status: Option<u16>,
    /// The beginning of its answer, or the network error.
    pub quote: String,
    pub retry_after: Option<String>,
    /// Worth retrying (no answer, 408, 425, 429, 5xx), rather than refused.
    pub temporary: bool,
}

impl Upstream {
    pub fn new(name: &'static str, result: &crate::http::DeliveryResult, temporary: bool) -> Self {
        Upstream {
            name,
            status: result.status,
            quote: quote(&result.body),
            retry_after: result.retry_after.clone(),
            temporary,
        }
    }

    fn said(&self) -> String {
        match self.status {
            Some(status) => format!("{} answered {status}: {}", self.name, self.quote),
            None => format!("{} did not answer: {}", self.name, self.quote),
        }
    }

    fn json(&self) -> UpstreamJson<'_> {
        UpstreamJson { status: self.status, body: &self.quote }
    }
}

impl Error {
    pub fn status(&self) -> u16 {
        use Error::*;
        match self {
            NoRoute { .. } | NoPage | NoDeadLetters | NoDeliveryQueue => 404,
            MethodNotAllowed { .. } => 405,
            BodyTooLarge { .. } => 413,
            HeaderTooLarge { .. } => 431,
            Unreadable(_) | ReplyBody(_) | ReplayBody(_) | IdsBody(_) => 400,
            Signature(VerifyError::NoSecrets) => 503,
            Signature(_) | Unauthorized => 401,
            Payload(_) => 400,
            Reply(e) => e.status(),
            Reamaze(upstream) | SmsNotSent { upstream, .. } => {
                if upstream.temporary {
                    503
                } else {
                    502
                }
            }
            NotConfigured { .. }
            | InvalidSetting { .. }
            | InProgress { .. }
            | StoreUnavailable(_)
            | QueueUnavailable(_)
            | QueueModeOff => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            NoRoute { .. } | NoPage | NoDeadLetters | NoDeliveryQueue => "not_found",
            MethodNotAllowed { .. } => "method_not_allowed",
            BodyTooLarge { .. } => "body_too_large",
            HeaderTooLarge { .. } => "header_too_large",
            Unreadable(_) => "bad_request",
            NotConfigured { .. } | Signature(VerifyError::NoSecrets) => "not_configured",
            InvalidSetting { .. } => "invalid_setting",
            Signature(e) => e.code(),
            Payload(e) => e.code(),
            ReplyBody(e) => e.code(),
            Reply(e) => e.code(),
            InProgress { .. } => "in_progress",
            Reamaze(u) if u.temporary => "reamaze_unavailable",
            Reamaze(_) => "reamaze_refused",
            SmsNotSent { upstream, .. } if upstream.temporary => "sms_unavailable",
            SmsNotSent { .. } => "sms_refused",
            StoreUnavailable(_) => "store_unavailable",
            QueueUnavailable(_) => "queue_unavailable",
            Unauthorized => "unauthorized",
            QueueModeOff => "queue_mode_off",
            ReplayBody(_) | IdsBody(_) => "invalid_json",
        }
    }

    /// The field of the payload or reply concerned, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Payload(e) => e.field(),
            Error::Reply(e) => e.field(),
            _ => None,
        }
    }

    /// What failed inside the bridge, for the log only (the answer says
    /// no more than the code): a store's or the queue's error, as the shell
    /// gave it (`http::plain`).
    pub fn reason(&self) -> Option<String> {
        match self {
            Error::StoreUnavailable(why) | Error::QueueUnavailable(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// The upstream's status, when this error quotes one.
    pub fn upstream_status(&self) -> Option<u16> {
        match self {
            Error::Reamaze(upstream) | Error::SmsNotSent { upstream, .. } => upstream.status,
            _ => None,
        }
    }

    /// The header that goes with the answer, if any.
    fn header(&self) -> Option<(&'static str, String)> {
        use Error::*;
        match self {
            MethodNotAllowed { allowed, .. } => Some(("Allow", (*allowed).into())),
            InvalidSetting { .. } => Some(("Retry-After", SETTING_RETRY_SECONDS.to_string())),
            InProgress { retry_after } => Some(("Retry-After", retry_after.to_string())),
            StoreUnavailable(_) | QueueUnavailable(_) => Some(("Retry-After", IO_RETRY_SECONDS.to_string())),
            Reamaze(u) | SmsNotSent { upstream: u, .. } if u.temporary => {
                u.retry_after.clone().map(|value| ("Retry-After", value))
            }
            Unauthorized => Some(("WWW-Authenticate", "Bearer".into())),
            _ => None,
        }
    }

    /// The answer for the sender: `{"status": "error", "error": code,
    /// "message", ...}`, then what this error says more, in `context` where
    /// it concerns a webhook's event and messages.
    pub fn response(&self, context: &Context) -> Response {
        let body =
            ErrorBody { status: "error", error: self.code(), message: self.to_string(), ..self.details(context) };
        let response = Response::json(self.status(), &body);
        match self.header() {
            Some((name, value)) => response.with_header(name, Some(value)),
            None => response,
        }
    }

    /// The fields after the message: those this error has.
    fn details<'a>(&'a self, context: &'a Context) -> ErrorBody<'a> {
        let of_event =
            ErrorBody { provider: context.provider, event: context.event.as_deref(), ..ErrorBody::default() };
        let messages = Some(context.messages.as_slice());
        match self {
            Error::Payload(e) => ErrorBody { field: e.field(), ..of_event },
            Error::Reply(e) => ErrorBody { field: e.field(), ..ErrorBody::default() },
            Error::InvalidSetting { error, .. } => ErrorBody { setting: Some(error.name), ..ErrorBody::default() },
            Error::InProgress { .. } => ErrorBody { messages, ..of_event },
            Error::Reamaze(upstream) => ErrorBody { messages, upstream: Some(upstream.json()), ..of_event },
            Error::SmsNotSent { part, parts, upstream } => ErrorBody {
                parts_sent: Some(*part),
                parts: Some(*parts),
                upstream: Some(upstream.json()),
                ..ErrorBody::default()
            },
            _ => ErrorBody::default(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            NoRoute { path } => write!(f, "no route for {path}"),
            MethodNotAllowed { path, method, allowed } => write!(f, "{path} accepts {allowed} only, not {method}"),
            NoPage => f.write_str("this build serves no page"),
            BodyTooLarge { bytes: Some(bytes), limit } => {
                write!(f, "the body has {bytes} bytes; the limit is {limit} ({})", names::MAX_BODY_BYTES)
            }
            BodyTooLarge { bytes: None, limit } => {
                write!(f, "the body has more than {limit} bytes; the limit is {limit} ({})", names::MAX_BODY_BYTES)
            }
            HeaderTooLarge { name, bytes, limit } => {
                write!(f, "header {name} has {bytes} bytes; the limit is {limit} ({})", names::MAX_HEADER_BYTES)
            }
            Unreadable(why) => write!(f, "the body cannot be read: {why}"),
            NotConfigured { setting } => write!(f, "{setting} is not set on this bridge"),
            InvalidSetting { error, feature } => write!(f, "{error}; {feature} are off until it is fixed"),
            Signature(e) => e.fmt(f),
            Payload(e) => e.fmt(f),
            ReplyBody(e) => e.fmt(f),
            Reply(e) => e.fmt(f),
            InProgress { .. } => f.write_str("another copy of this request is being delivered right now; retry after it"),
            Reamaze(upstream) => f.write_str(&upstream.said()),
            SmsNotSent { part, parts, upstream } => {
                write!(f, "SMS part {} of {parts} was not sent. {}", part + 1, upstream.said())
            }
            // What failed is logged (`reason`), never answered: it speaks of
            // the runtime, not of the request.
            StoreUnavailable(_) => f.write_str("the bridge's store is unavailable for now; retry later"),
            QueueUnavailable(_) => f.write_str("the delivery queue is unavailable for now; retry later"),
            Unauthorized => write!(f, "this route needs Authorization: Bearer <{}>", names::ADMIN_TOKEN),
            NoDeadLetters => f.write_str(
                "dead letters, held transcriptions and refused webhooks are listed only where the bridge's store can list its keys (Workers KV; in the npm package, a store with list)",
            ),
            NoDeliveryQueue => f.write_str(
                "this bridge has no delivery queue, so it keeps no dead letters: a webhook it cannot deliver is answered 503, and its sender retries",
            ),
            QueueModeOff => f.write_str("replay needs the DELIVERIES queue binding"),
            ReplayBody(why) => write!(f, "expected {{\"ids\": [...]}} or no body: {why}"),
            IdsBody(why) => write!(f, "expected {{\"ids\": [...]}} with 1 to 100 ids: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// What a webhook's answer says besides the error: the provider, the
/// event, and what became of each of its messages.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub provider: Option<&'static str>,
    pub event: Option<String>,
    pub messages: Vec<Report>,
    /// The status of the last upstream answer, for the log.
    pub upstream_status: Option<u16>,
}

/// An error's answer: `status`, `error` and `message`, then what this
/// error says more, each member left out where it has nothing. (Derived
/// `Serialize`, not `serde_json::Value`, whose map and writer would come
/// into the wasm builds with it.)
#[derive(Default, Serialize)]
struct ErrorBody<'a> {
    status: &'static str,
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    setting: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<&'a [Report]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts_sent: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<UpstreamJson<'a>>,
}

/// What an upstream answered, in an error's answer.
#[derive(Serialize)]
struct UpstreamJson<'a> {
    status: Option<u16>,
    body: &'a str,
}

/// What became of one message: `result` is delivered, duplicate, queued,
/// in_progress or refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub id: String,
    pub channel: &'static str,
    pub result: &'static str,
}

/// The beginning of an upstream's answer, trimmed, cut with an ellipsis.
fn quote(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(UPSTREAM_QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
