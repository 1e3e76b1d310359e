//! The whole bridge, sans-IO: a request (route, headers, body) plus settings
//! and a clock becomes an `Exchange`, which asks its shell for store reads,
//! store writes and deliveries one `Step` at a time and ends with the
//! response for the sender.
//!
//! ```text
//! let mut exchange = bridge.exchange(&request, now);
//! loop {
//!     match exchange.step() {
//!         Step::Read(keys)       => exchange.provide(store.get_all(keys)),
//!         Step::Write(entries)   => store.put_all(entries),
//!         Step::Deliver(request) => exchange.delivered(http.send(request)),
//!         Step::Respond(response) => return response,
//!     }
//! }
//! ```
//!
//! `drive` is that loop for a synchronous `Store`. Async shells (Workers KV,
//! JS stores, `fetch`) write the same loop with `await`.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::json;
use crate::providers::{Event, Outcome, Provider, TranslateError, Translation};
use crate::queue;
#[cfg(feature = "queue")]
use crate::queue::Queued;
use crate::reamaze::{self, Channel, Outgoing, ReplyError, SmsPart, StaffReply};
use crate::settings::{names, Secret, Settings};
use crate::signature::{self, Scheme, Signed, VerifyError, Window};
use crate::store::{self, keys, ttl, Entry, Store};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How much of an upstream answer is quoted back to the sender.
const UPSTREAM_QUOTE_CHARS: usize = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Webhook(Provider),
    /// Re:amaze's staff SMS reply, sent on through Voice360.
    StaffReply,
    Health,
    /// The signature debugger page, served by the shell from `www/`.
    Page,
    /// Queue mode: list the dead letters (operators, bearer token).
    DeadLetters,
    /// Queue mode: enqueue dead letters again (operators, bearer token).
    ReplayDeadLetters,
}

impl Route {
    /// Routes a method and path (without query); unknown paths are 404,
    /// known paths with another method 405 (with `Allow`).
    pub fn of(method: &str, path: &str) -> Result<Route, Response> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let (route, allowed) = match path {
            "/webhooks/voice360" => (Route::Webhook(Provider::Voice360), "POST"),
            "/webhooks/bird" => (Route::Webhook(Provider::Bird), "POST"),
            "/webhooks/volubile" => (Route::Webhook(Provider::Volubile), "POST"),
            "/webhooks/reamaze/sms" => (Route::StaffReply, "POST"),
            "/healthz" => (Route::Health, "GET"),
            "/" | "/index.html" => (Route::Page, "GET"),
            "/admin/dead-letters" => (Route::DeadLetters, "GET"),
            "/admin/dead-letters/replay" => (Route::ReplayDeadLetters, "POST"),
            _ => return Err(Response::error(404, "not_found", format!("no route for {path}"))),
        };
        if method.eq_ignore_ascii_case(allowed) {
            Ok(route)
        } else {
            let mut response =
                Response::error(405, "method_not_allowed", format!("{path} accepts {allowed} only, not {method}"));
            response.headers.push(("Allow".into(), allowed.into()));
            Err(response)
        }
    }
}

/// Request headers, as a shell received them; names compare
/// case-insensitively. A header sent more than once reads as its values
/// joined by ", ", as the Fetch standard's `Headers.get` and Node's
/// `IncomingMessage` give it, so every shell shows the core the same text.
/// (The `http` crate's `HeaderMap` would do, but adds about 18 KB to every
/// wasm build.)
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

/// Every request header the core reads: the four schemes' signature
/// headers, Bird's timestamp, and the admin routes' `Authorization`. A shell
/// may pass only these: the Worker does, rather than copy every header of a
/// request across the JS boundary.
pub const HEADERS_READ: [&str; 6] = [
    "X-Reamaze-Hmac-SHA256",
    "X-Voice360-Signature",
    "messagebird-signature",
    "X-Webhook-Signature",
    signature::BIRD_TIMESTAMP_HEADER,
    "Authorization",
];

/// A request as received.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The full URL as received; Bird signs it (unless `BIRD_WEBHOOK_URL`
    /// names the public one).
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
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).expect("JSON values serialize"),
        }
    }

    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Response {
        Response::failure(status, code, message.into(), Vec::new())
    }

    /// An error answer: `{"status": "error", "error": code, "message"}`,
    /// then `more` fields in order.
    /// Fields given as null are left out.
    fn failure(status: u16, code: &str, message: String, more: Vec<(&str, Value)>) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("status".into(), "error".into());
        body.insert("error".into(), code.into());
        body.insert("message".into(), message.into());
        for (key, value) in more.into_iter().filter(|(_, value)| !value.is_null()) {
            body.insert(key.into(), value);
        }
        Response::json(status, Value::Object(body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn with_header(mut self, name: &str, value: Option<String>) -> Response {
        if let Some(value) = value {
            self.headers.push((name.into(), value));
        }
        self
    }
}

/// Where a delivery goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A message for a Re:amaze custom channel.
    Reamaze { channel: Channel, message_id: String },
    /// One SMS part through Voice360's send-SMS API.
    Voice360Sms { part: usize, parts: usize },
}

