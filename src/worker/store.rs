//! The Worker's store: Workers KV for what may be eventually consistent (a
//! call's parties, echo markers, dead letters), and the `Claims` Durable
//! Object for the claims that deduplicate deliveries (`keys::is_claimed`),
//! which need an atomic put-if-absent that KV cannot give.
//!
//! Each claimed key is its own Durable Object (named by the key), so claims
//! never queue behind one another; the object's storage holds the value and
//! its expiry, and an alarm at the expiry empties it.

use std::fmt::Write;

use worker::js_sys::futures::JsFuture;
use worker::js_sys::Reflect;
use worker::wasm_bindgen::JsValue;
use worker::{durable_object, Date, DurableObject, Env, KvStore, State};

use super::io;
use crate::http::{Delivery, DeliveryResult, Target};
use crate::store::{keys, Entry, MemoryStore, Store};

/// The Durable Object namespace binding of the claims.
pub const CLAIMS_BINDING: &str = "CLAIMS";

thread_local! {
    /// Without a KV binding, state lives in this isolate only: it is lost
    /// when the isolate is evicted and not shared with other isolates.
    static ISOLATE_STORE: std::cell::RefCell<MemoryStore> = std::cell::RefCell::new(MemoryStore::new());
}

/// The stores a request or a queue batch uses, as bound.
pub struct Stores {
    pub kv: Option<KvStore>,
    /// The claims' namespace binding, called directly (`io::object_post`).
    pub claims: Option<JsValue>,
}

type Outcome<T> = std::result::Result<T, String>;

impl Stores {
    pub fn of(env: &Env) -> Self {
        Stores { kv: env.kv(super::KV_BINDING).ok(), claims: binding(env, CLAIMS_BINDING) }
    }

    /// The Durable Object for `key`, when `key` is a claim and the
    /// namespace is bound.
    fn claim_object(&self, key: &str) -> Option<&JsValue> {
        self.claims.as_ref().filter(|_| keys::is_claimed(key))
    }

    pub async fn get_all(&self, keys: &[String], now: i64) -> Outcome<Vec<Option<String>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(key, now).await?);
        }
        Ok(values)
    }

    pub async fn put_all(&self, entries: &[Entry], now: i64) -> Outcome<()> {
        for entry in entries {
            self.put(entry, now).await?;
        }
        Ok(())
    }

    pub async fn claim_all(&self, entries: &[Entry], now: i64) -> Outcome<Vec<Option<String>>> {
        let mut held = Vec::with_capacity(entries.len());
        for entry in entries {
            held.push(self.claim(entry, now).await?);
        }
        Ok(held)
    }

    pub async fn delete_all(&self, keys: &[String]) -> Outcome<()> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }

    pub async fn get(&self, key: &str, now: i64) -> Outcome<Option<String>> {
        if let Some(claims) = self.claim_object(key) {
            return ask(claims, key, &Op::Get).await;
        }
        match &self.kv {
            Some(kv) => kv.get(key).text().await.map_err(io::plain_error),
            None => Ok(ISOLATE_STORE.with(|s| s.borrow().get(key, now))),
        }
    }

    pub async fn put(&self, entry: &Entry, now: i64) -> Outcome<()> {
        if let Some(claims) = self.claim_object(&entry.key) {
            return ask(claims, &entry.key, &Op::Put { value: &entry.value, ttl_seconds: entry.ttl_seconds })
                .await
                .map(drop);
        }
        let Some(kv) = &self.kv else {
            ISOLATE_STORE.with(|s| s.borrow_mut().put(entry, now));
            return Ok(());
        };
        // KV refuses a time-to-live under 60 seconds.
        let ttl = entry.ttl_seconds.max(60);
        // As bytes: `put` of a `&str` goes through serde (its `str` case
        // cannot be reached), which brought core's float formatting into the
        // build for nothing.
        kv.put_bytes(&entry.key, entry.value.as_bytes())
            .map_err(io::plain_error)?
            .expiration_ttl(ttl)
            .execute()
            .await
            .map_err(io::plain_error)
    }

    /// Put-if-absent: `None` when written, else the value held. Without the
    /// Durable Object binding this falls back to a read then a write, which
    /// is not atomic (the README's "Without a KV binding" says so).
    pub async fn claim(&self, entry: &Entry, now: i64) -> Outcome<Option<String>> {
        if let Some(claims) = self.claim_object(&entry.key) {
            return ask(claims, &entry.key, &Op::Claim { value: &entry.value, ttl_seconds: entry.ttl_seconds }).await;
        }
        if self.kv.is_none() {
            return Ok(ISOLATE_STORE.with(|s| s.borrow_mut().claim(entry, now)));
        }
        let held = self.get(&entry.key, now).await?;
        if held.is_none() {
            self.put(entry, now).await?;
        }
        Ok(held)
    }

    /// Claims `claim`; if it was free, sends `delivery` and settles the
    /// claim: `mark` over it where the result marks the message delivered,
    /// else the claim deleted (`bridge::DeliverOnce`). Through the Durable
    /// Object, the three are one request to it.
    pub async fn deliver_once(
        &self,
        claim: &Entry,
        mark: &Entry,
        delivery: &Delivery,
        timeout_ms: u64,
        now: i64,
    ) -> Outcome<Once> {
        if let Some(claims) = self.claim_object(&claim.key) {
            return ask_once(claims, claim, mark, delivery, timeout_ms).await;
        }
        if let Some(held) = self.claim(claim, now).await? {
            return Ok(Once::Held(held));
        }
        let result = io::send(delivery, timeout_ms).await;
        match result.marks_delivered() {
            true => self.put(mark, now).await?,
            false => self.delete(&claim.key).await?,
        }
        Ok(Once::Sent(result))
    }

    pub async fn delete(&self, key: &str) -> Outcome<()> {
        if let Some(claims) = self.claim_object(key) {
            return ask(claims, key, &Op::Delete).await.map(drop);
        }
        match &self.kv {
            Some(kv) => kv.delete(key).await.map_err(io::plain_error),
            None => {
                ISOLATE_STORE.with(|s| s.borrow_mut().delete(key));
                Ok(())
            }
        }
    }
}

