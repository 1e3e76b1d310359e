//! The whole bridge, sans-IO: a request (route, headers, body) plus
//! settings and a clock becomes an exchange, which asks its shell for store
//! reads and writes, claims and deliveries one `Step` at a time, and ends
//! with the response for the sender and a summary for the log. Every piece
//! of work is such an exchange, with the same steps: a webhook or a staff
//! reply (`exchange`), an admin route (`admin`), what follows an answer
//! (`aftermath`), and a queued message (`consume`). A shell drives them all
//! with one loop that only does IO.
//!
//! ```text
//! let mut step = bridge.exchange(&request, now);
//! loop {
//!     step = match step {
//!         Step::Read(read)       => { let values = store.get_all(read.keys()); read.answer(values) }
//!         Step::Write(write)     => { store.put_all(write.entries()); write.done() }
//!         Step::Claim(claim)     => { let held = store.claim_all(claim.entries()); claim.answer(held) }
//!         Step::Release(release) => { store.delete_all(release.keys()); release.done() }
//!         Step::List(list)       => { let (keys, more) = store.list(list.prefix(), list.limit()); list.answer(keys, more) }
//!         Step::Deliver(deliver) => { let result = http.send(deliver.delivery()); deliver.answer(result) }
//!         Step::DeliverOnce(once) => once.unfused(), // or claim, send and settle in one round trip
//!         Step::Enqueue(enqueue) => { let sent = queue.send(enqueue.messages(), enqueue.delay_seconds()); enqueue.answer(sent) }
//!         Step::DeadLetter(bury) => { let sent = dead_letter_queue.send(bury.letter()); bury.answer(sent) }
//!         Step::Respond(finished) => return finished.response,
//!     }
//! }
//! ```
//!
//! `drive` is that loop for a synchronous `Store`; the Worker and the npm
//! package write it with `await`.
//!
//! ## Why a state machine, and not async code over an IO trait
//!
//! An exchange is an explicit state machine: each stage (`webhook`,
//! `posting`, `staff_reply`, `queued`, `admin`, `consumed`, `aftermath`) is
//! a struct holding what it has learnt, and each step hands the shell a
//! typed handle (`step.rs`) whose answer, consuming it, runs the stage on
//! and gives the next step. The
//! alternative, async straight-line code over a trait each shell
//! implements, reads more like a story, but:
//! - the npm package's store and fetch are JavaScript promises: awaiting
//!   them from Rust needs `wasm-bindgen-futures` and a JS object per call
//!   across the boundary, while a step is one string out and one in;
//! - the native CLI and the tests would need an executor for IO that is
//!   synchronous anyway;
//! - a test can stop an exchange at any step, inspect it, and answer it as
//!   a slow or failing store would, without mocks.
//!
//! The handles make misuse a compile error rather than a panic: a read
//! can only be answered with values, each step only once, and a write
//! gives the next step only when the shell says it is done.

#[cfg(feature = "operations")]
mod admin;
#[cfg(feature = "operations")]
mod aftermath;
#[cfg(feature = "queue")]
mod consumed;
#[cfg(all(feature = "operations", feature = "queue"))]
mod dead_letters;
#[cfg(feature = "operations")]
mod listing;
pub mod log;
mod posting;
#[cfg(feature = "queue")]
mod queued;
mod route;
mod staff_reply;
mod step;
mod webhook;

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Context, Error};
use crate::http::{Delivery, DeliveryResult, Request, Response};
use crate::providers::{self, Provider, SmsApi};
use crate::settings::{names, Settings};
use crate::store::Store;

#[cfg(feature = "queue")]
pub use consumed::{consumption_failed, Disposition};
pub use route::{headers_read, routes, Route, PAGE_PATHS};
#[cfg(feature = "operations")]
pub use step::List;
#[cfg(feature = "queue")]
pub use step::{Bury, Enqueue};
pub use step::{Claim, Deliver, Finished, Read, Release, Step, Summary, Write};
pub use webhook::Processed;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The bridge: settings, shared by every exchange.
#[derive(Clone, Debug)]
pub struct Bridge {
    settings: Arc<Settings>,
    #[cfg(feature = "queue")]
    queued: bool,
    keeps_records: bool,
}