/// An outbound HTTP request, ready to send as is: the signature covers
/// exactly `body`. Its `Debug` hides the Voice360 API key.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    pub target: Target,
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The header that carries a secret itself (not a MAC of one).
const API_KEY_HEADER: &str = "X-API-Key";

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Worth retrying: no answer, 408, 425, 429, 5xx.
    Temporary,
    /// Refused: do not retry unchanged.
    Permanent,
}

impl DeliveryResult {
    /// Re:amaze: 2xx is success. Voice360 also says `"error": true` in a
    /// 2xx body when it did not send.
    pub fn verdict(&self, target: &Target) -> Verdict {
        match self.status {
            None => Verdict::Temporary,
            Some(200..=299) => {
                let refused_in_body = matches!(target, Target::Voice360Sms { .. })
                    && serde_json::from_str::<Value>(&self.body)
                        .ok()
                        .and_then(|v| v.get("error").and_then(Value::as_bool))
                        .unwrap_or(false);
                if refused_in_body {
                    Verdict::Permanent
                } else {
                    Verdict::Accepted
                }
            }
            Some(408 | 425 | 429 | 500..=599) => Verdict::Temporary,
            Some(_) => Verdict::Permanent,
        }
    }
}

/// What the shell must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Read these keys; answer with `provide`, values in the same order.
    Read(Vec<String>),
    /// Write these entries, then call `step` again.
    Write(Vec<Entry>),
    /// Claim these keys, each atomically (put-if-absent, `Store::claim`);
    /// answer with `claimed`: `None` for each written, else the value held.
    Claim(Vec<Entry>),
    /// Delete these keys (claims given up), then call `step` again.
    Release(Vec<String>),
    /// Send this request; answer with `delivered`.
    Deliver(Delivery),
    /// Queue mode: put these messages on the delivery queue; answer with
    /// `enqueued`.
    #[cfg(feature = "queue")]
    Enqueue(Vec<Queued>),
    /// Done: answer the sender with this.
    Respond(Response),
}

/// The bridge: settings, shared by every exchange.
#[derive(Clone, Debug)]
pub struct Bridge {
    settings: Arc<Settings>,
    queued: bool,
}

impl Bridge {
    /// From settings, or settings already shared (a Worker isolate keeps
    /// one `Arc` for all its requests).
    pub fn new(settings: impl Into<Arc<Settings>>) -> Self {
        Bridge { settings: settings.into(), queued: false }
    }