/// The KV binding itself, for what is called on it directly
/// (`io::kv_keys`): looked up by the admin routes alone, off the message
/// path.
pub fn kv_binding(env: &Env) -> Option<JsValue> {
    binding(env, super::KV_BINDING)
}

/// The binding `name` as the runtime gives it, if it is bound.
fn binding(env: &Env, name: &str) -> Option<JsValue> {
    Reflect::get(env, &JsValue::from_str(name)).ok().filter(|binding| binding.is_object())
}

/// What the Worker asks of a claim's Durable Object.
enum Op<'a> {
    Get,
    Put {
        value: &'a str,
        ttl_seconds: u64,
    },
    Claim {
        value: &'a str,
        ttl_seconds: u64,
    },
    Delete,
    /// Claim, send the delivery the request carries (`Framed`), settle.
    Once {
        claim: &'a str,
        claim_ttl: u64,
        mark: &'a str,
        mark_ttl: u64,
    },
}

impl Op<'_> {
    /// The request's URL: the object is named by the key, so the URL
    /// carries only the operation (the values are the core's own short
    /// words, `store::PENDING` and `store::DONE`, and need no escaping).
    fn url(&self) -> String {
        match self {
            Op::Get => "https://claims/get".into(),
            Op::Delete => "https://claims/delete".into(),
            Op::Put { value, ttl_seconds } => format!("https://claims/put/{ttl_seconds}/{value}"),
            Op::Claim { value, ttl_seconds } => format!("https://claims/claim/{ttl_seconds}/{value}"),
            Op::Once { claim, claim_ttl, mark, mark_ttl } => {
                format!("https://claims/once/{claim_ttl}/{claim}/{mark_ttl}/{mark}")
            }
        }
    }

    /// Reads an operation back from a request's path.
    fn of(path: &str) -> Option<Op<'_>> {
        let mut parts = path.trim_start_matches('/').split('/');
        let verb = parts.next()?;
        let mut timed = || Some((parts.next()?.parse().ok()?, parts.next()?));
        Some(match verb {
            "get" => Op::Get,
            "delete" => Op::Delete,
            "put" => timed().map(|(ttl_seconds, value)| Op::Put { value, ttl_seconds })?,
            "claim" => timed().map(|(ttl_seconds, value)| Op::Claim { value, ttl_seconds })?,
            "once" => {
                let ((claim_ttl, claim), (mark_ttl, mark)) = (timed()?, timed()?);
                Op::Once { claim, claim_ttl, mark, mark_ttl }
            }
            _ => return None,
        })
    }
}

