//! The wasm-bindgen API of the npm package (feature `js`). It stays thin:
//! bytes and JSON text cross the boundary (no serde-wasm-bindgen), and the
//! package's JavaScript (`pkg/src/api.mjs`) shapes them into its API.
//! Failures are JS `Error`s with a stable `code` property (and `status`,
//! `field` where the core's `Error` has them).

mod contract;
mod exchange;
mod frame;
mod host_hash;

use js_sys::{Error as JsError, Reflect};
use wasm_bindgen::prelude::*;

use crate::bridge::{Bridge, Processed, Step};
use crate::error::Error;
use crate::http::{Headers, Request};
use crate::json::{self, JsonError, Node, Object};
use crate::mistakes::{self, Checked};
use crate::pages::Page;
use crate::providers::{self, Preview, Provider};
use crate::reamaze::{self, reply_to_sms, StaffReply};
use crate::settings::{names, Settings};
use crate::signature::{self, Scheme, Signed, Window};
use crate::store::MemoryStore;
use exchange::JsExchange;
use frame::Output;

/// Lets the host compute SHA-256 for long bodies (`host_hash`): Node's
/// entry passes `node:crypto`'s; the browser's WebCrypto is async, so the
/// browser keeps the compiled-in one.
#[wasm_bindgen(js_name = setHostSha256)]
pub fn set_host_sha256(sha256: Option<js_sys::Function>) {
    host_hash::install(sha256);
}

/// A JS `Error` with a stable `code`.
fn error(code: &str, message: &str) -> JsValue {
    let error = JsError::new(message);
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// The core's error as a JS `Error`, with its `code`, the `field` it
/// concerns, and the HTTP `status` the bridge answers it with.
fn thrown(core: Error) -> JsValue {
    let error = error(core.code(), &core.to_string());
    if let Some(field) = core.field() {
        let _ = Reflect::set(&error, &"field".into(), &field.into());
    }
    let _ = Reflect::set(&error, &"status".into(), &core.status().into());
    error
}

/// What the bridge's HTTP contract fixes, for the package and the debugger
/// page, so neither copies it: each scheme and each provider as the core
/// describes them (`providers::ALL`), each route's path by who calls it,
/// and the default freshness window of a stamped scheme.
#[wasm_bindgen]
pub fn contract() -> String {
    contract::json()
}

/// The headers `page` (`debugger` or `console`) is served with, for `html`
/// as served, as `[[name, value], …]` JSON: the npm package serves the
/// console with them, and the Worker's build writes them to its assets'
/// `_headers`.
#[wasm_bindgen(js_name = pageHeaders)]
pub fn page_headers(page: &str, html: &str) -> Result<String, JsValue> {
    Ok(serde_json::to_string(&page_named(page)?.headers(html)).expect("headers serialize"))
}

/// The Content-Security-Policy of `page` for a `<meta>` in `html`.
#[wasm_bindgen(js_name = pagePolicy)]
pub fn page_policy(page: &str, html: &str) -> Result<String, JsValue> {
    Ok(page_named(page)?.policy(html, true))
}

fn page_named(name: &str) -> Result<Page, JsValue> {
    Page::named(name).ok_or_else(|| error("unknown_page", "a page is `debugger` or `console`"))
}

fn scheme(name: &str) -> Result<&'static Scheme, JsValue> {
    providers::scheme_named(name).map_err(|e| error("unknown_scheme", &e))
}

/// Settings from a JS object turned to JSON text, for a one-off call: a
/// setting that cannot be used is an error.
fn settings(json_text: &str) -> Result<Settings, JsValue> {
    let settings = lenient_settings(json_text)?;
    match settings.invalid.first() {
        Some(e) => Err(error("invalid_settings", &e.to_string())),
        None => Ok(settings),
    }
}

