//! The wasm-bindgen API of the npm package (feature `js`). It stays thin:
//! bytes and JSON text cross the boundary (no serde-wasm-bindgen), and the
//! package's JavaScript (`pkg/src/api.mjs`) shapes them into its API.
//! Failures are JS `Error`s with a stable `code` property.

use js_sys::{Error, Reflect, Uint8Array};
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

use crate::bridge::{reamaze_delivery, Bridge, DeliveryResult, Exchange, Headers, Request, Step};
use crate::providers::{self, Outcome, Provider};
use crate::reamaze::{reply_to_sms, StaffReply};
use crate::settings::Settings;
use crate::signature::{self, Scheme, Signed, Window};
use crate::store::MemoryStore;

thread_local! {
    /// The host's SHA-256, when it offers one (`setHostSha256`).
    static HOST_SHA256: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
}

/// Lets the host compute SHA-256: `sha256(data, prefix)` gets a Uint8Array
/// (and, for long data, the Uint8Array that comes before it) and returns
/// the digest as 64 hex digits. Hex, not bytes: in Node, `crypto.hash`
/// answers in half the time when it makes a string rather than a Buffer
/// (0.75 against 1.46 µs for 1 KiB). Node's entry passes `node:crypto`'s
/// (OpenSSL, using the CPU's SHA instructions); the browser's WebCrypto is
/// async, so the browser keeps the compiled-in one.
#[wasm_bindgen(js_name = setHostSha256)]
pub fn set_host_sha256(sha256: Option<js_sys::Function>) {
    HOST_SHA256.with(|host| *host.borrow_mut() = sha256);
}

/// Below this many bytes of data the compiled-in HMAC is as fast: in Node
/// a host hash costs about 0.75 µs a call whatever the length, SHA-256 in
/// wasm about 2.5 µs per KiB more than OpenSSL's. Verify in wasm, then
/// with the host: 2.8 then 3.2 µs at 64 B, 3.4 then 3.5 µs at 256 B, 3.8
/// then 3.3 µs at 384 B.
const HOST_HMAC_MIN_BYTES: usize = 256;

/// Up to this many bytes, copying data behind the key block costs less
/// than a second host call; beyond, the copy costs more (verify 1 MiB in
/// Node: 686 µs copying, against 609 µs with the host's own HMAC).
const HOST_COPY_MAX_BYTES: usize = 64 * 1024;

/// HMAC-SHA256 (RFC 2104) of `data` under `key` with its long hash done by
/// the host, if it has one, `data` is long enough for it to pay, and it
/// answers with 32 bytes: H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ data)). The host
/// hashes the inner part, which holds the data; the outer hash covers two
/// blocks and stays here. One host call, with no object to create, is what
/// makes this faster than the host's own HMAC (`createHmac`).
pub(crate) fn host_hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; signature::MAC_LEN]> {
    use sha2::{Digest, Sha256};
    const BLOCK: usize = 64;
    if data.len() < HOST_HMAC_MIN_BYTES {
        return None;
    }
    HOST_SHA256.with(|host| {
        let host = host.borrow();
        let sha256 = host.as_ref()?;
        // The key as one block: hashed first if longer, zero-padded.
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            block[..signature::MAC_LEN].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let inner_key = block.map(|b| b ^ 0x36);
        // Views into wasm memory, valid while the host runs: it allocates
        // nothing in this module's memory. Usual data is copied behind the
        // key block, for the host's one-call hash; long data is passed as it
        // is, with the key block beside it, rather than copied.
        let answer = if data.len() <= HOST_COPY_MAX_BYTES {
            let mut inner = Vec::with_capacity(BLOCK + data.len());
            inner.extend_from_slice(&inner_key);
            inner.extend_from_slice(data);
            sha256.call1(&JsValue::NULL, unsafe { &Uint8Array::view(&inner) })
        } else {
            sha256.call2(&JsValue::NULL, unsafe { &Uint8Array::view(data) }, unsafe { &Uint8Array::view(&inner_key) })
        };
        let mut inner_digest = [0u8; signature::MAC_LEN];
        hex::decode_to_slice(answer.ok()?.as_string()?, &mut inner_digest).ok()?;
        let mut outer = Sha256::new();
        outer.update(block.map(|b| b ^ 0x5c));
        outer.update(inner_digest);
        Some(outer.finalize().into())
    })
}

