//! The Cloudflare Worker shell (feature `worker`): the bridge's HTTP
//! contract over Workers' `fetch`, with Workers KV and the `Claims` Durable
//! Object as the store and Cloudflare Queues in queue mode.
//!
//! It decides nothing: every answer comes from the core (`bridge`,
//! `admin`, `queue`). This file moves bytes: request in, the exchange's
//! steps done with the runtime's IO, response out, and one JSON log line
//! per request from the core's `Summary`.
//!
//! With a `DELIVERIES` queue bound, webhooks are answered 202 once their
//! messages are enqueued, and the queue consumer (`consumer.rs`) delivers
//! them with retries; dead letters go through the `DEAD_LETTERS` queue into
//! KV, where the admin routes list and replay them. Requests, what follows
//! them, and queued messages are all exchanges of the core, run by one
//! loop (`Io::run`).

mod consumer;
mod io;
mod store;

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use worker::web_sys::Request as WebRequest;
use worker::{console_log, event, Context, Date, Env, MessageBuilder, Queue, Response as WorkerResponse, Result};

use crate::bridge::{self, headers_read, Bridge, Finished, Step};
use crate::error::Error;
use crate::http::{Headers, Request};
use crate::queue::Queued;
use crate::settings::Settings;

pub use store::Claims;
use store::{Once, Stores};

/// The KV namespace binding that holds call parties, echo markers and dead
/// letters.
pub const KV_BINDING: &str = "BRIDGE_KV";
/// The queue of Re:amaze messages to deliver (queue mode when bound).
pub const DELIVERY_QUEUE_BINDING: &str = "DELIVERIES";
/// The queue of messages that will not be delivered without an operator.
pub const DEAD_LETTER_QUEUE_BINDING: &str = "DEAD_LETTERS";

thread_local! {
    /// A deployment's vars and secrets are fixed for an isolate's life, so
    /// they are read once, not on every request. A change of settings is a
    /// new deployment, hence new isolates.
    static SETTINGS: RefCell<Option<Arc<Settings>>> = const { RefCell::new(None) };
}

/// The settings, read from `env` on the isolate's first request. One that
/// cannot be used turns off only what depends on it (the core answers
/// those routes 503 naming it, and `/healthz` lists it).
fn settings_of(env: &Env) -> Arc<Settings> {
    if let Some(settings) = SETTINGS.with(|s| s.borrow().clone()) {
        return settings;
    }
    let setting =
        |name: &str| env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string()));
    let settings = Arc::new(Settings::read(|name| setting(name).ok()));
    SETTINGS.with(|s| *s.borrow_mut() = Some(settings.clone()));
    settings
}

/// Takes the runtime's own `Request`, not worker-rs's: converting it reads
/// the `cf` object and the URL across the JS boundary on every request,
/// for nothing the bridge uses.
#[event(fetch)]
pub async fn fetch(request: WebRequest, env: Env, ctx: Context) -> Result<WorkerResponse> {
    let started = Date::now().as_millis();
    // The URL as the runtime gives it, already normalized: parsing it again
    // (worker-rs's `Url`) would bring the `url` crate's IDNA tables.
    let url = request.url();
    let path = io::path_of(&url);
    let method = request.method();
    let mut deliveries = 0;
    let (finished, after) = handle(&request, &env, &url, &mut deliveries).await;
    let duration_ms = Date::now().as_millis().saturating_sub(started);
    console_log!("{}", bridge::log::request_line(&method, path, &finished, deliveries, duration_ms));
    if let Some(step) = after {
        let timeout_ms = settings_of(&env).upstream_timeout_ms;
        ctx.wait_until(afterwards(env, step, timeout_ms));
    }
    io::to_worker_response(&finished.response)
}

/// Runs what follows an answer (the core's `aftermath`) once the answer is
/// sent, and logs what came of it; a failure there leaves the answer as it
/// was.
pub(crate) async fn afterwards(env: Env, step: Step, timeout_ms: u64) {
    let stores = OnceCell::new();
    let now = (Date::now().as_millis() / 1000) as i64;
    let io = Io { env: &env, stores: &stores, queue: None, timeout_ms, now };
    let finished = io.run(step, &mut 0).await.unwrap_or_else(Finished::from);
    console_log!("{}", bridge::log::aftermath_line(&finished));
}

