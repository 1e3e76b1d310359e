//! The Cloudflare Worker shell (feature `worker`): the HTTP contract of
//! `bridge` over Workers' `fetch`, with Workers KV as the store.
//!
//! Everything it decides comes from the core; this file only moves bytes:
//! request in, store reads and writes, outbound `fetch` with a timeout,
//! response out, and one JSON log line per request.
//!
//! With a `DELIVERIES` queue bound, webhooks are answered 202 once their
//! messages are enqueued, and the queue consumer below delivers them with
//! retries; dead letters go through the `DEAD_LETTERS` queue into KV, where
//! the admin routes list and replay them.

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use worker::js_sys::futures::JsFuture;
use worker::js_sys::{self, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::web_sys::{self, Request as WebRequest};
use worker::{
    console_log, event, Context, Date, Env, Headers, KvStore, MessageBatch, MessageBuilder, MessageExt, Queue,
    QueueRetryOptionsBuilder, Response as WorkerResponse, Result,
};

use crate::bridge::{
    self, Bridge, Delivery, DeliveryResult, Headers as RequestHeaders, Request, Response, Route, Step, Target,
    HEADERS_READ,
};
use crate::queue::{self, DeadLetter, Found, Job, Queued, Settled, DEAD_LETTER_TTL};
use crate::settings::Settings;
use crate::store::{keys, ttl, Entry};

mod store;
pub use store::Claims;
use store::Stores;

/// The KV namespace binding that holds seen event ids, call parties and
/// echo markers.
pub const KV_BINDING: &str = "BRIDGE_KV";
/// The queue of Re:amaze messages to deliver (queue mode when bound).
pub const DELIVERY_QUEUE_BINDING: &str = "DELIVERIES";
/// The queue of messages that will not be delivered without an operator.
pub const DEAD_LETTER_QUEUE_BINDING: &str = "DEAD_LETTERS";

/// How much of an upstream answer is kept (the core quotes less of it).
const UPSTREAM_BODY_LIMIT: usize = 4096;

thread_local! {
    /// A deployment's vars and secrets are fixed for an isolate's life, so
    /// they are read once (about 20 lookups across the JS boundary), not on
    /// every request. A change of settings is a new deployment, hence new
    /// isolates.
    /// Shared, not cloned per request: a clone is some thirty allocations.
    static SETTINGS: RefCell<Option<Arc<Settings>>> = const { RefCell::new(None) };
}

/// The settings, read from `env` on the isolate's first request. One that
/// cannot be used turns off only what depends on it (the core answers
/// those routes 503 naming it, and `/healthz` lists it).
fn settings_of(env: &Env) -> Arc<Settings> {
    if let Some(settings) = SETTINGS.with(|s| s.borrow().clone()) {
        return settings;
    }
    let settings = Arc::new(Settings::read(|name| setting(env, name)));
    SETTINGS.with(|s| *s.borrow_mut() = Some(settings.clone()));
    settings
}

/// What the log line says of one request, in this order. Never a secret,
/// never a body.
#[derive(Default, Serialize)]
struct LogLine {
    method: String,
    route: String,
    provider: Option<String>,
    event: Option<String>,
    outcome: String,
    status: u16,
    upstream_status: Option<u16>,
    deliveries: u32,
    duration_ms: u64,
}

/// Takes the runtime's own `Request`, not worker-rs's: converting it reads
/// the `cf` object and the URL across the JS boundary on every request,
/// for nothing the bridge uses.
#[event(fetch)]
pub async fn fetch(request: WebRequest, env: Env, _ctx: Context) -> Result<WorkerResponse> {
    let started = Date::now().as_millis();
    let mut log = LogLine { method: request.method(), ..LogLine::default() };
    let response = handle(&request, &env, &mut log).await;
    log.duration_ms = Date::now().as_millis().saturating_sub(started);
    console_log!("{}", serde_json::to_string(&log).expect("a log line serializes"));
    to_worker_response(&response)
}

async fn handle(request: &WebRequest, env: &Env, log: &mut LogLine) -> Response {
    // The URL as the runtime gives it, already normalized: parsing it again
    // (worker-rs's `Url`) would bring the `url` crate's IDNA tables, tens of
    // KB of wasm.
    let url = request.url();
    let path = path_of(&url).to_string();
    log.route = path.clone();
    let method = request.method();
    let request_headers = request.headers();
    // Which provider a request concerns, for the log, even when the core's
    // answer does not say (a staff reply, a refused request).
    let route = Route::of(&method, &path);
    log.provider = match route {
        Ok(Route::Webhook(provider)) => Some(provider.name().to_string()),
        Ok(Route::StaffReply) => Some("reamaze".to_string()),
        _ => None,
    };
    let settings = settings_of(env);
    // Looked up when first needed: a refused request needs no store.
    let stores = OnceCell::new();
    let stores = || stores.get_or_init(|| Stores::of(env));
    let deliveries = env.queue(DELIVERY_QUEUE_BINDING).ok();
    let now = (Date::now().as_millis() / 1000) as i64;
    // The admin routes over KV; without KV, the core answers them.
    if let Ok(route @ (Route::DeadLetters | Route::ReplayDeadLetters)) = route {
        if let Some(kv) = stores().kv.as_ref() {
            let authorization = request_headers.get("Authorization").ok().flatten();
            if let Err(refused) = queue::authorize(&settings, authorization.as_deref()) {
                return finish(log, refused);
            }
            let body = body_text(request).await.unwrap_or_default();
            let response = match route {
                Route::DeadLetters => list_dead_letters(kv).await,
                _ => replay_dead_letters(kv, deliveries.as_ref(), &body, now).await,
            };
            return finish(log, response.unwrap_or_else(|e| store_unavailable(&e)));
        }
    }
    // Refuse an announced oversize body before reading it.
    let announced = request_headers.get("Content-Length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = announced.filter(|&len| len > settings.max_body_bytes) {
        return finish(log, bridge::body_too_large(&settings, Some(len)));
    }
    let body = match body_bytes(request, announced, settings.max_body_bytes).await {
        Ok(Some(body)) => body,
        Ok(None) => return finish(log, bridge::body_too_large(&settings, None)),
        Err(e) => return finish(log, Response::error(400, "bad_request", format!("the body cannot be read: {e}"))),
    };
    let headers: RequestHeaders =
        HEADERS_READ.iter().filter_map(|&name| Some((name, request_headers.get(name).ok().flatten()?))).collect();

    let timeout_ms = settings.upstream_timeout_ms;
    let bridge = Bridge::new(settings).queued(deliveries.is_some());
    let core_request = Request { method: &method, path: &path, url: &url, headers: &headers, body: &body };
    let mut exchange = bridge.exchange(&core_request, now);
    loop {
        match exchange.step() {
            Step::Read(keys) => match read(stores(), &keys, now).await {
                Ok(values) => exchange.provide(values),
                Err(e) => return finish(log, store_unavailable(&e)),
            },
            Step::Write(entries) => {
                if let Err(e) = write(stores(), &entries, now).await {
                    return finish(log, store_unavailable(&e));
                }
            }
            Step::Claim(entries) => match claim(stores(), &entries, now).await {
                Ok(held) => exchange.claimed(held),
                Err(e) => return finish(log, store_unavailable(&e)),
            },
            Step::Release(keys) => {
                if let Err(e) = release(stores(), &keys).await {
                    return finish(log, store_unavailable(&e));
                }
            }
            Step::Deliver(delivery) => {
                log.deliveries += 1;
                let result = send(&delivery, timeout_ms).await;
                log.upstream_status = result.status;
                exchange.delivered(result);
            }
            Step::Enqueue(messages) => {
                let queue = deliveries.as_ref().expect("queue mode only with a queue bound");
                exchange.enqueued(queue.send_batch(messages).await.map_err(|e| e.to_string()));
            }
            Step::Respond(response) => return finish(log, response),
        }
    }
}

/// The path of an absolute URL, without its query or fragment.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// A setting from the Worker's vars or secrets.
fn setting(env: &Env, name: &str) -> Option<String> {
    env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok()
}

/// Fills the log line from the response the core decided on.
fn finish(log: &mut LogLine, response: Response) -> Response {
    let body = response.body_json();
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(String::from);
    log.status = response.status;
    log.provider = text("provider").or(log.provider.take());
    log.event = text("event");
    log.outcome = text("error").or_else(|| text("status")).unwrap_or_default();
    response
}

fn store_unavailable(error: &str) -> Response {
    let mut response = Response::error(503, "store_unavailable", format!("the bridge's store failed: {error}"));
    response.headers.push(("Retry-After".into(), "30".into()));
    response
}

async fn read(stores: &Stores, keys: &[String], now: i64) -> std::result::Result<Vec<Option<String>>, String> {
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        values.push(stores.get(key, now).await?);
    }
    Ok(values)
}