    /// Queue mode: webhooks are answered 202 once their messages are on the
    /// delivery queue (`Step::Enqueue`), instead of after delivering them.
    /// Only in builds with a queue (feature `queue`: the Worker, and native
    /// builds); the npm package has none, and leaves this code out.
    #[cfg(feature = "queue")]
    pub fn queued(mut self, queued: bool) -> Self {
        self.queued = queued;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Verifies and parses `request` (no IO needed for that) and returns
    /// the exchange that carries it through.
    pub fn exchange(&self, request: &Request, now: i64) -> Exchange {
        let prepared = self.prepare(request, now).unwrap_or_else(Prepared::Done);
        let queue_at = self.queued.then_some(now);
        Exchange {
            settings: self.settings.clone(),
            prepared,
            queue_at,
            answers: Vec::new(),
            pending: None,
            translated: None,
        }
    }

    fn prepare(&self, request: &Request, now: i64) -> Result<Prepared, Response> {
        let route = Route::of(request.method, request.path)?;
        if request.body.len() > self.settings.max_body_bytes {
            return Err(body_too_large(&self.settings, Some(request.body.len())));
        }
        match route {
            Route::Health => Ok(Prepared::Done(self.health())),
            Route::Page => Err(Response::error(404, "not_found", "this build serves no page")),
            Route::Webhook(provider) => self.prepare_webhook(provider, request, now),
            Route::StaffReply => self.prepare_staff_reply(request),
            // The shell serves these where it keeps dead letters (the Worker
            // in queue mode); elsewhere they are authorized, then absent.
            Route::DeadLetters | Route::ReplayDeadLetters => {
                queue::authorize(&self.settings, request.headers.get("Authorization").as_deref())?;
                Err(Response::error(404, "not_found", "dead letters exist only in queue mode"))
            }
        }
    }

    fn prepare_webhook(&self, provider: Provider, request: &Request, now: i64) -> Result<Prepared, Response> {
        let s = &self.settings;
        if let Some(invalid) = s.blocking(provider_settings(provider)) {
            return Err(setting_invalid(invalid, &format!("{} webhooks", provider.title())));
        }
        let (scheme, secrets, setting) = s.webhook_auth(provider);
        if secrets.is_empty() {
            return Err(not_configured(setting));
        }
        let url = s.bird_webhook_url.as_deref().unwrap_or(request.url);
        let timestamp = match scheme {
            Scheme::Bird => self.header(request, signature::BIRD_TIMESTAMP_HEADER)?,
            _ => None,
        };
        let signed = Signed { body: request.body, timestamp: timestamp.as_deref(), url: Some(url) };
        let received = self.header(request, scheme.header())?;
        signature::verify(scheme, secrets, &signed, received.as_deref(), s.bird_window(now)).map_err(unauthorized)?;
        let event =
            Event::parse(provider, request.body, s.max_json_depth).map_err(|e| bad_payload(provider, None, &e))?;
        Ok(Prepared::Webhook(Box::new(event)))
    }

    fn prepare_staff_reply(&self, request: &Request) -> Result<Prepared, Response> {
        let s = &self.settings;
        if let Some(invalid) = s.blocking(&[names::VOICE360_API_BASE]) {
            return Err(setting_invalid(invalid, "staff SMS replies"));
        }
        let secret = s.reamaze_sms_secret.as_ref().ok_or_else(|| not_configured(names::REAMAZE_SMS_SECRET))?;
        let received = self.header(request, Scheme::Reamaze.header())?;
        // Re:amaze's scheme has no timestamp, so the window is never consulted.
        let no_window = Window::at(0);
        signature::verify(
            Scheme::Reamaze,
            std::slice::from_ref(secret),
            &Signed::body(request.body),
            received.as_deref(),
            no_window,
        )
        .map_err(unauthorized)?;
        let reply: StaffReply = json::parse_as(request.body, s.max_json_depth)
            .map_err(|e| Response::error(400, e.code(), e.to_string()))?;
        let channel_number =
            s.sms_channel_number.as_deref().ok_or_else(|| not_configured(names::SMS_CHANNEL_NUMBER))?;
        let api_key = s.voice360_api_key.clone().ok_or_else(|| not_configured(names::VOICE360_API_KEY))?;
        let account = s.voice360_account_id.as_deref().ok_or_else(|| not_configured(names::VOICE360_ACCOUNT_ID))?;
        let parts = reamaze::reply_to_sms(&reply, channel_number).map_err(|e| reply_refused(&e))?;
        Ok(Prepared::StaffReply {
            url: format!("{}/{}/sms/send", s.voice360_api_base, account),
            api_key,
            // Keyed by the exact reply, so Re:amaze's retry of it skips the
            // parts already sent, while a new reply with the same text is sent.
            part_keys: (0..parts.len()).map(|i| keys::reply_part(request.body, i)).collect(),
            parts,
        })
    }

    /// A header the bridge reads. Real signatures and timestamps are under
    /// 100 bytes; a longer one than `MAX_HEADER_BYTES` is refused (431)
    /// before any work is spent on it.
    fn header<'r>(&self, request: &Request<'r>, name: &str) -> Result<Option<Cow<'r, str>>, Response> {
        let value = request.headers.get(name);
        match value {
            Some(v) if v.len() > self.settings.max_header_bytes as usize => {
                Err(header_too_large(name, v.len(), &self.settings))
            }
            value => Ok(value),
        }
    }

    fn provider_ready(&self, provider: Provider) -> bool {
        let (_, secrets, _) = self.settings.webhook_auth(provider);
        !secrets.is_empty() && self.settings.blocking(provider_settings(provider)).is_none()
    }

    fn health(&self) -> Response {
        let s = &self.settings;
        let reamaze_ready = s.blocking(&[names::REAMAZE_BASE_URL]).is_none();
        let health = Health {
            status: "ok",
            version: VERSION,
            providers: Providers {
                voice360: self.provider_ready(Provider::Voice360),
                bird: self.provider_ready(Provider::Bird),
                volubile: self.provider_ready(Provider::Volubile),
            },
            reamaze: Channels {
                voice: reamaze_ready && s.reamaze_voice_secret.is_some(),
                sms: reamaze_ready && s.reamaze_sms_secret.is_some(),
            },
            staff_replies: s.reamaze_sms_secret.is_some()
                && s.sms_channel_number.is_some()
                && s.voice360_api_key.is_some()
                && s.voice360_account_id.is_some()
                && s.blocking(&[names::VOICE360_API_BASE]).is_none(),
            invalid_settings: s.invalid.iter().map(|e| Invalid { setting: e.name, expected: e.expected }).collect(),
        };
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&health).expect("the health answer serializes"),
        }
    }
}

/// `GET /healthz`: what is configured, never a secret.
#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    providers: Providers,
    reamaze: Channels,
    staff_replies: bool,
    invalid_settings: Vec<Invalid>,
}

#[derive(serde::Serialize)]
struct Providers {
    voice360: bool,
    bird: bool,
    volubile: bool,
}

#[derive(serde::Serialize)]
struct Channels {
    voice: bool,
    sms: bool,
}

/// A setting that cannot be used, by name, never by value.
#[derive(serde::Serialize)]
struct Invalid {
    setting: &'static str,
    expected: &'static str,
}

/// What could be decided without IO.
#[derive(Clone, Debug)]
enum Prepared {
    Done(Response),
    Webhook(Box<Event>),
    StaffReply { parts: Vec<SmsPart>, part_keys: Vec<String>, url: String, api_key: Secret },
}