/// Settings from a JS object turned to JSON text: the contract's names as
/// keys; strings, numbers, or arrays (comma lists) as values. A setting that
/// cannot be used turns off only what depends on it (`Settings::read`), as a
/// long-running bridge or processor needs.
fn lenient_settings(json_text: &str) -> Result<Settings, JsValue> {
    let object = if json_text.trim().is_empty() {
        Object::default()
    } else {
        json::parse_object(json_text.as_bytes(), 4).map_err(|e| error("invalid_settings", &format!("settings: {e}")))?
    };
    let text = |value: &Node| match value {
        Node::String(s) => Some(s.clone()),
        Node::Number(n) => Some(n.to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Array(items) => Some(items.iter().filter_map(Node::as_str).collect::<Vec<_>>().join(",")),
        _ => None,
    };
    Ok(Settings::read(|name| object.get(name).and_then(text)))
}

/// Signs `body`; a stamped scheme also takes the timestamp and URL.
#[wasm_bindgen(js_name = sign)]
pub fn sign_js(
    scheme_name: &str,
    secret: &[u8],
    body: &[u8],
    timestamp: Option<String>,
    url: Option<String>,
) -> Result<String, JsValue> {
    let signed = Signed { body, timestamp: timestamp.as_deref(), url: url.as_deref() };
    signature::sign(scheme(scheme_name)?, secret, &signed).map_err(|e| error(e.code(), &e.to_string()))
}

/// The core's memory, where frames are written and read.
#[wasm_bindgen(js_name = frameMemory)]
pub fn frame_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Where the next frame goes (see `frame`): an input buffer of at least
/// `len` bytes. The JavaScript keeps the address until it needs more room.
#[wasm_bindgen(js_name = frameInput)]
pub fn frame_input(len: usize) -> *mut u8 {
    frame::input(len)
}

/// What a frame operation answers besides its output: `ANSWERED` (or, for
/// `verifyFrame`, the secret's index), `REFUSED` with the output `[code,
/// message]`, or `THROWN` with the output `[code, message]` for an
/// argument the call cannot take (the package throws it).
const ANSWERED: i32 = 0;
const REFUSED: i32 = -1;
const THROWN: i32 = -2;

/// A signature check's arguments, as `verifyFrame` and `diagnoseFrame`
/// read them from a frame: the scheme's name, the signature header,
/// a stamped scheme's timestamp header and URL (each may be absent), now, its
/// maximum age and lead (NaN for the defaults), the body, then each
/// secret.
struct Check<'a> {
    scheme: &'static Scheme,
    secrets: Vec<&'a [u8]>,
    signed: Signed<'a>,
    received: Option<&'a str>,
    window: Window,
}