/// The request's answer, and what follows it.
async fn handle(request: &WebRequest, env: &Env, url: &str, deliveries: &mut u32) -> (Finished, Option<Step>) {
    let settings = settings_of(env);
    let (method, path) = (request.method(), io::path_of(url));
    let body = match io::body_bytes(request, settings.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return (bridge::failed(&method, path, error), None),
    };
    let request_headers = request.headers();
    let headers: Headers =
        headers_read().filter_map(|name| Some((name, request_headers.get(name).ok().flatten()?))).collect();
    let core_request = Request { method: &method, path, url, headers: &headers, body: &body };
    let queue = env.queue(DELIVERY_QUEUE_BINDING).ok();
    // Records are kept, and the admin routes served, over KV alone: KV is
    // what can list them.
    let keeps_records = store::kv_binding(env).is_some();
    let bridge = Bridge::new(settings).queued(queue.is_some()).keeps_records(keeps_records);
    let now = (Date::now().as_millis() / 1000) as i64;
    // Looked up when first needed: a refused request needs no store.
    let stores = OnceCell::new();
    let io = Io { env, stores: &stores, queue: queue.as_ref(), timeout_ms: bridge.settings().upstream_timeout_ms, now };
    let exchange = bridge.exchange(&core_request, now);
    let finished = io.run(exchange, deliveries).await.unwrap_or_else(|error| bridge::failed(&method, path, error));
    let after = bridge.aftermath(&core_request, &finished, now);
    (finished, after)
}

/// What an exchange's steps are done with.
pub(crate) struct Io<'a> {
    env: &'a Env,
    /// The stores, looked up on the first step that needs them.
    stores: &'a OnceCell<Stores>,
    queue: Option<&'a Queue>,
    timeout_ms: u64,
    now: i64,
}

impl Io<'_> {
    fn stores(&self) -> &Stores {
        self.stores.get_or_init(|| Stores::of(self.env))
    }

    /// Runs an exchange to its end; a store or queue that fails ends it.
    async fn run(&self, mut step: Step, deliveries: &mut u32) -> std::result::Result<Finished, Error> {
        let failed = |why: String| Error::StoreUnavailable(crate::http::plain(&why));
        loop {
            step = match step {
                Step::Read(read) => {
                    let values = self.stores().get_all(read.keys(), self.now).await.map_err(failed)?;
                    read.answer(values)
                }
                Step::Write(write) => {
                    self.stores().put_all(write.entries(), self.now).await.map_err(failed)?;
                    write.done()
                }
                Step::Claim(claim) => {
                    let held = self.stores().claim_all(claim.entries(), self.now).await.map_err(failed)?;
                    claim.answer(held)
                }
                Step::Release(release) => {
                    self.stores().delete_all(release.keys()).await.map_err(failed)?;
                    release.done()
                }
                Step::DeliverOnce(once) => {
                    let (claim, mark, delivery) = (once.claim(), once.mark(), once.delivery());
                    let stores = self.stores();
                    match stores.deliver_once(claim, mark, delivery, self.timeout_ms, self.now).await.map_err(failed)? {
                        Once::Held(value) => once.held(&value),
                        Once::Sent(result) => {
                            *deliveries += 1;
                            once.answer(result)
                        }
                    }
                }
                Step::Deliver(deliver) => {
                    *deliveries += 1;
                    let result = io::send(deliver.delivery(), self.timeout_ms).await;
                    deliver.answer(result)
                }
                Step::List(list) => {
                    let binding =
                        store::kv_binding(self.env).ok_or_else(|| failed(format!("{KV_BINDING} is not bound")))?;
                    let (keys, more) =
                        io::kv_keys(&binding, list.prefix(), list.limit() as u64).await.map_err(failed)?;
                    list.answer(keys, more)
                }
                Step::Enqueue(enqueue) => {
                    let sent = self.enqueue(enqueue.messages(), enqueue.delay_seconds()).await;
                    enqueue.answer(sent)
                }
                Step::DeadLetter(bury) => {
                    let sent = match self.env.queue(DEAD_LETTER_QUEUE_BINDING) {
                        Ok(queue) => queue.send(bury.letter().clone()).await.map_err(io::plain_error),
                        Err(e) => Err(format!("{DEAD_LETTER_QUEUE_BINDING} is not bound: {e}")),
                    };
                    bury.answer(sent)
                }
                Step::Respond(finished) => return Ok(finished),
            }
        }
    }

    /// Puts `messages` on the delivery queue, held `delay_seconds` first.
    async fn enqueue(&self, messages: &[Queued], delay_seconds: u32) -> std::result::Result<(), String> {
        let Some(queue) = self.queue else { return Err(format!("{DELIVERY_QUEUE_BINDING} is not bound")) };
        let sent = match delay_seconds {
            0 => queue.send_batch(messages.to_vec()).await,
            delay => {
                let later = messages.iter().map(|m| MessageBuilder::new(m.clone()).delay_seconds(delay).build());
                queue.send_batch(later).await
            }
        };
        sent.map_err(io::plain_error)
    }
}