/// A JS `Error` with a stable `code`.
fn error(code: &str, message: &str) -> JsValue {
    let error = Error::new(message);
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// A JS `Error` with a `code`, and the `field` it concerns.
fn field_error(code: &str, message: &str, field: Option<&str>) -> JsValue {
    let error = error(code, message);
    if let Some(field) = field {
        let _ = Reflect::set(&error, &"field".into(), &field.into());
    }
    error
}

fn scheme(name: &str) -> Result<Scheme, JsValue> {
    name.parse().map_err(|e: String| error("unknown_scheme", &e))
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
    let object: Map<String, Value> = if json_text.trim().is_empty() {
        Map::new()
    } else {
        serde_json::from_str(json_text).map_err(|e| error("invalid_settings", &format!("settings: {e}")))?
    };
    let text = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            Some(items.iter().filter_map(|i| i.as_str().map(String::from)).collect::<Vec<_>>().join(","))
        }
        _ => None,
    };
    Ok(Settings::read(|name| object.get(name).and_then(text)))
}

/// Signs `body`; Bird also takes the timestamp and URL.
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

/// Verifies `signature` over `body` against each of `secrets`. Returns
/// `[secretIndex]` when one matched, else `[code, message]` (strings: no
/// JSON to build here and parse in JS on a call made for every webhook).
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = verify)]
pub fn verify_js(
    scheme_name: &str,
    secrets: Vec<Uint8Array>,
    body: &[u8],
    signature: Option<String>,
    timestamp: Option<String>,
    url: Option<String>,
    now: f64,
    max_age: Option<f64>,
    max_future: Option<f64>,
) -> Result<Vec<String>, JsValue> {
    let scheme = scheme(scheme_name)?;
    let secrets: Vec<Vec<u8>> = secrets.iter().map(Uint8Array::to_vec).collect();
    let signed = Signed { body, timestamp: timestamp.as_deref(), url: url.as_deref() };
    let window = Window {
        now: now as i64,
        max_age: max_age.map_or(Window::DEFAULT_MAX_AGE, |s| s as u64),
        max_future: max_future.map_or(Window::DEFAULT_MAX_FUTURE, |s| s as u64),
    };
    Ok(match signature::verify(scheme, &secrets, &signed, signature.as_deref(), window) {
        Ok(verified) => vec![verified.secret_index.to_string()],
        Err(e) => vec![e.code().to_string(), e.to_string()],
    })
}

/// Translates one provider payload. Returns JSON:
/// `{"provider", "event", "messages": [{"channel", "endpoint", "message"}]}`
/// or `{"provider", "event", "ignored": reason}`; throws for a payload that
/// cannot be used (`code`: invalid_json, missing_field, invalid_field,
/// unknown_call).
#[wasm_bindgen(js_name = translate)]
pub fn translate_js(provider: &str, body: &[u8], settings_json: &str) -> Result<String, JsValue> {
    let provider: Provider = provider.parse().map_err(|e: String| error("unknown_provider", &e))?;
    let settings = settings(settings_json)?;
    let (event, translation) = providers::translate_payload(provider, body, &settings, &mut MemoryStore::new(), 0)
        .map_err(|e| field_error(e.code(), &e.to_string(), e.field()))?;
    let mut out = json!({ "provider": provider.name(), "event": event.name() });
    match translation.outcome {
        Outcome::Messages(messages) => {
            out["messages"] = messages
                .iter()
                .map(|m| {
                    json!({
                        "channel": m.channel,
                        "endpoint": m.channel.endpoint(&settings.reamaze_base_url),
                        "message": m.message,
                    })
                })
                .collect();
        }
        Outcome::Ignored(reason) => out["ignored"] = json!(reason),
    }
    Ok(out.to_string())
}

/// A Re:amaze staff reply as the SMS parts to send: JSON `[{from, to, message}]`.
#[wasm_bindgen(js_name = replyToSms)]
pub fn reply_to_sms_js(body: &[u8], settings_json: &str) -> Result<String, JsValue> {
    let settings = settings(settings_json)?;
    let channel = settings
        .sms_channel_number
        .as_deref()
        .ok_or_else(|| error("not_configured", "SMS_CHANNEL_NUMBER is not set"))?;
    let reply: StaffReply =
        crate::json::parse_as(body, settings.max_json_depth).map_err(|e| error(e.code(), &e.to_string()))?;
    let parts = reply_to_sms(&reply, channel).map_err(|e| field_error(e.code(), &e.to_string(), e.field()))?;
    Ok(serde_json::to_string(&parts).expect("SMS parts serialize"))
}

