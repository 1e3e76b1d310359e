//! Queue mode, sans-IO: what a queued Re:amaze message is, how a consumer
//! settles one delivery attempt (delivered, retry later, dead letter), and
//! what arrives on each queue.
//!
//! A webhook in queue mode is answered 202 once its messages are enqueued
//! (see `bridge::Step::Enqueue`). The consumer then, per message:
//!
//! ```text
//! match Arrival::of(queue_name, body, now)? {
//!     Arrival::DeadLetter(dead) => { store.put(dead.entry()); ack; continue }
//!     Arrival::Delivery(queued) => queued,
//! }
//! match queued.found(store.claim(queued.claim(lease))) {       // atomic put-if-absent
//!     Found::Delivered => { ack; continue }                    // delivered before
//!     Found::UnderWay => { retry after the lease; continue }   // another consumer has it
//!     Found::Ours => {}
//! }
//! let settled = match queued.delivery(&settings) {             // signed now, with today's secret
//!     Ok(delivery) => queued.settle(&send(delivery), &settings, now, jitter),
//!     Err(why) => queued.unsendable(why, &settings, now, jitter),
//! };
//! match settled {
//!     Settled::Delivered(mark)   => { store.put(mark); ack }
//!     Settled::Retry { next, delay_seconds } => { store.delete(queued.delivery_key()); queue.send(next, delay_seconds); ack }
//!     Settled::DeadLetter(dead)  => { store.delete(queued.delivery_key()); dead_letter_queue.send(dead); ack }
//! }
//! ```

use serde::Serialize;

use crate::http::{Delivery, DeliveryResult, Target, Verdict};
use crate::json::{self, required, JsonError, Object};
use crate::outbound;
use crate::reamaze::{Channel, Message, Outgoing};
use crate::settings::Settings;
use crate::store::{keys, ttl, Entry, DONE, PENDING};

/// A Re:amaze message waiting in the delivery queue. Unsigned: it is signed
/// when sent, so a rotated channel secret applies to what is still queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Queued {
    pub channel: Channel,
    pub message: Message,
    pub provider: String,
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the webhook was accepted (Unix seconds).
    pub accepted_at: i64,
    /// What went wrong last time, if this is a retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Queued {
    pub fn new(outgoing: &Outgoing, provider: &str, event: &str, now: i64) -> Self {
        Queued {
            channel: outgoing.channel,
            message: outgoing.message.clone(),
            provider: provider.to_string(),
            event: event.to_string(),
            attempt: 1,
            accepted_at: now,
            last_error: None,
        }
    }
}

impl Queued {
    /// Reads a queued message as it was written (`Serialize`), under `path`.
    fn read(object: &Object, path: &str) -> Result<Queued, JsonError> {
        let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
        let text = |key: &str| object.string(key, &at(key)).map(|s| s.map(String::from));
        let channel = object.string("channel", &at("channel"))?.and_then(Channel::of);
        let message = required(object.object("message", &at("message"))?, &at("message"))?;
        Ok(Queued {
            channel: required(channel, &at("channel"))?,
            message: Message::read(message, &at("message"))?,
            provider: required(text("provider")?, &at("provider"))?,
            event: required(text("event")?, &at("event"))?,
            attempt: count(object, "attempt", &at("attempt"))?,
            accepted_at: required(object.integer("accepted_at", &at("accepted_at"))?, &at("accepted_at"))?,
            last_error: text("last_error")?,
        })
    }
}

/// A count at `key`: a whole number from 0 to 2³²−1.
fn count(object: &Object, key: &str, path: &str) -> Result<u32, JsonError> {
    let n = required(object.integer(key, path)?, path)?;
    u32::try_from(n).map_err(|_| JsonError::Shape(format!("{path} is out of range")))
}

/// The largest queued message, as JSON: Cloudflare Queues holds 128 KB per
/// message, and this leaves room for the platform's own envelope.
pub const MESSAGE_MAX_BYTES: usize = 120_000;
/// The largest batch sent to the queue at once: Cloudflare Queues takes at
/// most 100 messages and 256 KB in one `sendBatch`.
pub const BATCH_MAX_BYTES: usize = 240_000;
pub const BATCH_MAX_MESSAGES: usize = 100;

/// The size of `queued` as JSON, at most: the message's own JSON and the
/// envelope's texts, with room for its field names and numbers. (Counted
/// without serializing the envelope, so the npm build, which has no queue,
/// carries no serializer for it.)
fn size_of(queued: &Queued) -> usize {
    const ENVELOPE: usize = 160;
    let texts = queued.provider.len() + queued.event.len() + queued.last_error.as_ref().map_or(0, String::len);
    queued.message.to_json().len() + 2 * texts + ENVELOPE
}