/// One request carried through the bridge; see the module docs.
#[derive(Debug)]
pub struct Exchange {
    settings: Arc<Settings>,
    prepared: Prepared,
    /// Queue mode, with the time the webhook was accepted.
    queue_at: Option<i64>,
    /// The shell's answers so far, in the order they were asked for.
    answers: Vec<Answer>,
    pending: Option<Step>,
    /// The event's translation, once made: it depends only on the first
    /// read's answer, so every replay after it would make the same one.
    translated: Option<Result<Translation, TranslateError>>,
}

#[derive(Clone, Debug)]
enum Answer {
    Read(Vec<Option<String>>),
    Written,
    Claimed(Vec<Option<String>>),
    Delivered(DeliveryResult),
    #[cfg(feature = "queue")]
    Enqueued(Result<(), String>),
}

impl Exchange {
    /// The next thing to do. Asking again before answering repeats the step,
    /// except that a `Write` counts as done once `step` is called again.
    pub fn step(&mut self) -> Step {
        if matches!(self.pending, Some(Step::Write(_) | Step::Release(_))) {
            self.answers.push(Answer::Written);
        }
        let mut script = Script { answers: &self.answers, cursor: 0, translated: &mut self.translated };
        let step = match run(&self.settings, &self.prepared, self.queue_at, &mut script) {
            Ok(response) => Step::Respond(response),
            Err(Suspend(step)) => step,
        };
        self.pending = Some(step.clone());
        step
    }

    /// Answers a `Read`: one value per key, in the order asked.
    pub fn provide(&mut self, values: Vec<Option<String>>) {
        assert!(matches!(self.pending.take(), Some(Step::Read(_))), "provide answers a Step::Read");
        self.answers.push(Answer::Read(values));
    }

    /// Answers a `Claim`: per key, `None` when the claim was written, else
    /// the value the key already held.
    pub fn claimed(&mut self, held: Vec<Option<String>>) {
        assert!(matches!(self.pending.take(), Some(Step::Claim(_))), "claimed answers a Step::Claim");
        self.answers.push(Answer::Claimed(held));
    }

    /// Answers a `Deliver`.
    pub fn delivered(&mut self, result: DeliveryResult) {
        assert!(matches!(self.pending.take(), Some(Step::Deliver(_))), "delivered answers a Step::Deliver");
        self.answers.push(Answer::Delivered(result));
    }

    /// Answers an `Enqueue`: `Err` with the reason when the queue refused.
    #[cfg(feature = "queue")]
    pub fn enqueued(&mut self, result: Result<(), String>) {
        assert!(matches!(self.pending.take(), Some(Step::Enqueue(_))), "enqueued answers a Step::Enqueue");
        self.answers.push(Answer::Enqueued(result));
    }
}

/// Runs an exchange to its end against a synchronous store and a
/// synchronous sender.
pub fn drive(
    mut exchange: Exchange,
    store: &mut dyn Store,
    now: i64,
    mut send: impl FnMut(&Delivery) -> DeliveryResult,
) -> Response {
    loop {
        match exchange.step() {
            Step::Read(keys) => exchange.provide(keys.iter().map(|k| store.get(k, now)).collect()),
            Step::Write(entries) => entries.iter().for_each(|e| store.put(e, now)),
            Step::Claim(entries) => exchange.claimed(entries.iter().map(|e| store.claim(e, now)).collect()),
            Step::Release(keys) => keys.iter().for_each(|k| store.delete(k)),
            Step::Deliver(delivery) => exchange.delivered(send(&delivery)),
            #[cfg(feature = "queue")]
            Step::Enqueue(_) => exchange.enqueued(Err("this driver has no queue".into())),
            Step::Respond(response) => return response,
        }
    }
}

/// The IO part of an exchange as straight-line code. It is re-run from the
/// top on every `step` with the answers recorded so far, and stops (`Err`)
/// at the first request not yet answered. Everything in it is a pure
/// function of the prepared request and those answers, so each run takes
/// the same path.
struct Script<'a> {
    answers: &'a [Answer],
    cursor: usize,
    translated: &'a mut Option<Result<Translation, TranslateError>>,
}

struct Suspend(Step);

