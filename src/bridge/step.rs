//! The steps of an exchange, each a typed handle: the shell does what the
//! handle asks and answers through it, and the answer, consuming the
//! handle, gives the next step. A read can only be answered with values,
//! a delivery only with its result, and no step can be answered twice.
//!
//! The stages that wait for an answer (translating, posting, sending a
//! reply, the aftermath) each answer through the trait of what they wait
//! for, defined here: this module names none of them, and they name only
//! it, so the exchange's modules depend one way.

use std::fmt::Debug;

use serde::Serialize;

use crate::error::{Context, Error, Report};
use crate::http::{Delivery, DeliveryResult, Response};
#[cfg(feature = "queue")]
use crate::queue::{DeadLetter, Queued};
use crate::reamaze::Outgoing;
use crate::store::Entry;

// The traits ask for no `Debug`: a trait object's table would keep every
// stage's `Debug` code, and all it reaches (float formatting among it), in
// the wasm builds. A waiting stage shows as the trait it waits through.

/// A stage waiting for the values of the keys it asked to read.
pub(super) trait AwaitsRead {
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step;
}

/// A stage waiting for what its claims found: `None` where one was written.
pub(super) trait AwaitsClaim {
    fn claimed(self: Box<Self>, held: Vec<Option<String>>) -> Step;
}

/// A stage waiting for a delivery's result.
pub(super) trait AwaitsDelivery {
    fn delivered(self: Box<Self>, result: DeliveryResult) -> Step;
}

/// A stage waiting for a message to be posted once (`DeliverOnce`).
pub(super) trait AwaitsOnce {
    /// The claim was held: `value` is what the key held.
    fn held(self: Box<Self>, value: &str) -> Step;
    /// The claim was taken, the delivery made, and the claim settled.
    fn posted(self: Box<Self>, result: DeliveryResult) -> Step;
}

/// A stage waiting for the delivery queue to take its messages.
#[cfg(feature = "queue")]
pub(super) trait AwaitsQueue {
    fn queued(self: Box<Self>, result: Result<(), String>) -> Step;
}

/// A stage waiting for the keys kept under a prefix (the admin routes).
#[cfg(feature = "operations")]
pub(super) trait AwaitsList {
    fn listed(self: Box<Self>, keys: Vec<String>, more: bool) -> Step;
}

type AfterRead = Box<dyn AwaitsRead>;
type AfterClaim = Box<dyn AwaitsClaim>;
type AfterDeliver = Box<dyn AwaitsDelivery>;

/// `Debug` for a waiting stage: the trait it waits through.
macro_rules! shown_as {
    ($($awaits:ident),*) => {$(
        impl Debug for dyn $awaits {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($awaits))
            }
        }
    )*};
}
shown_as!(AwaitsRead, AwaitsClaim, AwaitsDelivery, AwaitsOnce);
#[cfg(feature = "queue")]
shown_as!(AwaitsQueue);
#[cfg(feature = "operations")]
shown_as!(AwaitsList);

/// What the shell must do next.
#[derive(Debug)]
pub enum Step {
    /// Read these keys (`Read::keys`), and `answer` with their values.
    Read(Read),
    /// Write these entries, then take the next step from `done`.
    Write(Write),
    /// Claim these keys, each atomically (put-if-absent, `Store::claim`),
    /// and `answer` with what each held: `None` where the claim was written.
    Claim(Claim),
    /// Delete these keys (claims given up, records let go), then take the
    /// next step from `done`.
    Release(Release),
    /// List the keys under `prefix`, in byte order, at most `limit`, and
    /// `answer` with them and whether more follow (`Store::list`). Asked
    /// only of a shell that keeps records (`Bridge::keeps_records`).
    #[cfg(feature = "operations")]
    List(List),
    /// Send this request, and `answer` with what came of it.
    Deliver(Deliver),
    /// Claim, send, and settle the claim, for a message that must reach
    /// Re:amaze once (`DeliverOnce`). A shell whose store does the three in
    /// one round trip does; any other answers it with `unfused`, which asks
    /// for them as a claim, a delivery, and a write or a release.
    DeliverOnce(Box<DeliverOnce>),
    /// Queue mode: put these messages on the delivery queue, each delayed
    /// by `delay_seconds`, and `answer` with `Err` and the reason if the
    /// queue refused them.
    #[cfg(feature = "queue")]
    Enqueue(Enqueue),
    /// Queue mode's consumer: put this letter on the dead-letter queue, and
    /// `answer` as for `Enqueue`.
    #[cfg(feature = "queue")]
    DeadLetter(Box<Bury>),
    /// Done: answer the sender with `response`; log `summary`.
    Respond(Finished),
}