/// The object's answer: the value held, if any, as text after `held:`.
fn answer_text(held: Option<&str>) -> String {
    held.map_or_else(|| "free".to_string(), |value| format!("held:{value}"))
}

/// Sends `op` to `key`'s object; its answer is the value held, if any.
async fn ask(claims: &JsValue, key: &str, op: &Op<'_>) -> Outcome<Option<String>> {
    let (status, text) = io::object_post(claims, key, &op.url(), &[]).await?;
    match text.strip_prefix("held:") {
        Some(value) => Ok(Some(value.to_string())),
        None if text == "free" => Ok(None),
        None => Err(format!("the claims object answered {status}: {text}")),
    }
}

/// What a claimed delivery came to.
pub enum Once {
    /// The claim was held: the value the key held; nothing was sent.
    Held(String),
    /// The claim was taken, the delivery made and the claim settled.
    Sent(DeliveryResult),
}

/// `Op::Once` to `claim`'s object: one request, carrying the delivery
/// (`Framed`).
async fn ask_once(
    claims: &JsValue,
    claim: &Entry,
    mark: &Entry,
    delivery: &Delivery,
    timeout_ms: u64,
) -> Outcome<Once> {
    let op =
        Op::Once { claim: &claim.value, claim_ttl: claim.ttl_seconds, mark: &mark.value, mark_ttl: mark.ttl_seconds };
    let (status, text) = io::object_post(claims, &claim.key, &op.url(), &Framed::write(delivery, timeout_ms)).await?;
    if let Some(value) = text.strip_prefix("held:") {
        return Ok(Once::Held(value.to_string()));
    }
    sent_of(&text).map(Once::Sent).ok_or_else(|| format!("the claims object answered {status}: {text}"))
}

/// A delivery and its time limit, as the body of a request to the claims
/// object: a line with the time limit, a line with the URL, a line per
/// header (`name: value`), an empty line, then the delivery's body. A
/// header cannot hold a line break, so the lines are unambiguous.
struct Framed;

impl Framed {
    fn write(delivery: &Delivery, timeout_ms: u64) -> Vec<u8> {
        let mut head = format!("{timeout_ms}\n{}\n", delivery.url);
        for (name, value) in &delivery.headers {
            let _ = writeln!(head, "{name}: {value}");
        }
        head.push('\n');
        [head.as_bytes(), &delivery.body].concat()
    }

    fn read(framed: &[u8]) -> Option<(Delivery, u64)> {
        let end = framed.windows(2).position(|pair| pair == b"\n\n")?;
        let mut lines = std::str::from_utf8(&framed[..end]).ok()?.split('\n');
        let timeout_ms = lines.next()?.parse().ok()?;
        let url = lines.next()?.to_string();
        let headers = lines.map(|line| line.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())));
        let headers = headers.collect::<Option<Vec<_>>>()?;
        // Only posts to Re:amaze are claimed this way (`bridge::DeliverOnce`),
        // and `io::send` reads no more of the target than whom it names.
        let target = Target::Reamaze { channel: "", message_id: String::new() };
        Some((Delivery { target, method: "POST", url, headers, body: framed[end + 2..].to_vec() }, timeout_ms))
    }
}

/// The object's answer for a delivery it made: `sent:<status>` (`-` when
/// no answer came), then a line with the `Retry-After` header, then the
/// body.
fn sent_text(result: &DeliveryResult) -> String {
    let status = result.status.map_or_else(|| "-".to_string(), |status| status.to_string());
    format!("sent:{status}\n{}\n{}", result.retry_after.as_deref().unwrap_or(""), result.body)
}

fn sent_of(text: &str) -> Option<DeliveryResult> {
    let mut lines = text.strip_prefix("sent:")?.splitn(3, '\n');
    let (status, retry_after, body) = (lines.next()?, lines.next()?, lines.next()?);
    let status = if status == "-" { None } else { Some(status.parse().ok()?) };
    let retry_after = (!retry_after.is_empty()).then(|| retry_after.to_string());
    Some(DeliveryResult { status, retry_after, body: body.to_string() })
}

/// An operation that outlives the request it was read from.
enum OwnedOp {
    Get,
    Put(String, u64),
    Claim(String, u64),
    Delete,
    Once { claim: String, claim_ttl: u64, mark: String, mark_ttl: u64 },
}