impl<'a> Check<'a> {
    /// The check, or the `[code, message]` to throw for a scheme there is not.
    fn read(mut items: frame::Items<'a>) -> Result<Check<'a>, Output> {
        let name = items.text().unwrap_or_default();
        let (received, timestamp, url) = (items.text(), items.text(), items.text());
        let (now, max_age, max_future) = (items.number(), items.number(), items.number());
        let given = |n: f64| Some(n).filter(|n| !n.is_nan());
        let window = window(now, given(max_age), given(max_future));
        let body = items.field().unwrap_or_default();
        let secrets = std::iter::from_fn(|| items.field()).collect();
        let scheme = providers::scheme_named(name).map_err(|why| Output::of(&["unknown_scheme".to_string(), why]))?;
        Ok(Check { scheme, secrets, signed: Signed { body, timestamp, url }, received, window })
    }

    /// Runs `operation` on the check in the frame of `len` bytes, or
    /// answers `THROWN` when the frame names no scheme there is.
    fn run(len: usize, operation: impl FnOnce(Check) -> (i32, Output)) -> i32 {
        frame::run(len, |items| match Check::read(items) {
            Ok(check) => operation(check),
            Err(thrown) => (THROWN, thrown),
        })
    }
}

/// A refused signature as a frame operation answers it: its code, its
/// message and its headline.
fn refused(error: &signature::VerifyError) -> [String; 3] {
    [error.code().to_string(), error.to_string(), error.headline().to_string()]
}

/// Verifies a signature, from a frame of `len` bytes (`Check`). Returns
/// the index of the secret that matched, else `REFUSED` or `THROWN`.
#[wasm_bindgen(js_name = verifyFrame)]
pub fn verify_frame(len: usize) -> i32 {
    Check::run(len, |check| {
        match signature::verify(check.scheme, &check.secrets, &check.signed, check.received, check.window) {
            Ok(verified) => (verified.secret_index as i32, Output::default()),
            Err(e) => (REFUSED, Output::of(&refused(&e))),
        }
    })
}

/// Verifies as `verifyFrame` does, then names the likely causes (the
/// debugger page's mistake-finder). Answers the secret's index or
/// `REFUSED`, with the output `["", "", title, detail, ...]` or `[code,
/// message, title, detail, ...]`; or `THROWN`.
#[wasm_bindgen(js_name = diagnoseFrame)]
pub fn diagnose_frame(len: usize) -> i32 {
    Check::run(len, |check| {
        let secrets: Vec<Vec<u8>> = check.secrets.iter().map(|s| s.to_vec()).collect();
        let checked = Checked {
            scheme: check.scheme,
            secrets: &secrets,
            signed: check.signed,
            received: check.received,
            window: check.window,
        };
        let diagnosis = mistakes::diagnose(&checked, mistakes::DEFAULT_BUDGET);
        let (answer, mut out) = match diagnosis.verified {
            Ok(verified) => (verified.secret_index as i32, vec![String::new(); 3]),
            Err(e) => (REFUSED, refused(&e).to_vec()),
        };
        out.extend(diagnosis.causes.into_iter().flat_map(|cause| [cause.title, cause.detail]));
        (answer, Output::of(&out))
    })
}

/// A stamped scheme's window at `now`, the defaults where not given.
fn window(now: f64, max_age: Option<f64>, max_future: Option<f64>) -> Window {
    Window {
        now: now as i64,
        max_age: max_age.map_or(Window::DEFAULT_MAX_AGE, |s| s as u64),
        max_future: max_future.map_or(Window::DEFAULT_MAX_FUTURE, |s| s as u64),
    }
}

/// Translates one provider payload. Returns JSON:
/// `{"provider", "event", "messages": [{"channel", "endpoint", "message"}]}`
/// or `{"provider", "event", "ignored": reason}`; throws for a payload that
/// cannot be used (`code`: invalid_json, missing_field, invalid_field,
/// and the like).
#[wasm_bindgen(js_name = translate)]
pub fn translate_js(provider: &str, body: &[u8], settings_json: &str) -> Result<String, JsValue> {
    let provider: Provider = provider.parse().map_err(|e: String| error("unknown_provider", &e))?;
    let settings = settings(settings_json)?;
    let preview =
        Preview::of(provider, body, &settings, &mut MemoryStore::new(), 0).map_err(|e| thrown(Error::Payload(e)))?;
    Ok(serde_json::to_string(&preview).expect("a preview serializes"))
}

/// A Re:amaze staff reply as the SMS parts to send: JSON `[{from, to, message}]`.
#[wasm_bindgen(js_name = replyToSms)]
pub fn reply_to_sms_js(body: &[u8], settings_json: &str) -> Result<String, JsValue> {
    let settings = settings(settings_json)?;
    let channel = (settings.sms_channel_number.as_deref())
        .ok_or(Error::NotConfigured { setting: names::SMS_CHANNEL_NUMBER })
        .map_err(thrown)?;
    let reply: StaffReply =
        StaffReply::parse(body, settings.max_json_depth).map_err(|e| thrown(Error::ReplyBody(e)))?;
    let parts = reply_to_sms(&reply, channel).map_err(|e| thrown(Error::Reply(e)))?;
    Ok(serde_json::to_string(&parts).expect("SMS parts serialize"))
}

/// The whole bridge, driven by the package's JavaScript: whole exchanges
/// (`exchange`, for `createBridge`), or webhooks processed into the signed
/// requests that post them (`process`, for `createProcessor`), with the
/// parties of calls remembered between calls in memory.
#[wasm_bindgen(js_name = CoreBridge)]
pub struct JsBridge {
    bridge: Bridge,
    store: MemoryStore,
}

#[wasm_bindgen(js_class = CoreBridge)]
impl JsBridge {
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> Result<JsBridge, JsValue> {
        Ok(JsBridge { bridge: Bridge::new(lenient_settings(settings_json)?), store: MemoryStore::new() })
    }

    /// A provider webhook as the signed Re:amaze requests to make, from a
    /// frame of `len` bytes (see `frame`): the provider's name, the
    /// signature header, the timestamp header and the URL (each may be
    /// absent), now, then the body. The output, which the package's
    /// JavaScript shapes, is `["deliver", event, then url, signature, body
    /// for each delivery]`, `["ignored", event, reason]`, `["held", event,
    /// reason]`, or `["refused", status, code, message, field?]`; or
    /// `[code, message]` with `THROWN` for an unknown provider.
    #[wasm_bindgen(js_name = processFrame)]
    pub fn process_frame(&mut self, len: usize) -> i32 {
        frame::run(len, |mut items| {
            let name = items.text().unwrap_or_default();
            let (signature, timestamp, url) = (items.text(), items.text(), items.text().unwrap_or_default());
            let now = items.number() as i64;
            let body = items.field().unwrap_or_default();
            let provider: Provider = match name.parse() {
                Ok(provider) => provider,
                Err(why) => return (THROWN, Output::of(&["unknown_provider".to_string(), why])),
            };
            let mut headers = Headers::new();
            let scheme = provider.scheme;
            signature.into_iter().for_each(|value| headers.append(scheme.header(), value));
            if let Some(name) = scheme.timestamp_header() {
                timestamp.into_iter().for_each(|value| headers.append(name, value));
            }
            let request = Request { method: "POST", path: "", url, headers: &headers, body };
            (ANSWERED, Output::of(&processed(self.bridge.process(provider, &request, &mut self.store, now))))
        })
    }