async fn write(stores: &Stores, entries: &[Entry], now: i64) -> std::result::Result<(), String> {
    for entry in entries {
        stores.put(entry, now).await?;
    }
    Ok(())
}

async fn claim(stores: &Stores, entries: &[Entry], now: i64) -> std::result::Result<Vec<Option<String>>, String> {
    let mut held = Vec::with_capacity(entries.len());
    for entry in entries {
        held.push(stores.claim(entry, now).await?);
    }
    Ok(held)
}

async fn release(stores: &Stores, keys: &[String]) -> std::result::Result<(), String> {
    for key in keys {
        stores.delete(key).await?;
    }
    Ok(())
}

/// The request's body, or `None` when it is over `limit`. With a
/// Content-Length within the limit (the runtime holds the body to it) the
/// runtime reads it whole; otherwise it is read as a stream and refused at
/// the limit without reading the rest.
async fn body_bytes(
    request: &WebRequest,
    announced: Option<usize>,
    limit: usize,
) -> std::result::Result<Option<Vec<u8>>, String> {
    if announced.is_some() {
        let buffer = JsFuture::from(request.array_buffer().map_err(js_error)?).await.map_err(js_error)?;
        return Ok(Some(Uint8Array::new(&buffer).to_vec()));
    }
    let Some(stream) = request.body() else { return Ok(Some(Vec::new())) };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js_error)?;
        if js_sys::Reflect::get(&chunk, &"done".into()).map_err(js_error)?.is_truthy() {
            return Ok(Some(body));
        }
        let bytes: Uint8Array = js_sys::Reflect::get(&chunk, &"value".into()).map_err(js_error)?.unchecked_into();
        let at = body.len();
        if at + bytes.length() as usize > limit {
            drain(&reader, limit).await;
            return Ok(None);
        }
        body.resize(at + bytes.length() as usize, 0);
        bytes.copy_to(&mut body[at..]);
    }
}