fn owned(op: Op<'_>) -> OwnedOp {
    match op {
        Op::Get => OwnedOp::Get,
        Op::Put { value, ttl_seconds } => OwnedOp::Put(value.to_string(), ttl_seconds),
        Op::Claim { value, ttl_seconds } => OwnedOp::Claim(value.to_string(), ttl_seconds),
        Op::Delete => OwnedOp::Delete,
        Op::Once { claim, claim_ttl, mark, mark_ttl } => {
            OwnedOp::Once { claim: claim.into(), claim_ttl, mark: mark.into(), mark_ttl }
        }
    }
}

/// A value and when it lapses, kept as one text, `<expiry ms> <value>`,
/// under the key `HELD`.
struct Held;

const HELD: &str = "held";

impl Held {
    fn write(value: &str, expires_ms: f64) -> String {
        format!("{} {value}", expires_ms as u64)
    }

    /// The value, if it has not lapsed at `now` (milliseconds).
    fn read(text: &str, now: f64) -> Option<String> {
        let (expires, value) = text.split_once(' ')?;
        (expires.parse::<u64>().ok()? as f64 > now).then(|| value.to_string())
    }
}

/// One claimed key. Its event handlers run one at a time, and no other
/// event is delivered while a storage call is under way (the runtime's
/// input gate), so a read followed by a write is atomic.
#[durable_object(alarm)]
pub struct Claims {
    state: State,
}

impl Claims {
    /// Holds `value` for `ttl_seconds` from `now` (milliseconds); the
    /// alarm then empties the object.
    async fn hold(&self, value: &str, ttl_seconds: u64, now: f64) -> worker::Result<()> {
        let storage = self.state.storage();
        storage.put_raw(HELD, Held::write(value, now + ttl_seconds as f64 * 1000.0)).await?;
        storage.set_alarm((ttl_seconds * 1000) as i64).await
    }

    /// The held text, read raw: the worker crate's typed `get` would bring
    /// serde_wasm_bindgen's reader, and its error texts, into the wasm for
    /// one string.
    async fn held_text(&self) -> worker::Result<Option<String>> {
        let storage = self.state.as_raw().storage()?;
        Ok(JsFuture::from(storage.get(HELD)?).await?.as_string())
    }
}

impl DurableObject for Claims {
    fn new(state: State, _env: Env) -> Self {
        Claims { state }
    }

    async fn fetch(&self, request: worker::Request) -> worker::Result<worker::Response> {
        // Only this module's `ask` sends requests here.
        let Some(op) = Op::of(request.path().as_str()).map(owned) else {
            return worker::Response::ok("no such operation");
        };
        let storage = self.state.storage();
        let now = Date::now().as_millis() as f64;
        let held = self.held_text().await?.and_then(|text| Held::read(&text, now));
        let answer = match op {
            OwnedOp::Get => held,
            OwnedOp::Claim(..) if held.is_some() => held,
            OwnedOp::Put(value, ttl_seconds) | OwnedOp::Claim(value, ttl_seconds) => {
                self.hold(&value, ttl_seconds, now).await?;
                None
            }
            OwnedOp::Delete => {
                storage.delete_all().await?;
                None
            }
            OwnedOp::Once { .. } if held.is_some() => held,
            OwnedOp::Once { claim, claim_ttl, mark, mark_ttl } => {
                self.hold(&claim, claim_ttl, now).await?;
                let framed = io::whole_body(request.inner()).await.map_err(worker::Error::RustError)?;
                let Some((delivery, timeout_ms)) = Framed::read(&framed) else {
                    storage.delete_all().await?;
                    return worker::Response::ok("no delivery in the request");
                };
                // Another request for this key may come in while this one
                // waits on Re:amaze: it finds the claim held.
                let result = io::send(&delivery, timeout_ms).await;
                match result.marks_delivered() {
                    true => self.hold(&mark, mark_ttl, Date::now().as_millis() as f64).await?,
                    false => storage.delete_all().await?,
                }
                return worker::Response::ok(sent_text(&result));
            }
        };
        worker::Response::ok(answer_text(answer.as_deref()))
    }

    /// The value has lapsed: nothing of this key is kept.
    async fn alarm(&self) -> worker::Result<worker::Response> {
        self.state.storage().delete_all().await?;
        worker::Response::ok("")
    }
}