/// The end of an exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub response: Response,
    pub summary: Summary,
}

/// What became of a request, for the shell's log line: never a secret,
/// never a body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The provider whose webhook it was, or `reamaze` for a staff reply.
    pub provider: Option<&'static str>,
    /// The provider's event type.
    pub event: Option<String>,
    /// The answer's status word (delivered, duplicate, ignored, queued,
    /// sent, ok) or the error's code.
    pub result: &'static str,
    /// The status of the last upstream answer, if a delivery was made.
    pub upstream_status: Option<u16>,
    /// What failed inside the bridge (a store, the queue), for the log.
    pub reason: Option<String>,
}

impl Finished {
    /// The end of a request the shell answers itself (the admin routes), for
    /// the same log line.
    pub fn ok(result: &'static str, response: Response) -> Finished {
        Finished { response, summary: Summary { result, ..Summary::default() } }
    }
}

/// A request refused or failed before any exchange (a body too large to
/// read, a store that failed under the shell).
impl From<Error> for Finished {
    fn from(error: Error) -> Finished {
        let summary = Summary {
            result: error.code(),
            upstream_status: error.upstream_status(),
            reason: error.reason(),
            ..Summary::default()
        };
        Finished { response: error.response(&Context::default()), summary }
    }
}

#[derive(Debug)]
pub struct Read {
    keys: Vec<String>,
    then: AfterRead,
}

impl Read {
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// One value per key, in the order of `keys`; missing values are `None`.
    pub fn answer(self, mut values: Vec<Option<String>>) -> Step {
        values.resize(self.keys.len(), None);
        self.then.read(values)
    }
}

#[derive(Debug)]
pub struct Write {
    entries: Vec<Entry>,
    then: Box<Step>,
}

impl Write {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Call once the entries are written.
    pub fn done(self) -> Step {
        *self.then
    }
}

#[derive(Debug)]
pub struct Claim {
    entries: Vec<Entry>,
    then: AfterClaim,
}

impl Claim {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Per entry, in order: `None` where the claim was written, else the
    /// value the key already held.
    pub fn answer(self, mut held: Vec<Option<String>>) -> Step {
        held.resize(self.entries.len(), None);
        self.then.claimed(held)
    }
}

#[derive(Debug)]
pub struct Release {
    keys: Vec<String>,
    then: Box<Step>,
}

impl Release {
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Call once the keys are deleted.
    pub fn done(self) -> Step {
        *self.then
    }
}

#[derive(Debug)]
pub struct Deliver {
    delivery: Delivery,
    then: AfterDeliver,
}

impl Deliver {
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    pub fn answer(self, result: DeliveryResult) -> Step {
        self.then.delivered(result)
    }
}

/// A message to post once: claim `claim()` (put-if-absent, as `Claim`);
/// if the key already held a value, answer `held` with it and send
/// nothing. Otherwise send `delivery()`, then settle the claim: where
/// `result.marks_delivered()`, write `mark()` over it (a later copy is a
/// duplicate), else delete it (a retry may post), and `answer` with the
/// result.
#[derive(Debug)]
pub struct DeliverOnce {
    claim: Entry,
    mark: Entry,
    delivery: Delivery,
    then: Box<dyn AwaitsOnce>,
}