/// Verify, translate and sign in one call, with the settings read once and
/// the parties of calls remembered between calls (in memory).
#[wasm_bindgen(js_name = CoreProcessor)]
pub struct JsProcessor {
    settings: Settings,
    store: MemoryStore,
}

#[wasm_bindgen(js_class = CoreProcessor)]
impl JsProcessor {
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> Result<JsProcessor, JsValue> {
        Ok(JsProcessor { settings: lenient_settings(settings_json)?, store: MemoryStore::new() })
    }

    /// A provider webhook as the signed Re:amaze requests to make, as an
    /// array of strings the package's JavaScript shapes: `["deliver", event,
    /// then url, signature, body for each delivery]`, `["ignored", event,
    /// reason]`, or `["refused", JSON {"ok": false, "status", "code",
    /// "message", "field"?}]` with the status the bridge would answer. Plain
    /// strings, not one JSON document, on the paths every webhook takes:
    /// the bodies are JSON already (embedded they would be escaped once more
    /// here and parsed once more in JS), and the rest needs no parsing.
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        provider: &str,
        body: &[u8],
        signature: Option<String>,
        timestamp: Option<String>,
        url: Option<String>,
        now: f64,
    ) -> Result<Vec<String>, JsValue> {
        let provider: Provider = provider.parse().map_err(|e: String| error("unknown_provider", &e))?;
        let s = &self.settings;
        let (scheme, secrets, setting) = s.webhook_auth(provider);
        let refused = |status: u16, code: &str, message: String, field: Option<&str>| {
            let mut out = json!({ "ok": false, "status": status, "code": code, "message": message });
            if let Some(field) = field {
                out["field"] = json!(field);
            }
            Ok(vec!["refused".into(), out.to_string()])
        };
        if let Some(invalid) = s.blocking(crate::bridge::provider_settings(provider)) {
            return refused(503, "invalid_setting", invalid.to_string(), None);
        }
        if secrets.is_empty() {
            return refused(503, "not_configured", format!("{setting} is not set"), None);
        }
        let url = s.bird_webhook_url.clone().or(url);
        let signed = Signed { body, timestamp: timestamp.as_deref(), url: url.as_deref() };
        if let Err(e) = signature::verify(scheme, secrets, &signed, signature.as_deref(), s.bird_window(now as i64)) {
            return refused(401, e.code(), e.to_string(), None);
        }
        let (event, translation) = match providers::translate_payload(provider, body, s, &mut self.store, now as i64) {
            Ok(done) => done,
            Err(e) => {
                let status = if e.code() == "unknown_call" { 422 } else { 400 };
                return refused(status, e.code(), e.to_string(), e.field());
            }
        };
        let messages = match translation.outcome {
            Outcome::Ignored(reason) => return Ok(vec!["ignored".into(), event.name(), reason]),
            Outcome::Messages(messages) => messages,
        };
        let mut out = Vec::with_capacity(2 + 3 * messages.len());
        out.extend(["deliver".into(), event.name()]);
        for outgoing in &messages {
            let delivery = match reamaze_delivery(s, outgoing) {
                Ok(delivery) => delivery,
                Err(response) => {
                    let message = response.body_json()["message"].as_str().unwrap_or_default().to_string();
                    return refused(503, "not_configured", message, None);
                }
            };
            let signature = delivery.headers.into_iter().find(|(k, _)| k == Scheme::Reamaze.header()).map(|(_, v)| v);
            out.extend([delivery.url, signature.expect("a Re:amaze delivery is signed")]);
            out.push(String::from_utf8(delivery.body).expect("serialized JSON is UTF-8"));
        }
        Ok(out)
    }
}

/// The whole bridge, driven by the package's JavaScript.
#[wasm_bindgen(js_name = CoreBridge)]
pub struct JsBridge {
    bridge: Bridge,
}