impl Bridge {
    /// From settings, or settings already shared (a Worker isolate keeps
    /// one `Arc` for all its requests).
    pub fn new(settings: impl Into<Arc<Settings>>) -> Self {
        Bridge {
            settings: settings.into(),
            #[cfg(feature = "queue")]
            queued: false,
            keeps_records: false,
        }
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

    /// For a shell that can list what it keeps (the Worker, over KV): the
    /// refused webhooks are recorded, and the admin routes list, replay
    /// and let go what is kept (`Step::List`).
    pub fn keeps_records(mut self, keeps: bool) -> Self {
        self.keeps_records = keeps;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The first step of carrying `request` through the bridge. What needs
    /// no IO (routing, limits, signatures, parsing) is done here.
    pub fn exchange(&self, request: &Request, now: i64) -> Step {
        let route = Route::of(request.method, request.path);
        let context = Context { provider: route.as_ref().ok().and_then(Route::source), ..Context::default() };
        let admin = route.as_ref().is_ok_and(|route| route.is_admin());
        let step = match route.and_then(|route| self.start(route, request, now)) {
            Ok(step) => step,
            Err(error) => step::fail(&context, error),
        };
        match step {
            // An admin route refused (the token, or no records kept): its
            // answer is hardened as its listings are.
            Step::Respond(finished) if admin => {
                Step::Respond(Finished { response: finished.response.hardened(), ..finished })
            }
            step => step,
        }
    }

    fn start(&self, route: Route, request: &Request, now: i64) -> Result<Step, Error> {
        let limit = self.settings.max_body_bytes;
        if request.body.len() > limit {
            return Err(Error::BodyTooLarge { bytes: Some(request.body.len()), limit });
        }
        match route {
            Route::Health => Ok(step::respond(&Context::default(), "ok", self.health())),
            Route::Webhook(provider) => webhook::start(&self.settings, provider, request, now, self.mode()),
            Route::StaffReply => staff_reply::start(&self.settings, request),
            // Listed, replayed and let go where the shell keeps records;
            // elsewhere these routes are authorized, then absent.
            Route::DeadLetters
            | Route::ReplayDeadLetters
            | Route::HeldTranscriptions
            | Route::RejectedWebhooks
            | Route::Deliveries => {
                let authorization = route::header(&self.settings, request, "Authorization")?;
                crate::admin::authorize(&self.settings, authorization.as_deref())?;
                #[cfg(feature = "operations")]
                if self.keeps_records {
                    return admin::start(&self.settings, route, request, self.is_queued(), now);
                }
                Err(Error::NoDeadLetters)
            }
        }
    }

    /// A provider's webhook verified and translated into the signed
    /// requests that would post its messages, with call memory kept in
    /// `store`, but neither deduplicated nor delivered: for callers that
    /// send the requests themselves (the npm package's processor).
    pub fn process(
        &self,
        provider: Provider,
        request: &Request,
        store: &mut dyn Store,
        now: i64,
    ) -> Result<Processed, Error> {
        webhook::process(&self.settings, provider, request, store, now)
    }

    /// Whether webhooks go through the delivery queue (never, in a build
    /// without one).
    #[cfg(feature = "operations")]
    fn is_queued(&self) -> bool {
        #[cfg(feature = "queue")]
        return self.queued;
        #[cfg(not(feature = "queue"))]
        false
    }

    fn mode(&self) -> webhook::Mode {
        #[cfg(feature = "queue")]
        if self.queued {
            return webhook::Mode::Queued;
        }
        webhook::Mode::Sync
    }

    /// `GET /healthz`: what is configured, never a secret.
    fn health(&self) -> Response {
        let s = &self.settings;
        let reamaze_ready = s.blocking(&[names::REAMAZE_BASE_URL]).is_none();
        let health = Health {
            status: "ok",
            version: VERSION,
            providers: Providers(s),
            reamaze: Channels {
                voice: reamaze_ready && s.reamaze_voice_secret.is_some(),
                sms: reamaze_ready && s.reamaze_sms_secret.is_some(),
            },
            staff_replies: s.reamaze_sms_secret.is_some() && s.sms_channel_number.is_some() && SmsApi::ready(s),
            invalid_settings: s.invalid.iter().map(|e| Invalid { setting: e.name, expected: e.expected }).collect(),
        };
        Response::json(200, &health)
    }
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    version: &'static str,
    providers: Providers<'a>,
    reamaze: Channels,
    staff_replies: bool,
    invalid_settings: Vec<Invalid>,
}

/// Whether each provider's webhooks can be verified, by name.
struct Providers<'a>(&'a Settings);

impl Serialize for Providers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(providers::ALL.iter().map(|p| (p.name(), p.ready(self.0))))
    }
}

#[derive(Serialize)]
struct Channels {
    voice: bool,
    sms: bool,
}

/// A setting that cannot be used, by name, never by value.
#[derive(Serialize)]
struct Invalid {
    setting: &'static str,
    expected: &'static str,
}

/// The end of a request that failed under the shell (its body unreadable
/// or too large, its store or its queue failing): the error's answer, with
/// the route's provider for the log.
pub fn failed(method: &str, path: &str, error: Error) -> Finished {
    let provider = Route::of(method, path).ok().and_then(|route| route.source());
    let mut finished = Finished::from(error);
    finished.summary.provider = provider;
    finished
}

/// Runs an exchange to its end against a synchronous store and a
/// synchronous sender. A queue step is refused: this driver has no queue.
pub fn drive(
    mut step: Step,
    store: &mut dyn Store,
    now: i64,
    mut send: impl FnMut(&Delivery) -> DeliveryResult,
) -> Response {
    loop {
        step = match step {
            Step::Deliver(deliver) => {
                let result = send(deliver.delivery());
                deliver.answer(result)
            }
            #[cfg(feature = "queue")]
            Step::Enqueue(enqueue) => enqueue.answer(Err("this driver has no queue".into())),
            #[cfg(feature = "queue")]
            Step::DeadLetter(bury) => bury.answer(Err("this driver has no queue".into())),
            Step::Respond(finished) => return finished.response,
            store_step => with_store(store_step, store, now),
        }
    }
}

/// Answers the store's steps (read, write, claim, release, list) from a
/// synchronous store until the exchange asks for something else: a
/// delivery, an enqueue, or its end, which is returned unanswered.
pub fn with_store(mut step: Step, store: &mut dyn Store, now: i64) -> Step {
    loop {
        step = match step {
            Step::Read(read) => {
                let values = read.keys().iter().map(|k| store.get(k, now)).collect();
                read.answer(values)
            }
            Step::Write(write) => {
                write.entries().iter().for_each(|e| store.put(e, now));
                write.done()
            }
            Step::Claim(claim) => {
                let held = claim.entries().iter().map(|e| store.claim(e, now)).collect();
                claim.answer(held)
            }
            Step::Release(release) => {
                release.keys().iter().for_each(|k| store.delete(k));
                release.done()
            }
            #[cfg(feature = "operations")]
            Step::List(list) => {
                let (keys, more) = store.list(list.prefix(), list.limit(), now);
                list.answer(keys, more)
            }
            // A synchronous store answers the claim as its own step.
            Step::DeliverOnce(once) => once.unfused(),
            other => return other,
        }
    }
}