impl DeliverOnce {
    pub fn claim(&self) -> &Entry {
        &self.claim
    }

    pub fn mark(&self) -> &Entry {
        &self.mark
    }

    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The claim was held: `value` is what the key held.
    pub fn held(self, value: &str) -> Step {
        self.then.held(value)
    }

    /// The claim was taken, the delivery made, and the claim settled.
    pub fn answer(self, result: DeliveryResult) -> Step {
        self.then.posted(result)
    }

    /// The same work as separate steps, for a shell that does not do it
    /// in one round trip: a claim, then the delivery, then the mark's
    /// write or the claim's release.
    pub fn unfused(self) -> Step {
        let DeliverOnce { claim: entry, mark, delivery, then } = self;
        claim(vec![entry], Unfused { mark, delivery, then })
    }
}

/// An unfused `DeliverOnce`, waiting for its claim.
#[derive(Debug)]
struct Unfused {
    /// The mark, on the claim's key.
    mark: Entry,
    delivery: Delivery,
    then: Box<dyn AwaitsOnce>,
}

impl AwaitsClaim for Unfused {
    fn claimed(self: Box<Self>, held: Vec<Option<String>>) -> Step {
        if let Some(value) = held.into_iter().next().flatten() {
            return self.then.held(&value);
        }
        let Unfused { mark, delivery, then } = *self;
        deliver(delivery, Settling { mark, then })
    }
}

/// An unfused `DeliverOnce`, waiting for its delivery.
#[derive(Debug)]
struct Settling {
    /// The mark, on the claim's key.
    mark: Entry,
    then: Box<dyn AwaitsOnce>,
}

impl AwaitsDelivery for Settling {
    fn delivered(self: Box<Self>, result: DeliveryResult) -> Step {
        let settled = result.marks_delivered();
        let next = self.then.posted(result);
        if settled {
            write(vec![self.mark], next)
        } else {
            release(vec![self.mark.key], next)
        }
    }
}

#[cfg(feature = "operations")]
#[derive(Debug)]
pub struct List {
    prefix: &'static str,
    limit: usize,
    then: Box<dyn AwaitsList>,
}

#[cfg(feature = "operations")]
impl List {
    pub fn prefix(&self) -> &'static str {
        self.prefix
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The keys listed, in byte order, and whether more follow.
    pub fn answer(self, mut keys: Vec<String>, more: bool) -> Step {
        keys.truncate(self.limit);
        self.then.listed(keys, more)
    }
}

#[cfg(feature = "queue")]
#[derive(Debug)]
pub struct Enqueue {
    messages: Vec<Queued>,
    delay_seconds: u32,
    then: Box<dyn AwaitsQueue>,
}

#[cfg(feature = "queue")]
impl Enqueue {
    pub fn messages(&self) -> &[Queued] {
        &self.messages
    }

    /// How long the queue holds the messages before delivering them: 0 but
    /// for a retry.
    pub fn delay_seconds(&self) -> u32 {
        self.delay_seconds
    }

    /// `Err` with the reason when the queue refused the messages.
    pub fn answer(self, result: Result<(), String>) -> Step {
        self.then.queued(result)
    }
}

#[cfg(feature = "queue")]
#[derive(Debug)]
pub struct Bury {
    letter: DeadLetter,
    then: Box<dyn AwaitsQueue>,
}

#[cfg(feature = "queue")]
impl Bury {
    pub fn letter(&self) -> &DeadLetter {
        &self.letter
    }

    /// `Err` with the reason when the queue refused the letter.
    pub fn answer(self, result: Result<(), String>) -> Step {
        self.then.queued(result)
    }
}

// The constructors the exchange's stages use. A step with nothing to do
// (no key to read, no entry to write) is skipped: its answer is given at
// once, so the shell is never asked for nothing.