/// Whether the queue can hold `queued`.
pub fn fits(queued: &Queued) -> bool {
    size_of(queued) <= MESSAGE_MAX_BYTES
}

/// `messages`, in order, in batches the queue takes in one send.
pub fn batches(messages: Vec<Queued>) -> Vec<Vec<Queued>> {
    let mut batches: Vec<Vec<Queued>> = Vec::new();
    let mut bytes = 0;
    for queued in messages {
        let size = size_of(&queued);
        let full = batches.last().is_none_or(|b| b.len() == BATCH_MAX_MESSAGES || bytes + size > BATCH_MAX_BYTES);
        if full {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        batches.last_mut().expect("a batch was just pushed").push(queued);
    }
    batches
}

/// A message that will not be delivered without an operator: refused by
/// Re:amaze, or out of attempts. Kept (in KV) until replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub queued: Queued,
    /// How many delivery attempts were made.
    pub attempts: u32,
    pub last_error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    pub dead_at: i64,
}

impl DeadLetter {
    /// Reads a dead letter as it was written (`Serialize`, `entry`).
    pub fn parse(text: &[u8]) -> Result<DeadLetter, JsonError> {
        DeadLetter::read(&json::parse_object(text, READ_DEPTH)?)
    }

    fn read(object: &Object) -> Result<DeadLetter, JsonError> {
        let queued = required(object.object("queued", "queued")?, "queued")?;
        let status = object.integer("upstream_status", "upstream_status")?;
        Ok(DeadLetter {
            queued: Queued::read(queued, "queued")?,
            attempts: count(object, "attempts", "attempts")?,
            last_error: required(object.string("last_error", "last_error")?, "last_error")?.to_string(),
            upstream_status: status.and_then(|s| u16::try_from(s).ok()),
            dead_at: required(object.integer("dead_at", "dead_at")?, "dead_at")?,
        })
    }

    /// The store key it is kept under.
    pub fn key(&self) -> String {
        keys::dead_letter(&self.queued.message.id)
    }

    /// The message to enqueue again: a fresh first attempt.
    pub fn replay(&self, now: i64) -> Queued {
        Queued { attempt: 1, accepted_at: now, last_error: None, ..self.queued.clone() }
    }
}

/// How a delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Re:amaze took it: write this mark, so a redelivery is skipped.
    Delivered(Entry),
    /// Temporary failure: enqueue `next` again after `delay_seconds`.
    Retry { next: Queued, delay_seconds: u32 },
    /// Refused, or out of attempts.
    DeadLetter(DeadLetter),
}

/// What a consumer's claim on a message found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The claim is this consumer's: deliver, then settle.
    Ours,
    /// Delivered before: acknowledge, post nothing.
    Delivered,
    /// Another consumer is delivering it: try again once its claim has
    /// lapsed (`ttl::claim_lease`), in case that consumer died.
    UnderWay,
}

impl Queued {
    /// The key that marks the message delivered, claimed while it is
    /// being delivered.
    pub fn delivery_key(&self) -> String {
        keys::delivery(&self.message.id)
    }

    /// Claim this first (atomically, `Store::claim`), so that two consumers
    /// holding copies of one message (a queue redelivery, or a provider's
    /// retry enqueued twice) never both post it; for `lease` seconds
    /// (`ttl::claim_lease`).
    pub fn claim(&self, lease: u64) -> Entry {
        Entry::claim(self.delivery_key(), lease)
    }

    /// What the claim becomes once Re:amaze took the message: a later copy
    /// is a duplicate.
    pub fn mark(&self) -> Entry {
        Entry { key: self.delivery_key(), value: DONE.into(), ttl_seconds: ttl::SEEN }
    }

    /// What the claim found: `None` (it was written) makes the message this
    /// consumer's to deliver.
    pub fn found(&self, held: Option<&str>) -> Found {
        match held {
            None => Found::Ours,
            Some(PENDING) => Found::UnderWay,
            Some(_) => Found::Delivered,
        }
    }

    /// The signed request to send now. `Err` when the channel's secret is
    /// not set: retry later rather than lose the message.
    pub fn delivery(&self, settings: &Settings) -> Result<Delivery, String> {
        let outgoing = Outgoing { channel: self.channel, message: self.message.clone() };
        outbound::reamaze_post(settings, &outgoing).map_err(|error| error.to_string())
    }