impl Script<'_> {
    /// The answer to the next request, or `Suspend` with the step that asks
    /// for it (made only then: a replay does not rebuild what was answered).
    fn next(&mut self, ask: impl FnOnce() -> Step) -> Result<Answer, Suspend> {
        let answer = self.answers.get(self.cursor).cloned().ok_or_else(|| Suspend(ask()))?;
        self.cursor += 1;
        Ok(answer)
    }

    fn read(&mut self, keys: Vec<String>) -> Result<Vec<Option<String>>, Suspend> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = keys.len();
        match self.next(|| Step::Read(keys))? {
            Answer::Read(mut values) => {
                values.resize(wanted, None);
                Ok(values)
            }
            other => unreachable!("a read was answered with {other:?}"),
        }
    }

    fn write(&mut self, entries: Vec<Entry>) -> Result<(), Suspend> {
        if entries.is_empty() {
            return Ok(());
        }
        match self.next(|| Step::Write(entries))? {
            Answer::Written => Ok(()),
            other => unreachable!("a write was answered with {other:?}"),
        }
    }

    fn claim(&mut self, entries: Vec<Entry>) -> Result<Vec<Option<String>>, Suspend> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let wanted = entries.len();
        match self.next(|| Step::Claim(entries))? {
            Answer::Claimed(mut held) => {
                held.resize(wanted, None);
                Ok(held)
            }
            other => unreachable!("a claim was answered with {other:?}"),
        }
    }

    fn release(&mut self, keys: Vec<String>) -> Result<(), Suspend> {
        if keys.is_empty() {
            return Ok(());
        }
        match self.next(|| Step::Release(keys))? {
            Answer::Written => Ok(()),
            other => unreachable!("a release was answered with {other:?}"),
        }
    }

    /// `make` builds the request (serialized and signed) only when it is
    /// to be sent, not on every replay.
    fn deliver(&mut self, make: impl FnOnce() -> Delivery) -> Result<DeliveryResult, Suspend> {
        match self.next(|| Step::Deliver(make()))? {
            Answer::Delivered(result) => Ok(result),
            other => unreachable!("a delivery was answered with {other:?}"),
        }
    }

    #[cfg(feature = "queue")]
    fn enqueue(&mut self, messages: Vec<Queued>) -> Result<Result<(), String>, Suspend> {
        match self.next(|| Step::Enqueue(messages))? {
            Answer::Enqueued(result) => Ok(result),
            other => unreachable!("an enqueue was answered with {other:?}"),
        }
    }
}

fn run(
    settings: &Settings,
    prepared: &Prepared,
    queue_at: Option<i64>,
    script: &mut Script,
) -> Result<Response, Suspend> {
    match prepared {
        Prepared::Done(response) => Ok(response.clone()),
        Prepared::Webhook(event) => run_webhook(settings, event, queue_at, script),
        Prepared::StaffReply { parts, part_keys, url, api_key } => {
            run_staff_reply(parts, part_keys, url, api_key, script)
        }
    }
}

fn run_webhook(
    settings: &Settings,
    event: &Event,
    queue_at: Option<i64>,
    script: &mut Script,
) -> Result<Response, Suspend> {
    let provider = event.provider();
    let name = event.name();
    let reads = event.reads();
    let values = script.read(reads.clone())?;
    let lookup = |key: &str| reads.iter().position(|k| k == key).and_then(|i| values[i].clone());
    let translated = script.translated.get_or_insert_with(|| event.translate(settings, &lookup)).clone();
    let Translation { outcome, remember } = match translated {
        Ok(translation) => translation,
        Err(e) => return Ok(bad_payload(provider, Some(&name), &e)),
    };
    let messages = match outcome {
        Outcome::Ignored(reason) => {
            script.write(remember)?;
            return Ok(Response::json(
                200,
                json!({ "status": "ignored", "provider": provider.name(), "event": name, "reason": reason }),
            ));
        }
        Outcome::Messages(messages) => messages,
    };
    // Check every channel secret before sending anything, so a half-set-up
    // deployment does not deliver some messages of an event and not others.
    if let Some(Err(response)) = messages.iter().map(|m| channel_secret(settings, m.channel)).find(Result::is_err) {
        return Ok(response);
    }

    #[cfg(not(feature = "queue"))]
    let _ = queue_at;
    #[cfg(feature = "queue")]
    if let Some(now) = queue_at {
        let seen = script.read(messages.iter().map(|m| keys::seen(&m.message.id)).collect())?;
        script.write(remember)?;
        return enqueue_webhook(settings, provider, &name, &messages, &seen, now, script);
    }
    let held = script.claim(messages.iter().map(|m| claim_of(keys::seen(&m.message.id))).collect())?;
    script.write(remember)?;
    deliver_claimed(settings, provider, &name, &messages, &held, script)
}

/// A claim on `key` while its work is under way.
fn claim_of(key: String) -> Entry {
    Entry { key, value: store::PENDING.into(), ttl_seconds: ttl::CLAIM }
}

/// The mark that `key`'s work is done: later copies are duplicates.
fn done(key: String) -> Entry {
    Entry { key, value: store::DONE.into(), ttl_seconds: ttl::SEEN }
}

/// Sync mode: delivers the messages whose claims this exchange holds, and
/// answers the sender.
fn deliver_claimed(
    settings: &Settings,
    provider: Provider,
    name: &str,
    messages: &[Outgoing],
    held: &[Option<String>],
    script: &mut Script,
) -> Result<Response, Suspend> {
    let Posted { reports, failure, elsewhere } = post_claimed(settings, provider, name, messages, held, script)?;
    if let Some(failure) = failure {
        return Ok(failure);
    }
    if elsewhere {
        return Ok(in_progress(provider.name(), name, reports));
    }
    let all_duplicates = reports.iter().all(|r| r["result"] == "duplicate");
    Ok(webhook_answer(200, if all_duplicates { "duplicate" } else { "delivered" }, provider, name, reports))
}

/// The answer to a webhook whose messages were handled: a status word, the
/// event, and what became of each message.
fn webhook_answer(status: u16, word: &str, provider: Provider, event: &str, reports: Vec<Value>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), word.into());
    body.insert("provider".into(), provider.name().into());
    body.insert("event".into(), event.into());
    body.insert("messages".into(), Value::Array(reports));
    Response::json(status, Value::Object(body))
}

