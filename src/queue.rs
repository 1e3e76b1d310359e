//! Queue mode, sans-IO: what a queued Re:amaze message is, how a consumer
//! settles one delivery attempt (delivered, retry later, dead letter), and
//! the operators' access to dead letters.
//!
//! A webhook in queue mode is answered 202 once its messages are enqueued
//! (see `bridge::Step::Enqueue`). The consumer then, per message:
//!
//! ```text
//! let job = Job::new(queued);
//! match job.found(store.claim(job.claim())) {                  // atomic put-if-absent
//!     Found::Delivered => { ack; continue }                    // delivered before
//!     Found::UnderWay => { retry after ttl::CLAIM; continue }  // another consumer has it
//!     Found::Ours => {}
//! }
//! let delivery = job.delivery(&settings, now)?;                // signed now, with today's secret
//! match job.settle(send(delivery), &settings, now, jitter) {
//!     Settled::Delivered(mark)   => { store.put(mark); ack }
//!     Settled::Retry { next, delay_seconds } => { store.delete(job.seen_key()); queue.send(next, delay_seconds); ack }
//!     Settled::DeadLetter(dead)  => { store.delete(job.seen_key()); dead_letter_queue.send(dead); ack }
//! }
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::bridge::{Delivery, DeliveryResult, Response, Target, Verdict};
use crate::reamaze::{Channel, Message, Outgoing};
use crate::settings::{names, Settings};
use crate::store::{keys, ttl, Entry, PENDING};

/// A Re:amaze message waiting in the delivery queue. Unsigned: it is signed
/// when sent, so a rotated channel secret applies to what is still queued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub queued: Queued,
    /// How many delivery attempts were made.
    pub attempts: u32,
    pub last_error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    pub dead_at: i64,
}

impl DeadLetter {
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
    /// lapsed (`ttl::CLAIM`), in case that consumer died.
    UnderWay,
}

/// One queued message being delivered.
#[derive(Clone, Debug)]
pub struct Job {
    pub queued: Queued,
}

impl Job {
    pub fn new(queued: Queued) -> Self {
        Job { queued }
    }

    /// The key that marks the message delivered, claimed while it is
    /// being delivered.
    pub fn seen_key(&self) -> String {
        keys::seen(&self.queued.message.id)
    }

    /// Claim this first (atomically, `Store::claim`), so that two consumers
    /// holding copies of one message (a queue redelivery, or a provider's
    /// retry enqueued twice) never both post it.
    pub fn claim(&self) -> Entry {
        Entry { key: self.seen_key(), value: PENDING.into(), ttl_seconds: ttl::CLAIM }
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
        let outgoing = Outgoing { channel: self.queued.channel, message: self.queued.message.clone() };
        crate::bridge::reamaze_delivery(settings, &outgoing)
            .map_err(|r| r.body_json()["message"].as_str().unwrap_or("the channel's secret is not set").to_string())
    }

    /// Settles an attempt. `jitter` is a random number in [0, 1) from the
    /// shell, which spreads retries so a recovering Re:amaze is not hit by
    /// every retry at once.
    pub fn settle(&self, result: &DeliveryResult, settings: &Settings, now: i64, jitter: f64) -> Settled {
        let target = Target::Reamaze { channel: self.queued.channel, message_id: self.queued.message.id.clone() };
        let error = || describe(result);
        match result.verdict(&target) {
            Verdict::Accepted => {
                Settled::Delivered(Entry { key: self.seen_key(), value: "1".into(), ttl_seconds: ttl::SEEN })
            }
            Verdict::Permanent => Settled::DeadLetter(self.dead(error(), result.status, now)),
            Verdict::Temporary if self.queued.attempt >= settings.queue_max_attempts => {
                Settled::DeadLetter(self.dead(format!("out of attempts; last: {}", error()), result.status, now))
            }
            Verdict::Temporary => {
                let delay = backoff(self.queued.attempt, settings, jitter).max(retry_after(result, now));
                let next =
                    Queued { attempt: self.queued.attempt + 1, last_error: Some(error()), ..self.queued.clone() };
                Settled::Retry { next, delay_seconds: delay }
            }
        }
    }

    /// When the delivery could not even be made (`delivery` failed).
    pub fn unsendable(&self, why: String, settings: &Settings, now: i64, jitter: f64) -> Settled {
        self.settle(&DeliveryResult::unanswered(why), settings, now, jitter)
    }

    fn dead(&self, last_error: String, upstream_status: Option<u16>, now: i64) -> DeadLetter {
        DeadLetter {
            queued: self.queued.clone(),
            attempts: self.queued.attempt,
            last_error,
            upstream_status,
            dead_at: now,
        }
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
        Err(_) => crate::format::parse_http_date(value).map_or(0, |at| at - now),
    };
    seconds.clamp(0, 86_400) as u32
}

/// Operators' access: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
/// constant time (digests of both, so not even the length leaks). No token
/// configured means the admin routes do not exist (404).
pub fn authorize(settings: &Settings, authorization: Option<&str>) -> Result<(), Response> {
    let Some(token) = &settings.admin_token else {
        return Err(Response::error(404, "not_found", "no route for this path"));
    };
    if let Some(header) = authorization.filter(|h| h.len() > settings.max_header_bytes as usize) {
        return Err(crate::bridge::header_too_large("Authorization", header.len(), settings));
    }
    let given = authorization.and_then(|h| h.trim().strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
    let matches: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(token.expose().as_bytes())).into();
    if matches && !given.is_empty() {
        Ok(())
    } else {
        let mut response = Response::error(
            401,
            "unauthorized",
            format!("this route needs Authorization: Bearer <{}>", names::ADMIN_TOKEN),
        );
        response.headers.push(("WWW-Authenticate".into(), "Bearer".into()));
        Err(response)
    }
}

/// How long a dead letter is kept in the store: long enough for an operator
/// to notice and replay.
pub const DEAD_LETTER_TTL: u64 = 30 * 86_400;