pub(super) fn read(keys: Vec<String>, then: impl AwaitsRead + 'static) -> Step {
    let then: AfterRead = Box::new(then);
    if keys.is_empty() {
        return then.read(Vec::new());
    }
    Step::Read(Read { keys, then })
}

pub(super) fn write(entries: Vec<Entry>, then: Step) -> Step {
    if entries.is_empty() {
        return then;
    }
    Step::Write(Write { entries, then: Box::new(then) })
}

pub(super) fn claim(entries: Vec<Entry>, then: impl AwaitsClaim + 'static) -> Step {
    let then: AfterClaim = Box::new(then);
    if entries.is_empty() {
        return Claim { entries, then }.answer(Vec::new());
    }
    Step::Claim(Claim { entries, then })
}

pub(super) fn release(keys: Vec<String>, then: Step) -> Step {
    if keys.is_empty() {
        return then;
    }
    Step::Release(Release { keys, then: Box::new(then) })
}

pub(super) fn deliver(delivery: Delivery, then: impl AwaitsDelivery + 'static) -> Step {
    Step::Deliver(Deliver { delivery, then: Box::new(then) })
}

pub(super) fn deliver_once(claim: Entry, mark: Entry, delivery: Delivery, then: impl AwaitsOnce + 'static) -> Step {
    Step::DeliverOnce(Box::new(DeliverOnce { claim, mark, delivery, then: Box::new(then) }))
}

#[cfg(feature = "operations")]
pub(super) fn list(prefix: &'static str, limit: usize, then: impl AwaitsList + 'static) -> Step {
    Step::List(List { prefix, limit, then: Box::new(then) })
}

#[cfg(feature = "queue")]
pub(super) fn enqueue(messages: Vec<Queued>, then: impl AwaitsQueue + 'static) -> Step {
    enqueue_later(messages, 0, then)
}

#[cfg(feature = "queue")]
pub(super) fn enqueue_later(messages: Vec<Queued>, delay_seconds: u32, then: impl AwaitsQueue + 'static) -> Step {
    Step::Enqueue(Enqueue { messages, delay_seconds, then: Box::new(then) })
}

#[cfg(feature = "queue")]
pub(super) fn bury(letter: DeadLetter, then: impl AwaitsQueue + 'static) -> Step {
    Step::DeadLetter(Box::new(Bury { letter, then: Box::new(then) }))
}

/// The end: `response`, with the summary of `context` and `result`.
pub(super) fn respond(context: &Context, result: &'static str, response: Response) -> Step {
    Step::Respond(Finished { response, summary: summary(context, result) })
}

/// The answer to a webhook whose messages were handled: a status word, the
/// event, and what became of each message.
pub(super) fn answer(context: &Context, status: u16, word: &'static str, reports: &[Report]) -> Step {
    let body = Answer { status: word, provider: context.provider, event: context.event.as_deref(), messages: reports };
    respond(context, word, Response::json(status, &body))
}

/// A webhook's answer. (Written through derived `Serialize`, as every
/// answer is: `serde_json::Value` would bring its map and writer into the
/// wasm builds.)
#[derive(Serialize)]
struct Answer<'a> {
    status: &'static str,
    provider: Option<&'static str>,
    event: Option<&'a str>,
    messages: &'a [Report],
}

/// What became of `outgoing`.
pub(super) fn report(outgoing: &Outgoing, result: &'static str) -> Report {
    Report { id: outgoing.message.id.clone(), channel: outgoing.channel.name(), result }
}

/// The end, with `error`'s answer.
pub(super) fn fail(context: &Context, error: Error) -> Step {
    let mut context = context.clone();
    context.upstream_status = error.upstream_status().or(context.upstream_status);
    let mut finished = Finished { response: error.response(&context), summary: summary(&context, error.code()) };
    finished.summary.reason = error.reason();
    Step::Respond(finished)
}

fn summary(context: &Context, result: &'static str) -> Summary {
    Summary {
        provider: context.provider,
        event: context.event.clone(),
        result,
        upstream_status: context.upstream_status,
        reason: None,
    }
}