/// What became of one message: `result` is delivered, duplicate, queued,
/// in_progress or refused.
fn report(outgoing: &Outgoing, result: &str) -> Value {
    let mut report = serde_json::Map::new();
    report.insert("id".into(), outgoing.message.id.as_str().into());
    report.insert("channel".into(), outgoing.channel.name().into());
    report.insert("result".into(), result.into());
    Value::Object(report)
}

/// What came of posting messages whose claims were taken.
struct Posted {
    /// One per message: delivered, duplicate, in_progress or refused.
    reports: Vec<Value>,
    /// The answer for the sender when Re:amaze did not take them all.
    failure: Option<Response>,
    /// Some were being delivered by another copy of the request.
    elsewhere: bool,
}

/// Posts, in order, the messages whose claims this exchange holds (`held`
/// is `None` for those). A message another copy of the webhook is still
/// delivering is left to it: the sender is then asked to come back (503),
/// and its retry is a duplicate, or delivers what that copy failed to.
/// Claims not settled are released, so a retry can send.
fn post_claimed(
    settings: &Settings,
    provider: Provider,
    name: &str,
    messages: &[Outgoing],
    held: &[Option<String>],
    script: &mut Script,
) -> Result<Posted, Suspend> {
    let mut reports = Vec::new();
    let mut delivered = Vec::new();
    let mut unsettled: Vec<String> =
        messages.iter().zip(held).filter(|(_, h)| h.is_none()).map(|(m, _)| keys::seen(&m.message.id)).collect();
    let mut refused: Option<DeliveryResult> = None;
    let mut elsewhere = false;
    for (outgoing, held) in messages.iter().zip(held) {
        let id = outgoing.message.id.clone();
        let report = |result: &str| report(outgoing, result);
        match held.as_deref() {
            Some(store::PENDING) => {
                elsewhere = true;
                reports.push(report("in_progress"));
                continue;
            }
            Some(_) => {
                reports.push(report("duplicate"));
                continue;
            }
            None => {}
        }
        let target = Target::Reamaze { channel: outgoing.channel, message_id: id.clone() };
        let result =
            script.deliver(|| reamaze_delivery(settings, outgoing).expect("channel secrets were checked above"))?;
        match result.verdict(&target) {
            Verdict::Accepted => {
                reports.push(report("delivered"));
                unsettled.retain(|k| *k != keys::seen(&id));
                delivered.push(done(keys::seen(&id)));
            }
            Verdict::Permanent => {
                reports.push(report("refused"));
                refused.get_or_insert(result);
            }
            Verdict::Temporary => {
                // Stop: what was delivered is marked, so the sender's retry
                // posts only the rest.
                script.write(delivered)?;
                script.release(unsettled)?;
                let failure =
                    upstream_failure(503, "reamaze_unavailable", "Re:amaze", provider, name, &result, reports.clone());
                return Ok(Posted { reports, failure: Some(failure), elsewhere });
            }
        }
    }
    script.write(delivered)?;
    script.release(unsettled)?;
    let failure =
        refused.map(|r| upstream_failure(502, "reamaze_refused", "Re:amaze", provider, name, &r, reports.clone()));
    Ok(Posted { reports, failure, elsewhere })
}

/// 503: another copy of this request is delivering some of it right now.
/// The sender's retry, after it, is answered `duplicate` (or delivers what
/// that copy could not).
fn in_progress(source: &str, event: &str, reports: Vec<Value>) -> Response {
    Response::failure(
        503,
        "in_progress",
        "another copy of this request is being delivered right now; retry after it".into(),
        vec![("provider", source.into()), ("event", event.into()), ("messages", Value::Array(reports))],
    )
    .with_header("Retry-After", Some(IN_PROGRESS_RETRY_SECONDS.to_string()))
}

/// How long a copy that found its work under way is asked to wait.
const IN_PROGRESS_RETRY_SECONDS: u32 = 15;

/// Queue mode: the messages not delivered before go on the queue, and the
/// sender is answered 202 at once; the consumer delivers them. The queue
/// takes messages of a bounded size in batches of a bounded size
/// (`queue::batches`): a message too large for it is posted at once
/// instead, as in sync mode, rather than refused by the queue on every
/// retry.
#[cfg(feature = "queue")]
fn enqueue_webhook(
    settings: &Settings,
    provider: Provider,
    name: &str,
    messages: &[Outgoing],
    seen: &[Option<String>],
    now: i64,
    script: &mut Script,
) -> Result<Response, Suspend> {
    let fresh: Vec<&Outgoing> = messages.iter().zip(seen).filter(|(_, seen)| seen.is_none()).map(|(m, _)| m).collect();
    if fresh.is_empty() {
        let reports = messages.iter().map(|m| report(m, "duplicate")).collect();
        return Ok(webhook_answer(200, "duplicate", provider, name, reports));
    }
    let queued: Vec<Queued> = fresh.iter().map(|m| Queued::new(m, provider.name(), name, now)).collect();
    let (fits, too_large): (Vec<Queued>, Vec<Queued>) = queued.into_iter().partition(queue::fits);
    for batch in queue::batches(fits) {
        if let Err(why) = script.enqueue(batch)? {
            let mut response = Response::error(503, "queue_unavailable", format!("the delivery queue refused: {why}"));
            response.headers.push(("Retry-After".into(), "30".into()));
            return Ok(response);
        }
    }
    let posted_now = post_too_large(settings, provider, name, &too_large, script)?;
    if let Some(failure) = posted_now.failure {
        return Ok(failure);
    }
    let reports: Vec<Value> = messages
        .iter()
        .zip(seen)
        .map(|(m, seen)| {
            let posted = posted_now.reports.iter().find(|r| r["id"] == m.message.id.as_str());
            match (seen, posted) {
                (Some(_), _) => report(m, "duplicate"),
                (None, Some(posted)) => posted.clone(),
                (None, None) => report(m, "queued"),
            }
        })
        .collect();
    Ok(webhook_answer(202, "queued", provider, name, reports))
}