    /// The settings' upstream timeout, for the JS side's outbound fetch.
    #[wasm_bindgen(getter, js_name = upstreamTimeoutMs)]
    pub fn upstream_timeout_ms(&self) -> f64 {
        self.bridge.settings().upstream_timeout_ms as f64
    }

    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        self.bridge.settings().max_body_bytes as f64
    }

    /// The 413 answer, as an exchange that has answered, for a body over
    /// the limit: `announced` is its size when known (a Content-Length).
    #[wasm_bindgen(js_name = bodyTooLarge)]
    pub fn body_too_large(&self, method: &str, path: &str, announced: Option<f64>) -> JsExchange {
        let limit = self.bridge.settings().max_body_bytes;
        let error = Error::BodyTooLarge { bytes: announced.map(|n| n as usize), limit };
        JsExchange::new(Step::Respond(crate::bridge::failed(method, path, error)))
    }

    /// Whether the admin routes are on (`ADMIN_TOKEN` is set): the package
    /// then serves the operators' console page at `GET /admin`.
    #[wasm_bindgen(getter, js_name = adminEnabled)]
    pub fn admin_enabled(&self) -> bool {
        self.bridge.settings().admin_token.is_some()
    }

    /// For a store that can list its keys: refused webhooks are kept, and
    /// the admin routes list them (`Step::List`).
    #[wasm_bindgen(js_name = keepRecords)]
    pub fn keep_records(&mut self) {
        self.bridge = self.bridge.clone().keeps_records(true);
    }

    /// Whether anything may follow an answer (records, alerts): the
    /// package calls `aftermath` only then.
    #[wasm_bindgen(getter, js_name = followsUp)]
    pub fn follows_up(&self) -> bool {
        self.bridge.follows_up()
    }

    /// What follows the request that `answered` has answered (the request
    /// given again): an exchange to run once the answer is sent, or
    /// undefined when nothing follows.
    #[allow(clippy::too_many_arguments)]
    pub fn aftermath(
        &self,
        answered: &JsExchange,
        method: &str,
        path: &str,
        url: &str,
        headers_json: &str,
        body: &[u8],
        now: f64,
    ) -> Result<Option<JsExchange>, JsValue> {
        let headers = header_pairs(headers_json).map_err(|e| error("invalid_headers", &e.to_string()))?;
        let request = Request { method, path, url, headers: &headers, body };
        let after = self.bridge.aftermath(&request, answered.finished()?, now as i64);
        Ok(after.map(JsExchange::new))
    }

    /// Starts an exchange. `headers_json` is `[[name, value], ...]`.
    pub fn exchange(
        &self,
        method: &str,
        path: &str,
        url: &str,
        headers_json: &str,
        body: &[u8],
        now: f64,
    ) -> Result<JsExchange, JsValue> {
        let headers = header_pairs(headers_json).map_err(|e| error("invalid_headers", &e.to_string()))?;
        let request = Request { method, path, url, headers: &headers, body };
        Ok(JsExchange::new(self.bridge.exchange(&request, now as i64)))
    }
}

/// A processed webhook as the strings of `processFrame`'s output.
fn processed(outcome: Result<Processed, Error>) -> Vec<String> {
    match outcome {
        Ok(Processed::Ignored { event, reason }) => vec!["ignored".into(), event, reason],
        Ok(Processed::Held { event, reason }) => vec!["held".into(), event, reason],
        Ok(Processed::Deliveries { event, deliveries }) => {
            let mut out = vec!["deliver".into(), event];
            for delivery in deliveries {
                let signature = delivery.headers.into_iter().find(|(k, _)| k == reamaze::SCHEME.header);
                out.extend([delivery.url, signature.expect("a Re:amaze delivery is signed").1]);
                out.push(String::from_utf8(delivery.body).expect("serialized JSON is UTF-8"));
            }
            out
        }
        Err(e) => {
            let mut out = vec!["refused".into(), e.status().to_string(), e.code().into(), e.to_string()];
            out.extend(e.field().map(String::from));
            out
        }
    }
}

/// The headers of `[[name, value], ...]`.
fn header_pairs(headers_json: &str) -> Result<Headers, JsonError> {
    let pair = |node: &Node| match node.as_array() {
        Some([Node::String(name), Node::String(value)]) => Ok((name.clone(), value.clone())),
        _ => Err(json::wrong_kind("a header", node, "a [name, value] pair of strings")),
    };
    items(headers_json, "the headers")?.iter().map(pair).collect()
}

/// The items of a JSON array the package's JavaScript wrote.
fn items(json_text: &str, what: &str) -> Result<Vec<Node>, JsonError> {
    match json::parse(json_text.as_bytes(), 3)? {
        Node::Array(items) => Ok(items),
        other => Err(json::wrong_kind(what, &other, "an array")),
    }
}
