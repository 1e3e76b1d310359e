//! The steps of an exchange, each a typed handle: the shell does what the
//! handle asks and answers through it, and the answer, consuming the
//! handle, gives the next step. A read can only be answered with values,
//! a delivery only with its result, and no step can be answered twice.

use crate::error::{Context, Error};
use crate::http::{Delivery, DeliveryResult, Response};
#[cfg(feature = "queue")]
use crate::queue::Queued;
use crate::store::Entry;

#[cfg(feature = "operations")]
use super::aftermath::{Claiming, Counting};
use super::posting::Posting;
#[cfg(feature = "queue")]
use super::queued::{Checking, Queueing};
use super::staff_reply::{ReplyClaimed, Sending};
use super::webhook::Translating;

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
    /// Delete these keys (claims given up), then take the next step from
    /// `done`.
    Release(Release),
    /// Send this request, and `answer` with what came of it.
    Deliver(Deliver),
    /// Claim, send, and settle the claim, for a message that must reach
    /// Re:amaze once (`DeliverOnce`). A shell whose store does the three in
    /// one round trip does; any other answers it with `unfused`, which asks
    /// for them as a claim, a delivery, and a write or a release.
    DeliverOnce(Box<DeliverOnce>),
    /// Queue mode: put these messages on the delivery queue, and `answer`
    /// with `Err` and the reason if the queue refused them.
    #[cfg(feature = "queue")]
    Enqueue(Enqueue),
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

#[derive(Debug)]
pub(super) enum AfterRead {
    Translate(Box<Translating>),
    #[cfg(feature = "queue")]
    Enqueue(Box<Checking>),
    #[cfg(feature = "operations")]
    Counting(Box<Counting>),
}

impl Read {
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// One value per key, in the order of `keys`; missing values are `None`.
    pub fn answer(self, mut values: Vec<Option<String>>) -> Step {
        values.resize(self.keys.len(), None);
        self.then.hear(values)
    }
}

impl AfterRead {
    fn hear(self, values: Vec<Option<String>>) -> Step {
        match self {
            AfterRead::Translate(translating) => translating.hear(values),
            #[cfg(feature = "queue")]
            AfterRead::Enqueue(checking) => checking.hear(values),
            #[cfg(feature = "operations")]
            AfterRead::Counting(counting) => counting.hear(values),
        }
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

#[derive(Debug)]
pub(super) enum AfterClaim {
    Once(Box<Unfused>),
    Reply(Box<ReplyClaimed>),
    #[cfg(feature = "operations")]
    Alert(Box<Claiming>),
}

impl Claim {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Per entry, in order: `None` where the claim was written, else the
    /// value the key already held.
    pub fn answer(self, mut held: Vec<Option<String>>) -> Step {
        held.resize(self.entries.len(), None);
        match self.then {
            AfterClaim::Once(unfused) => unfused.hear(held),
            AfterClaim::Reply(claimed) => claimed.hear(held),
            #[cfg(feature = "operations")]
            AfterClaim::Alert(claiming) => claiming.hear(held),
        }
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

#[derive(Debug)]
pub(super) enum AfterDeliver {
    Once(Box<Settling>),
    Sms(Box<Sending>),
    #[cfg(feature = "operations")]
    Alert(Box<Claiming>),
}

impl Deliver {
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    pub fn answer(self, result: DeliveryResult) -> Step {
        match self.then {
            AfterDeliver::Once(settling) => settling.hear(result),
            AfterDeliver::Sms(sending) => sending.hear(result),
            #[cfg(feature = "operations")]
            AfterDeliver::Alert(claiming) => claiming.sent(result),
        }
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
    then: Box<Posting>,
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
        self.then.hear(result)
    }

    /// The same work as separate steps, for a shell that does not do it
    /// in one round trip: a claim, then the delivery, then the mark's
    /// write or the claim's release.
    pub fn unfused(self) -> Step {
        let DeliverOnce { claim: entry, mark, delivery, then } = self;
        claim(vec![entry], AfterClaim::Once(Box::new(Unfused { mark, delivery, then })))
    }
}

/// An unfused `DeliverOnce`, waiting for its claim.
#[derive(Debug)]
pub(super) struct Unfused {
    /// The mark, on the claim's key.
    mark: Entry,
    delivery: Delivery,
    then: Box<Posting>,
}

impl Unfused {
    fn hear(self, held: Vec<Option<String>>) -> Step {
        if let Some(value) = held.into_iter().next().flatten() {
            return self.then.held(&value);
        }
        let Unfused { mark, delivery, then } = self;
        deliver(delivery, AfterDeliver::Once(Box::new(Settling { mark, then })))
    }
}

/// An unfused `DeliverOnce`, waiting for its delivery.
#[derive(Debug)]
pub(super) struct Settling {
    /// The mark, on the claim's key.
    mark: Entry,
    then: Box<Posting>,
}

impl Settling {
    fn hear(self, result: DeliveryResult) -> Step {
        let settled = result.marks_delivered();
        let next = self.then.hear(result);
        if settled {
            write(vec![self.mark], next)
        } else {
            release(vec![self.mark.key], next)
        }
    }
}

#[cfg(feature = "queue")]
#[derive(Debug)]
pub struct Enqueue {
    messages: Vec<Queued>,
    then: Box<Queueing>,
}

#[cfg(feature = "queue")]
impl Enqueue {
    pub fn messages(&self) -> &[Queued] {
        &self.messages
    }

    /// `Err` with the reason when the queue refused the messages.
    pub fn answer(self, result: Result<(), String>) -> Step {
        self.then.hear(result)
    }
}

// The constructors the exchange's stages use. A step with nothing to do
// (no key to read, no entry to write) is skipped: its answer is given at
// once, so the shell is never asked for nothing.

pub(super) fn read(keys: Vec<String>, then: AfterRead) -> Step {
    if keys.is_empty() {
        return then.hear(Vec::new());
    }
    Step::Read(Read { keys, then })
}

pub(super) fn write(entries: Vec<Entry>, then: Step) -> Step {
    if entries.is_empty() {
        return then;
    }
    Step::Write(Write { entries, then: Box::new(then) })
}

pub(super) fn claim(entries: Vec<Entry>, then: AfterClaim) -> Step {
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

pub(super) fn deliver(delivery: Delivery, then: AfterDeliver) -> Step {
    Step::Deliver(Deliver { delivery, then })
}

pub(super) fn deliver_once(claim: Entry, mark: Entry, delivery: Delivery, then: Posting) -> Step {
    Step::DeliverOnce(Box::new(DeliverOnce { claim, mark, delivery, then: Box::new(then) }))
}

#[cfg(feature = "queue")]
pub(super) fn enqueue(messages: Vec<Queued>, then: Queueing) -> Step {
    Step::Enqueue(Enqueue { messages, then: Box::new(then) })
}

/// The end: `response`, with the summary of `context` and `result`.
pub(super) fn respond(context: &Context, result: &'static str, response: Response) -> Step {
    Step::Respond(Finished { response, summary: summary(context, result) })
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