    /// Settles an attempt. `jitter` is a random number in [0, 1) from the
    /// shell, which spreads retries so a recovering Re:amaze is not hit by
    /// every retry at once.
    pub fn settle(&self, result: &DeliveryResult, settings: &Settings, now: i64, jitter: f64) -> Settled {
        let target = Target::Reamaze { channel: self.channel.name(), message_id: self.message.id.clone() };
        let error = || describe(result);
        match result.verdict(&target) {
            Verdict::Accepted => Settled::Delivered(self.mark()),
            Verdict::Permanent => Settled::DeadLetter(self.dead(error(), result.status, now)),
            Verdict::Temporary if self.attempt >= settings.queue_max_attempts => {
                Settled::DeadLetter(self.dead(format!("out of attempts; last: {}", error()), result.status, now))
            }
            Verdict::Temporary => {
                let delay = backoff(self.attempt, settings, jitter).max(retry_after(result, now));
                let next = Queued { attempt: self.attempt + 1, last_error: Some(error()), ..self.clone() };
                Settled::Retry { next, delay_seconds: delay }
            }
        }
    }

    /// When the delivery could not even be made (`delivery` failed).
    pub fn unsendable(&self, why: String, settings: &Settings, now: i64, jitter: f64) -> Settled {
        self.settle(&DeliveryResult::unanswered(why), settings, now, jitter)
    }

    fn dead(&self, last_error: String, upstream_status: Option<u16>, now: i64) -> DeadLetter {
        DeadLetter { queued: self.clone(), attempts: self.attempt, last_error, upstream_status, dead_at: now }
    }
}

fn describe(result: &DeliveryResult) -> String {
    let body: String = result.body.trim().chars().take(300).collect();
    match result.status {
        Some(status) => format!("Re:amaze answered {status}: {body}"),
        None => body,
    }
}

/// Exponential backoff with "equal jitter": the delay for attempt n is
/// between half and all of min(max, base · 2^(n-1)) seconds.
pub fn backoff(attempt: u32, settings: &Settings, jitter: f64) -> u32 {
    let exponent = attempt.saturating_sub(1).min(30);
    let ceiling = settings.queue_retry_base_seconds.saturating_mul(1 << exponent).min(settings.queue_retry_max_seconds);
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    let half = f64::from(ceiling) / 2.0;
    (half + half * jitter).round() as u32
}

/// Seconds asked for by a `Retry-After` header: a number of seconds or an
/// HTTP date. Unreadable values count as none. Capped at a day.
pub fn retry_after(result: &DeliveryResult, now: i64) -> u32 {
    let Some(value) = result.retry_after.as_deref().map(str::trim) else { return 0 };
    let seconds = match value.parse::<i64>() {
        Ok(seconds) => seconds,
        Err(_) => crate::time::parse_http_date(value).map_or(0, |at| at - now),
    };
    seconds.clamp(0, 86_400) as u32
}

/// How long a dead letter is kept in the store: long enough for an operator
/// to notice and replay.
pub const DEAD_LETTER_TTL: u64 = 30 * 86_400;

impl DeadLetter {
    /// The store entry that keeps it until an operator replays it.
    pub fn entry(&self) -> Entry {
        let value = serde_json::to_string(self).expect("dead letters serialize");
        Entry { key: self.key(), value, ttl_seconds: DEAD_LETTER_TTL }
    }
}

/// What a queue consumer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A message to deliver.
    Delivery(Queued),
    /// A message to keep for operators.
    DeadLetter(DeadLetter),
}

impl Arrival {
    /// Tells a message on the delivery queue from one on the dead-letter
    /// queue. A dead letter carries the queued message under `queued`; a
    /// message the platform moved to the dead-letter queue by itself (its
    /// own retry limit) is a bare `Queued` there, known by the queue's
    /// name: the dead-letter queue's name says "dead", as wrangler.toml's
    /// does.
    pub fn of(queue_name: &str, body: &[u8], now: i64) -> Result<Arrival, String> {
        let on_dead_letter_queue = queue_name.contains("dead");
        let object = json::parse_object(body, READ_DEPTH).map_err(|e| format!("not a queued message: {e}"))?;
        if !object.contains_key("queued") && !on_dead_letter_queue {
            let queued = Queued::read(&object, "").map_err(|e| format!("not a queued message: {e}"))?;
            return Ok(Arrival::Delivery(queued));
        }
        if let Ok(dead) = DeadLetter::read(&object) {
            return Ok(Arrival::DeadLetter(dead));
        }
        let queued = Queued::read(&object, "").map_err(|e| format!("not a dead letter: {e}"))?;
        let last_error = queued.last_error.clone().unwrap_or_else(|| "the delivery consumer kept failing".into());
        Ok(Arrival::DeadLetter(DeadLetter {
            attempts: queued.attempt,
            queued,
            last_error,
            upstream_status: None,
            dead_at: now,
        }))
    }
}

/// How deep what the bridge itself wrote nests: a dead letter's message's
/// party's name is four levels down.
const READ_DEPTH: u32 = 8;
