//! The Worker's store: Workers KV for what may be eventually consistent (a
//! call's parties, echo markers, dead letters), and the `Claims` Durable
//! Object for the claims that deduplicate deliveries (`keys::is_claimed`),
//! which need an atomic put-if-absent that KV cannot give.
//!
//! Each claimed key is its own Durable Object (named by the key), so claims
//! never queue behind one another; the object's storage holds the value and
//! its expiry, and an alarm at the expiry empties it.

use serde::{Deserialize, Serialize};
use worker::{durable_object, Date, DurableObject, Env, KvStore, ObjectNamespace, State};

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
    pub claims: Option<ObjectNamespace>,
}

type Outcome<T> = std::result::Result<T, String>;

impl Stores {
    pub fn of(env: &Env) -> Self {
        Stores { kv: env.kv(super::KV_BINDING).ok(), claims: env.durable_object(CLAIMS_BINDING).ok() }
    }

    /// The Durable Object for `key`, when `key` is a claim and the
    /// namespace is bound.
    fn claim_object(&self, key: &str) -> Option<&ObjectNamespace> {
        self.claims.as_ref().filter(|_| keys::is_claimed(key))
    }

    pub async fn get(&self, key: &str, now: i64) -> Outcome<Option<String>> {
        if let Some(claims) = self.claim_object(key) {
            return ask(claims, key, &Op::Get).await;
        }
        match &self.kv {
            Some(kv) => kv.get(key).text().await.map_err(|e| e.to_string()),
            None => Ok(ISOLATE_STORE.with(|s| s.borrow().get(key, now))),
        }
    }

    pub async fn put(&self, entry: &Entry, now: i64) -> Outcome<()> {
        if let Some(claims) = self.claim_object(&entry.key) {
            return ask(claims, &entry.key, &Op::Put { value: entry.value.clone(), ttl_seconds: entry.ttl_seconds })
                .await
                .map(drop);
        }
        let Some(kv) = &self.kv else {
            ISOLATE_STORE.with(|s| s.borrow_mut().put(entry, now));
            return Ok(());
        };
        // KV refuses a time-to-live under 60 seconds.
        let ttl = entry.ttl_seconds.max(60);
        kv.put(&entry.key, entry.value.as_str())
            .map_err(|e| e.to_string())?
            .expiration_ttl(ttl)
            .execute()
            .await
            .map_err(|e| e.to_string())
    }

    /// Put-if-absent: `None` when written, else the value held. Without the
    /// Durable Object binding this falls back to a read then a write, which
    /// is not atomic: /healthz says so.
    pub async fn claim(&self, entry: &Entry, now: i64) -> Outcome<Option<String>> {
        if let Some(claims) = self.claim_object(&entry.key) {
            return ask(claims, &entry.key, &Op::Claim { value: entry.value.clone(), ttl_seconds: entry.ttl_seconds })
                .await;
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

    pub async fn delete(&self, key: &str) -> Outcome<()> {
        if let Some(claims) = self.claim_object(key) {
            return ask(claims, key, &Op::Delete).await.map(drop);
        }
        match &self.kv {
            Some(kv) => kv.delete(key).await.map_err(|e| e.to_string()),
            None => {
                ISOLATE_STORE.with(|s| s.borrow_mut().delete(key));
                Ok(())
            }
        }
    }
}

/// What the Worker asks of a claim's Durable Object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Op {
    Get,
    Put { value: String, ttl_seconds: u64 },
    Claim { value: String, ttl_seconds: u64 },
    Delete,
}

/// Sends `op` to `key`'s object; its answer is the value held, if any.
async fn ask(claims: &ObjectNamespace, key: &str, op: &Op) -> Outcome<Option<String>> {
    let stub = claims.get_by_name(key).map_err(|e| e.to_string())?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(serde_json::to_string(op).map_err(|e| e.to_string())?.into()));
    let request = worker::Request::new_with_init("https://claims.internal/", &init).map_err(|e| e.to_string())?;
    let mut answer = stub.fetch_with_request(request).await.map_err(|e| e.to_string())?;
    if answer.status_code() != 200 {
        return Err(format!("the claims object answered {}", answer.status_code()));
    }
    answer.json::<Option<String>>().await.map_err(|e| e.to_string())
}

/// A value and when it lapses (milliseconds since the epoch).
#[derive(Serialize, Deserialize)]
struct Held {
    value: String,
    expires_ms: f64,
}

/// One claimed key. Its event handlers run one at a time, and no other
/// event is delivered while a storage call is under way (the runtime's
/// input gate), so a read followed by a write is atomic.
#[durable_object]
pub struct Claims {
    state: State,
}

impl DurableObject for Claims {
    fn new(state: State, _env: Env) -> Self {
        Claims { state }
    }

    async fn fetch(&self, mut request: worker::Request) -> worker::Result<worker::Response> {
        let body = request.text().await?;
        let op: Op = serde_json::from_str(&body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let storage = self.state.storage();
        let now = Date::now().as_millis() as f64;
        let held = storage.get::<Held>("held").await?.filter(|h| h.expires_ms > now).map(|h| h.value);
        let keep = |value: String, ttl_seconds: u64| Held { value, expires_ms: now + ttl_seconds as f64 * 1000.0 };
        let answer = match op {
            Op::Get => held,
            Op::Claim { .. } if held.is_some() => held,
            Op::Put { value, ttl_seconds } | Op::Claim { value, ttl_seconds } => {
                storage.put("held", keep(value, ttl_seconds)).await?;
                storage.set_alarm((ttl_seconds * 1000) as i64).await?;
                None
            }
            Op::Delete => {
                storage.delete_all().await?;
                None
            }
        };
        worker::Response::from_json(&answer)
    }

    /// The value has lapsed: nothing of this key is kept.
    async fn alarm(&self) -> worker::Result<worker::Response> {
        self.state.storage().delete_all().await?;
        worker::Response::ok("")
    }
}