/// Reads and drops what is left of a body refused at the limit, so that a
/// sender still writing it gets the answer rather than a reset connection;
/// past `limit` more bytes, the stream is cancelled instead.
async fn drain(reader: &web_sys::ReadableStreamDefaultReader, limit: usize) {
    let mut dropped = 0usize;
    while dropped <= limit {
        let Ok(chunk) = JsFuture::from(reader.read()).await else { return };
        if js_sys::Reflect::get(&chunk, &"done".into()).map_or(true, |done| done.is_truthy()) {
            return;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).unwrap_or(JsValue::UNDEFINED);
        dropped += value.dyn_ref::<Uint8Array>().map_or(0, |bytes| bytes.length() as usize);
    }
    let _ = reader.cancel();
}

async fn body_text(request: &WebRequest) -> std::result::Result<String, String> {
    Ok(JsFuture::from(request.text().map_err(js_error)?).await.map_err(js_error)?.as_string().unwrap_or_default())
}

fn js_error(error: JsValue) -> String {
    error.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{error:?}"), |e| String::from(e.message()))
}

/// Sends a delivery and reads the answer, all within `timeout_ms`. Through
/// the runtime's `fetch` and `Response.text()` directly: worker-rs's
/// `Response` reads a body chunk by chunk through a stream reader, several
/// boundary crossings per answer. The time limit is the runtime's own
/// `AbortSignal.timeout`, which ends the request and its body's reading
/// alike, with no timer or closure on our side.
async fn send(delivery: &Delivery, timeout_ms: u64) -> DeliveryResult {
    let signal = web_sys::AbortSignal::timeout_with_f64(timeout_ms as f64);
    let attempt = async {
        let headers = web_sys::Headers::new().map_err(js_error)?;
        for (name, value) in &delivery.headers {
            headers.set(name, value).map_err(js_error)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(delivery.method);
        init.set_headers(&headers);
        init.set_body(&Uint8Array::from(delivery.body.as_slice()));
        init.set_signal(Some(&signal));
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let answer = JsFuture::from(global.fetch_with_str_and_init(&delivery.url, &init)).await.map_err(js_error)?;
        let response: web_sys::Response = answer.dyn_into().map_err(js_error)?;
        let retry_after = response.headers().get("Retry-After").ok().flatten();
        // An answer whose body cannot be read still has its status, unless
        // the time ran out while reading it.
        let text = match response.text() {
            Ok(promise) => match JsFuture::from(promise).await {
                Ok(text) => text.as_string().unwrap_or_default(),
                Err(error) if signal.aborted() => return Err(js_error(error)),
                Err(_) => String::new(),
            },
            Err(_) => String::new(),
        };
        let body = match text.char_indices().nth(UPSTREAM_BODY_LIMIT) {
            Some((cut, _)) => text[..cut].to_string(),
            None => text,
        };
        Ok::<_, String>(DeliveryResult { status: Some(response.status()), retry_after, body })
    };
    let upstream = match delivery.target {
        Target::Reamaze { .. } => "Re:amaze",
        Target::Voice360Sms { .. } => "Voice360",
    };
    match attempt.await {
        Ok(result) => result,
        Err(_) if signal.aborted() => {
            DeliveryResult::unanswered(format!("{upstream} did not answer within {timeout_ms} ms"))
        }
        Err(error) => DeliveryResult::unanswered(format!("{upstream} could not be reached: {error}")),
    }
}

fn to_worker_response(response: &Response) -> Result<WorkerResponse> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(WorkerResponse::from_bytes(response.body.clone())?.with_status(response.status).with_headers(headers))
}