/// Queue mode: posts at once the messages too large for the queue, with
/// their claims, as sync mode posts every message.
#[cfg(feature = "queue")]
fn post_too_large(
    settings: &Settings,
    provider: Provider,
    name: &str,
    too_large: &[Queued],
    script: &mut Script,
) -> Result<Posted, Suspend> {
    let outgoing: Vec<Outgoing> =
        too_large.iter().map(|q| Outgoing { channel: q.channel, message: q.message.clone() }).collect();
    let held = script.claim(outgoing.iter().map(|m| claim_of(keys::seen(&m.message.id))).collect())?;
    let mut posted = post_claimed(settings, provider, name, &outgoing, &held, script)?;
    if posted.failure.is_none() && posted.elsewhere {
        posted.failure = Some(in_progress(provider.name(), name, posted.reports.clone()));
    }
    Ok(posted)
}

fn run_staff_reply(
    parts: &[SmsPart],
    part_keys: &[String],
    url: &str,
    api_key: &Secret,
    script: &mut Script,
) -> Result<Response, Suspend> {
    // Each part is claimed before it is sent, so overlapping copies of one
    // reply (Re:amaze retries a reply whose answer is slow) send it once.
    let held = script.claim(part_keys.iter().cloned().map(claim_of).collect())?;
    let mut unsettled: Vec<String> =
        part_keys.iter().zip(&held).filter(|(_, h)| h.is_none()).map(|(k, _)| k.clone()).collect();
    if held.iter().any(|h| h.as_deref() == Some(store::PENDING)) {
        script.release(unsettled)?;
        return Ok(in_progress("reamaze", "staff_reply", Vec::new()));
    }
    let already_sent = held;
    // The echo markers go first: Voice360's SMS_SENT webhook for a part may
    // arrive before its send call returns.
    let echoes = parts
        .iter()
        .zip(&already_sent)
        .filter(|(_, sent)| sent.is_none())
        .map(|(p, _)| Entry { key: keys::echo(&p.from, &p.to, &p.message), value: "1".into(), ttl_seconds: ttl::ECHO })
        .collect();
    script.write(echoes)?;

    let total = parts.len();
    for (index, (part, sent)) in parts.iter().zip(&already_sent).enumerate() {
        if sent.is_some() {
            continue;
        }
        let target = Target::Voice360Sms { part: index, parts: total };
        let result = script.deliver(|| Delivery {
            target: target.clone(),
            method: "POST",
            url: url.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (API_KEY_HEADER.into(), api_key.expose().to_string()),
            ],
            body: serde_json::to_vec(part).expect("SMS parts serialize"),
        })?;
        let (status, code) = match result.verdict(&target) {
            Verdict::Accepted => {
                unsettled.retain(|k| *k != part_keys[index]);
                script.write(vec![done(part_keys[index].clone())])?;
                continue;
            }
            Verdict::Temporary => (503, "sms_unavailable"),
            Verdict::Permanent => (502, "sms_refused"),
        };
        script.release(unsettled)?;
        let quote = quote(&result.body);
        let said = match result.status {
            Some(status) => format!("Voice360 answered {status}: {quote}"),
            None => format!("Voice360 did not answer: {quote}"),
        };
        return Ok(Response::failure(
            status,
            code,
            format!("SMS part {} of {total} was not sent. {said}", index + 1),
            vec![
                ("parts_sent", index.into()),
                ("parts", total.into()),
                ("upstream", upstream_quote(result.status, quote)),
            ],
        )
        .with_header("Retry-After", if status == 503 { result.retry_after.clone() } else { None }));
    }
    Ok(Response::json(200, json!({ "status": "sent", "parts": total })))
}

/// The signed request that posts `outgoing`, or the 503 saying its
/// channel's secret is not set.
pub(crate) fn reamaze_delivery(settings: &Settings, outgoing: &Outgoing) -> Result<Delivery, Response> {
    let body = outgoing.message.to_json();
    let secret = channel_secret(settings, outgoing.channel)?;
    Ok(Delivery {
        target: Target::Reamaze { channel: outgoing.channel, message_id: outgoing.message.id.clone() },
        method: "POST",
        url: outgoing.channel.endpoint(&settings.reamaze_base_url),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (Scheme::Reamaze.header().into(), signature::sign_reamaze(secret.as_ref(), &body)),
        ],
        body,
    })
}

