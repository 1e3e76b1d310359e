//! The runtime's IO, as the core needs it: the request's body read within
//! its limit, a delivery sent within its time, the core's answer written.

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{self, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::web_sys::{self, Request as WebRequest};
use worker::{Headers, Response as WorkerResponse, Result};

use crate::error::Error;
use crate::http::{Delivery, DeliveryResult, Response};

/// How much of an upstream answer is kept (the core quotes less of it).
const UPSTREAM_BODY_LIMIT: usize = 4096;

/// The path of an absolute URL, without its query or fragment.
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// The request's body, refused over `limit` bytes: at once when its
/// Content-Length says so; otherwise, with a Content-Length within the
/// limit (the runtime holds the body to it), read whole by the runtime;
/// without one, read as a stream and refused at the limit without reading
/// the rest.
pub async fn body_bytes(request: &WebRequest, limit: usize) -> std::result::Result<Vec<u8>, Error> {
    let announced = request.headers().get("Content-Length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    let too_large = |bytes| Error::BodyTooLarge { bytes, limit };
    match announced {
        Some(bytes) if bytes > limit => Err(too_large(Some(bytes))),
        Some(_) => whole_body(request).await.map_err(Error::Unreadable),
        None => streamed_body(request, limit).await.map_err(Error::Unreadable)?.ok_or(too_large(None)),
    }
}

pub async fn whole_body(request: &WebRequest) -> std::result::Result<Vec<u8>, String> {
    let buffer = JsFuture::from(request.array_buffer().map_err(js_error)?).await.map_err(js_error)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The body, or `None` once it is over `limit`.
async fn streamed_body(request: &WebRequest, limit: usize) -> std::result::Result<Option<Vec<u8>>, String> {
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

/// A binding's error as plain text: its message, without a stack or a path.
pub fn plain_error(error: impl std::fmt::Display) -> String {
    crate::http::plain(&error.to_string())
}

/// A runtime error as plain text: its message, without a stack or a path.
pub fn js_error(error: JsValue) -> String {
    let text = error.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{error:?}"), |e| String::from(e.message()));
    crate::http::plain(&text)
}

/// Sends a delivery and reads the answer, all within `timeout_ms`, through
/// the runtime's `fetch` and `Response.text()` directly: worker-rs's
/// `Response` reads a body chunk by chunk, several boundary crossings per
/// answer. The time limit is the runtime's own `AbortSignal.timeout`, which
/// ends the request and its body's reading alike.
pub async fn send(delivery: &Delivery, timeout_ms: u64) -> DeliveryResult {
    let signal = web_sys::AbortSignal::timeout_with_f64(timeout_ms as f64);
    match fetch(delivery, &signal).await {
        Ok(result) => result,
        Err(_) if signal.aborted() => DeliveryResult::timed_out(&delivery.target, timeout_ms),
        Err(error) => DeliveryResult::unreachable(&delivery.target, &error),
    }
}

async fn fetch(delivery: &Delivery, signal: &web_sys::AbortSignal) -> std::result::Result<DeliveryResult, String> {
    let headers = web_sys::Headers::new().map_err(js_error)?;
    for (name, value) in &delivery.headers {
        headers.set(name, value).map_err(js_error)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(delivery.method);
    init.set_headers(&headers);
    init.set_body(&Uint8Array::from(delivery.body.as_slice()));
    init.set_signal(Some(signal));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let answer = JsFuture::from(global.fetch_with_str_and_init(&delivery.url, &init)).await.map_err(js_error)?;
    let response: web_sys::Response = answer.dyn_into().map_err(js_error)?;
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    // An answer whose body cannot be read still has its status, unless the
    // time ran out while reading it.
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
    Ok(DeliveryResult { status: Some(response.status()), retry_after, body })
}

/// POSTs `body` to `url` on the Durable Object named `name` in the
/// namespace `binding`, through the runtime's own `getByName` and `fetch`
/// (the worker crate's stub wraps the request and its answer, which costs
/// the Worker's build more than this): the answer's status and text.
pub async fn object_post(
    binding: &JsValue,
    name: &str,
    url: &str,
    body: &[u8],
) -> std::result::Result<(u16, String), String> {
    let method = |object: &JsValue, name: &str| {
        js_sys::Reflect::get(object, &JsValue::from_str(name)).and_then(|f| f.dyn_into::<js_sys::Function>())
    };
    let stub = method(binding, "getByName").and_then(|get| get.call1(binding, &name.into())).map_err(js_error)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&Uint8Array::from(body));
    let request = WebRequest::new_with_str_and_init(url, &init).map_err(js_error)?;
    let promise = method(&stub, "fetch").and_then(|fetch| fetch.call1(&stub, &request)).map_err(js_error)?;
    let answer = JsFuture::from(js_sys::Promise::resolve(&promise)).await.map_err(js_error)?;
    let response: web_sys::Response = answer.dyn_into().map_err(js_error)?;
    let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

pub fn to_worker_response(response: &Response) -> Result<WorkerResponse> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(WorkerResponse::from_bytes(response.body.clone())?.with_status(response.status).with_headers(headers))
}

/// A page of KV's keys under `prefix`, at most `limit` of them, and whether
/// more follow. KV's own `list`, called on the binding and read by hand:
/// the worker crate's `list()` reads its answer through serde, which costs
/// the Worker's build more than this does (BENCHMARKS.md, "Kept HMAC
/// states").
pub async fn kv_keys(binding: &JsValue, prefix: &str, limit: u64) -> std::result::Result<(Vec<String>, bool), String> {
    let field = |object: &JsValue, name: &str| js_sys::Reflect::get(object, &JsValue::from_str(name)).map_err(js_error);
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"prefix".into(), &prefix.into()).map_err(js_error)?;
    js_sys::Reflect::set(&options, &"limit".into(), &JsValue::from_f64(limit as f64)).map_err(js_error)?;
    let list = field(binding, "list")?.dyn_into::<js_sys::Function>().map_err(js_error)?;
    let listed = list.call1(binding, &options).map_err(js_error)?;
    let page = JsFuture::from(js_sys::Promise::resolve(&listed)).await.map_err(js_error)?;
    let keys = field(&page, "keys")?.dyn_into::<js_sys::Array>().map_err(js_error)?;
    let mut names = Vec::with_capacity(keys.length() as usize);
    for key in keys.iter() {
        names.push(field(&key, "name")?.as_string().ok_or("KV listed a key without a name")?);
    }
    let complete = field(&page, "list_complete")?.as_bool().unwrap_or(true);
    Ok((names, !complete))
}