/// The queue consumer: `DELIVERIES` messages are delivered to Re:amaze;
/// `DEAD_LETTERS` messages are kept in KV for operators. One message at a
/// time, in order, so a call's events keep their order.
#[event(queue)]
pub async fn consume(batch: MessageBatch<Value>, env: Env, _ctx: Context) -> Result<()> {
    let settings = settings_of(&env);
    let stores = Stores::of(&env);
    for message in batch.messages()? {
        let now = (Date::now().as_millis() / 1000) as i64;
        let body = message.body().clone();
        // A dead letter carries the queued message under `queued`; a message
        // that reached the dead-letter queue some other way (the platform's
        // own retry limit) is a bare `Queued`.
        let handled = if body.get("queued").is_some() || batch.queue().contains("dead") {
            keep_dead_letter(&stores, body, now).await.map(|()| Handled::Done)
        } else {
            deliver_queued(&settings, &env, &stores, body, now).await
        };
        match handled {
            Ok(Handled::Done) => message.ack(),
            // Another consumer holds the claim: back once it has lapsed, in
            // case that consumer died before settling.
            Ok(Handled::Later) => message
                .retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(ttl::CLAIM as u32).build()),
            Err(e) => {
                console_log!("{}", json!({ "queue": batch.queue(), "outcome": "error", "error": e }));
                message.retry();
            }
        }
    }
    Ok(())
}

/// What became of a queued message.
enum Handled {
    /// Settled: acknowledge it.
    Done,
    /// Another consumer is delivering it: let the queue bring it back.
    Later,
}

async fn deliver_queued(
    settings: &Settings,
    env: &Env,
    stores: &Stores,
    body: Value,
    now: i64,
) -> std::result::Result<Handled, String> {
    let queued: Queued = serde_json::from_value(body).map_err(|e| format!("not a queued message: {e}"))?;
    let job = Job::new(queued);
    let mut line = json!({ "queue": "deliveries", "id": job.queued.message.id, "attempt": job.queued.attempt });
    let found = job.found(stores.claim(&job.claim(), now).await?.as_deref());
    if found != Found::Ours {
        let (outcome, handled) =
            if found == Found::Delivered { ("duplicate", Handled::Done) } else { ("under_way", Handled::Later) };
        line["outcome"] = json!(outcome);
        console_log!("{line}");
        return Ok(handled);
    }
    let jitter = js_sys::Math::random();
    let settled = match job.delivery(settings) {
        Ok(delivery) => {
            let result = send(&delivery, settings.upstream_timeout_ms).await;
            line["upstream_status"] = json!(result.status);
            job.settle(&result, settings, now, jitter)
        }
        Err(why) => job.unsendable(why, settings, now, jitter),
    };
    let queue = |binding: &str| env.queue(binding).map_err(|e| format!("{binding} is not bound: {e}"));
    if !matches!(settled, Settled::Delivered(_)) {
        stores.delete(&job.seen_key()).await?;
    }
    match settled {
        Settled::Delivered(mark) => {
            stores.put(&mark, now).await?;
            line["outcome"] = json!("delivered");
        }
        Settled::Retry { next, delay_seconds } => {
            line["outcome"] = json!("retry");
            line["delay_seconds"] = json!(delay_seconds);
            let later = MessageBuilder::new(next).delay_seconds(delay_seconds).build();
            queue(DELIVERY_QUEUE_BINDING)?.send(later).await.map_err(|e| e.to_string())?;
        }
        Settled::DeadLetter(dead) => {
            line["outcome"] = json!("dead_letter");
            line["error"] = json!(dead.last_error);
            queue(DEAD_LETTER_QUEUE_BINDING)?.send(dead).await.map_err(|e| e.to_string())?;
        }
    }
    console_log!("{line}");
    Ok(Handled::Done)
}