#[wasm_bindgen(js_class = CoreBridge)]
impl JsBridge {
    #[wasm_bindgen(constructor)]
    pub fn new(settings_json: &str) -> Result<JsBridge, JsValue> {
        Ok(JsBridge { bridge: Bridge::new(lenient_settings(settings_json)?) })
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

    /// The 413 answer, as a step's `respond` JSON, for a body over the
    /// limit: `announced` is its size when known (a Content-Length).
    #[wasm_bindgen(js_name = bodyTooLarge)]
    pub fn body_too_large(&self, announced: Option<f64>) -> String {
        let response = crate::bridge::body_too_large(self.bridge.settings(), announced.map(|n| n as usize));
        json!({ "status": response.status, "headers": response.headers,
                "body": String::from_utf8_lossy(&response.body) })
        .to_string()
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
        let pairs: Vec<(String, String)> =
            serde_json::from_str(headers_json).map_err(|e| error("invalid_headers", &e.to_string()))?;
        let headers: Headers = pairs.into_iter().collect();
        let request = Request { method, path, url, headers: &headers, body };
        Ok(JsExchange { exchange: self.bridge.exchange(&request, now as i64) })
    }
}

/// A step as the package's JavaScript reads it: `{"read": [keys]}` and so
/// on, one key naming the step.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum StepJson<'a> {
    Read(&'a [String]),
    Write(Vec<EntryJson<'a>>),
    Claim(Vec<EntryJson<'a>>),
    Release(&'a [String]),
    Deliver(MessageJson<'a>),
    Respond(MessageJson<'a>),
}

#[derive(serde::Serialize)]
struct EntryJson<'a> {
    key: &'a str,
    value: &'a str,
    #[serde(rename = "ttlSeconds")]
    ttl_seconds: u64,
}

/// An outbound request (`url` and `method`) or the answer (`status`).
#[derive(serde::Serialize)]
struct MessageJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    headers: &'a [(String, String)],
    body: std::borrow::Cow<'a, str>,
}

fn entries_json(entries: &[crate::store::Entry]) -> Vec<EntryJson<'_>> {
    entries.iter().map(|e| EntryJson { key: &e.key, value: &e.value, ttl_seconds: e.ttl_seconds }).collect()
}

/// One request in flight; see `bridge::Exchange`.
#[wasm_bindgen(js_name = CoreExchange)]
pub struct JsExchange {
    exchange: Exchange,
}

#[wasm_bindgen(js_class = CoreExchange)]
impl JsExchange {
    /// The next step as JSON: `{"read": [keys]}`, `{"write": [{key, value,
    /// ttlSeconds}]}`, `{"claim": [{key, value, ttlSeconds}]}`, `{"release":
    /// [keys]}`, `{"deliver": {url, method, headers, body}}` or
    /// `{"respond": {status, headers, body}}` (bodies as UTF-8 text).
    pub fn step(&mut self) -> String {
        let step = self.exchange.step();
        let json = match &step {
            Step::Read(keys) => StepJson::Read(keys),
            Step::Write(entries) => StepJson::Write(entries_json(entries)),
            Step::Claim(entries) => StepJson::Claim(entries_json(entries)),
            Step::Release(keys) => StepJson::Release(keys),
            Step::Deliver(d) => StepJson::Deliver(MessageJson {
                url: Some(&d.url),
                method: Some(d.method),
                status: None,
                headers: &d.headers,
                body: String::from_utf8_lossy(&d.body),
            }),
            // A build with both shells has queue mode; this one never uses it.
            #[cfg(feature = "queue")]
            Step::Enqueue(_) => unreachable!("the JS bridge runs in sync mode"),
            Step::Respond(r) => StepJson::Respond(MessageJson {
                url: None,
                method: None,
                status: Some(r.status),
                headers: &r.headers,
                body: String::from_utf8_lossy(&r.body),
            }),
        };
        serde_json::to_string(&json).expect("a step serializes")
    }

    /// Answers a claim: a JSON array with, per key, null when the claim was
    /// written, else the value the key already held.
    pub fn claimed(&mut self, values_json: &str) -> Result<(), JsValue> {
        let held: Vec<Option<String>> =
            serde_json::from_str(values_json).map_err(|e| error("invalid_store_value", &e.to_string()))?;
        self.exchange.claimed(held);
        Ok(())
    }

    /// Answers a read: a JSON array of strings or nulls, in the keys' order.
    pub fn provide(&mut self, values_json: &str) -> Result<(), JsValue> {
        let values: Vec<Option<String>> =
            serde_json::from_str(values_json).map_err(|e| error("invalid_store_value", &e.to_string()))?;
        self.exchange.provide(values);
        Ok(())
    }

    /// Answers a delivery: the HTTP status (none when no answer came), the
    /// `Retry-After` header, and the answer's body or the network error.
    pub fn delivered(&mut self, status: Option<u16>, retry_after: Option<String>, body: String) {
        self.exchange.delivered(DeliveryResult { status, retry_after, body });
    }
}