/// The channel's shared secret, or the 503 that says it is not set (or
/// that the Re:amaze URL cannot be used).
fn channel_secret(settings: &Settings, channel: Channel) -> Result<&Secret, Response> {
    if let Some(invalid) = settings.blocking(&[names::REAMAZE_BASE_URL]) {
        return Err(setting_invalid(invalid, "posting to Re:amaze"));
    }
    let (secret, name) = match channel {
        Channel::Voice => (&settings.reamaze_voice_secret, names::REAMAZE_VOICE_SECRET),
        Channel::Sms => (&settings.reamaze_sms_secret, names::REAMAZE_SMS_SECRET),
    };
    secret.as_ref().ok_or_else(|| not_configured(name))
}

fn upstream_failure(
    status: u16,
    code: &str,
    upstream: &str,
    provider: Provider,
    event: &str,
    result: &DeliveryResult,
    reports: Vec<Value>,
) -> Response {
    let quote = quote(&result.body);
    let message = match result.status {
        Some(s) => format!("{upstream} answered {s}: {quote}"),
        None => format!("{upstream} did not answer: {quote}"),
    };
    Response::failure(
        status,
        code,
        message,
        vec![
            ("provider", provider.name().into()),
            ("event", event.into()),
            ("messages", Value::Array(reports)),
            ("upstream", upstream_quote(result.status, quote)),
        ],
    )
    .with_header("Retry-After", if status == 503 { result.retry_after.clone() } else { None })
}

/// What an upstream answered: its status (none when it did not answer) and
/// the beginning of its body.
fn upstream_quote(status: Option<u16>, quote: String) -> Value {
    let mut upstream = serde_json::Map::new();
    upstream.insert("status".into(), status.map_or(Value::Null, Value::from));
    upstream.insert("body".into(), quote.into());
    Value::Object(upstream)
}

fn quote(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(UPSTREAM_QUOTE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// 413: the body is over MAX_BODY_BYTES. `announced` is its size when
/// known (the whole body read, or a `Content-Length`); a shell that stops
/// reading a stream at the limit knows only that it is over.
pub fn body_too_large(settings: &Settings, announced: Option<usize>) -> Response {
    let limit = settings.max_body_bytes;
    let message = match announced {
        Some(bytes) => format!("the body has {bytes} bytes; the limit is {limit} (MAX_BODY_BYTES)"),
        None => format!("the body has more than {limit} bytes; the limit is {limit} (MAX_BODY_BYTES)"),
    };
    Response::error(413, "body_too_large", message)
}

pub(crate) fn header_too_large(name: &str, bytes: usize, settings: &Settings) -> Response {
    let limit = settings.max_header_bytes;
    Response::error(
        431,
        "header_too_large",
        format!("header {name} has {bytes} bytes; the limit is {limit} (MAX_HEADER_BYTES)"),
    )
}

/// The answer to a staff reply that cannot be sent as it is.
fn reply_refused(error: &ReplyError) -> Response {
    let field = error.field().map_or(Value::Null, Value::from);
    Response::failure(error.status(), error.code(), error.to_string(), vec![("field", field)])
}

/// The settings a provider's webhooks depend on.
pub(crate) fn provider_settings(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Voice360 => &[names::VOICE360_WEBHOOK_SECRETS],
        Provider::Bird => &[names::BIRD_SIGNING_KEYS, names::BIRD_MAX_AGE_SECONDS, names::BIRD_MAX_FUTURE_SECONDS],
        Provider::Volubile => &[names::VOLUBILE_WEBHOOK_SECRETS],
    }
}

/// 503: what `feature` needs is set to a value that cannot be used. The
/// sender retries, and its retry goes through once the setting is fixed.
fn setting_invalid(invalid: &crate::settings::SettingsError, feature: &str) -> Response {
    let message = format!("{invalid}; {feature} are off until it is fixed");
    let mut response = Response::failure(503, "invalid_setting", message, vec![("setting", invalid.name.into())]);
    response.headers.push(("Retry-After".into(), "300".into()));
    response
}

fn not_configured(setting: &str) -> Response {
    Response::error(503, "not_configured", format!("{setting} is not set on this bridge"))
}

fn unauthorized(error: VerifyError) -> Response {
    match error {
        VerifyError::NoSecrets => Response::error(503, "not_configured", error.to_string()),
        other => Response::error(401, other.code(), other.to_string()),
    }
}

fn bad_payload(provider: Provider, event: Option<&str>, error: &TranslateError) -> Response {
    let status = match error {
        TranslateError::UnknownCall { .. } => 422,
        _ => 400,
    };
    let text = |text: Option<&str>| text.map_or(Value::Null, Value::from);
    let more = vec![("provider", provider.name().into()), ("event", text(event)), ("field", text(error.field()))];
    Response::failure(status, error.code(), error.to_string(), more)
}