async fn keep_dead_letter(stores: &Stores, body: Value, now: i64) -> std::result::Result<(), String> {
    let dead = match serde_json::from_value::<DeadLetter>(body.clone()) {
        Ok(dead) => dead,
        Err(_) => {
            let queued: Queued = serde_json::from_value(body).map_err(|e| format!("not a dead letter: {e}"))?;
            let last_error = queued.last_error.clone().unwrap_or_else(|| "the delivery consumer kept failing".into());
            DeadLetter { attempts: queued.attempt, queued, last_error, upstream_status: None, dead_at: now }
        }
    };
    let entry = Entry {
        key: dead.key(),
        value: serde_json::to_string(&dead).map_err(|e| e.to_string())?,
        ttl_seconds: DEAD_LETTER_TTL,
    };
    stores.put(&entry, now).await?;
    console_log!(
        "{}",
        json!({ "queue": "dead_letters", "id": dead.queued.message.id, "outcome": "kept", "attempts": dead.attempts })
    );
    Ok(())
}

/// How many dead letters one listing or replay handles.
const DEAD_LETTER_PAGE: u64 = 1000;

async fn dead_letters(kv: &KvStore) -> std::result::Result<(Vec<DeadLetter>, bool), String> {
    let page = kv
        .list()
        .prefix(keys::DEAD_LETTER_PREFIX.to_string())
        .limit(DEAD_LETTER_PAGE)
        .execute()
        .await
        .map_err(|e| e.to_string())?;
    let mut letters = Vec::with_capacity(page.keys.len());
    for key in &page.keys {
        if let Some(text) = kv.get(&key.name).text().await.map_err(|e| e.to_string())? {
            letters.extend(serde_json::from_str::<DeadLetter>(&text).ok());
        }
    }
    Ok((letters, !page.list_complete))
}

async fn list_dead_letters(kv: &KvStore) -> std::result::Result<Response, String> {
    let (letters, more) = dead_letters(kv).await?;
    Ok(Response::json(200, json!({ "count": letters.len(), "more": more, "dead_letters": letters })))
}

/// Enqueues dead letters again as fresh first attempts: those named in the
/// body's `ids`, or all of them.
async fn replay_dead_letters(
    kv: &KvStore,
    deliveries: Option<&Queue>,
    body: &str,
    now: i64,
) -> std::result::Result<Response, String> {
    let Some(deliveries) = deliveries else {
        return Ok(Response::error(503, "queue_mode_off", "replay needs the DELIVERIES queue binding"));
    };
    let wanted: Option<Vec<String>> = match body.trim() {
        "" => None,
        text => match serde_json::from_str::<Value>(text) {
            Ok(v) => v
                .get("ids")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(|i| i.as_str().map(String::from)).collect()),
            Err(e) => {
                return Ok(Response::error(400, "invalid_json", format!("expected {{\"ids\": [...]}} or no body: {e}")))
            }
        },
    };
    let (letters, more) = dead_letters(kv).await?;
    let mut replayed = Vec::new();
    for dead in letters.iter().filter(|d| wanted.as_ref().is_none_or(|ids| ids.contains(&d.queued.message.id))) {
        deliveries.send(dead.replay(now)).await.map_err(|e| e.to_string())?;
        kv.delete(&dead.key()).await.map_err(|e| e.to_string())?;
        replayed.push(dead.queued.message.id.clone());
    }
    Ok(Response::json(200, json!({ "replayed": replayed.len(), "ids": replayed, "more": more })))
}
