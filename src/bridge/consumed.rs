//! Queue mode's consumer as stages of the exchange. A message from the
//! delivery queue is posted once (`DeliverOnce`: claimed, sent, settled),
//! then settled: delivered, sent back to the queue for a later attempt, or
//! put on the dead-letter queue. A message from the dead-letter queue is
//! kept in the store for operators.
//!
//! Its end says what the shell does with the message (`Disposition`), and
//! its response's body is the consumer's log line.

use std::sync::Arc;

use serde::Serialize;

use crate::error::Error;
use crate::http::{DeliveryResult, Response};
use crate::providers::Provider;
use crate::queue::{Arrival, DeadLetter, Found, Queued, Settled};
use crate::settings::Settings;
use crate::store::ttl;

use super::step::{self, AwaitsOnce, AwaitsQueue, Finished, Step, Summary};
use super::Bridge;

/// What becomes of a consumed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Settled: acknowledge it.
    Acknowledge,
    /// Not settled: the queue brings it back, after `delay_seconds` when
    /// given (another consumer holds its claim; back once it has lapsed,
    /// in case that consumer died).
    Redeliver { delay_seconds: Option<u32> },
}

/// Back at the queue's own pace.
const AGAIN: Disposition = Disposition::Redeliver { delay_seconds: None };

impl Disposition {
    /// What the end of a consumed message's exchange asks.
    pub fn of(finished: &Finished) -> Disposition {
        if finished.response.status < 300 {
            return Disposition::Acknowledge;
        }
        let delay_seconds = finished.response.header("Retry-After").and_then(|s| s.parse().ok());
        Disposition::Redeliver { delay_seconds }
    }
}

impl Bridge {
    /// The first step of consuming a message that arrived on `queue_name`
    /// with `body`, and what follows it once done (a new dead letter's
    /// alert). `jitter`, a random number in [0, 1), spreads retries.
    pub fn consume(&self, queue_name: &str, body: &[u8], now: i64, jitter: f64) -> (Step, Option<Step>) {
        match Arrival::of(queue_name, body, now) {
            Ok(Arrival::Delivery(queued)) => (self.deliver(queued, now, jitter), None),
            Ok(Arrival::DeadLetter(dead)) => {
                let after = self.dead_letter_aftermath(&dead, now);
                (keep(&dead), after)
            }
            Err(why) => (end(Line::failed(queue_name, why), AGAIN), None),
        }
    }

    fn deliver(&self, queued: Queued, now: i64, jitter: f64) -> Step {
        let line = Line::delivery(&queued);
        match queued.delivery(&self.settings) {
            Ok(delivery) => {
                let lease = ttl::claim_lease(self.settings.upstream_timeout_ms);
                let (claim, mark) = (queued.claim(lease), queued.mark());
                let delivering = Delivering { queued, settings: self.settings.clone(), line, now, jitter };
                step::deliver_once(claim, mark, delivery, delivering)
            }
            // Nothing is claimed: the message comes back once the setting
            // is mended, and its claim then finds it if it was delivered
            // before.
            Err(why) => settle(queued.unsendable(why, &self.settings, now, jitter), line),
        }
    }
}

/// The end of a message whose exchange failed under the shell (its store or
/// its queue): the queue brings it back.
pub fn consumption_failed(queue_name: &str, error: &Error) -> Finished {
    let reason = error.reason().unwrap_or_else(|| error.to_string());
    finished(Line::failed(queue_name, reason), AGAIN)
}

/// A dead letter, kept until an operator replays it.
fn keep(dead: &DeadLetter) -> Step {
    let line = Line {
        queue: "dead_letters".into(),
        id: Some(dead.queued.message.id.clone()),
        attempts: Some(dead.attempts),
        outcome: "kept",
        ..Line::default()
    };
    step::write(vec![dead.entry()], end(line, Disposition::Acknowledge))
}

/// A message claimed, waiting for its post.
#[derive(Debug)]
struct Delivering {
    queued: Queued,
    settings: Arc<Settings>,
    line: Line,
    now: i64,
    jitter: f64,
}

impl AwaitsOnce for Delivering {
    fn held(self: Box<Self>, value: &str) -> Step {
        let mut line = self.line;
        match self.queued.found(Some(value)) {
            Found::UnderWay => {
                line.outcome = "under_way";
                let lease = ttl::claim_lease(self.settings.upstream_timeout_ms) as u32;
                let later = Disposition::Redeliver { delay_seconds: Some(lease) };
                end(line, later)
            }
            _ => {
                line.outcome = "duplicate";
                end(line, Disposition::Acknowledge)
            }
        }
    }

    fn posted(self: Box<Self>, result: DeliveryResult) -> Step {
        let Delivering { queued, settings, mut line, now, jitter } = *self;
        line.upstream_status = Some(result.status);
        settle(queued.settle(&result, &settings, now, jitter), line)
    }
}

/// Does what the attempt settled on (its claim is settled already).
fn settle(settled: Settled, mut line: Line) -> Step {
    match settled {
        Settled::Delivered(_) => {
            line.outcome = "delivered";
            end(line, Disposition::Acknowledge)
        }
        Settled::Retry { next, delay_seconds } => {
            line.outcome = "retry";
            line.delay_seconds = Some(delay_seconds);
            step::enqueue_later(vec![next], delay_seconds, Requeuing(line))
        }
        Settled::DeadLetter(dead) => {
            line.outcome = "dead_letter";
            line.error = Some(dead.last_error.clone());
            step::bury(dead, Requeuing(line))
        }
    }
}

/// Waiting for a queue to take the message back, or its dead letter.
#[derive(Debug)]
struct Requeuing(Line);

impl AwaitsQueue for Requeuing {
    fn queued(self: Box<Self>, sent: Result<(), String>) -> Step {
        let mut line = self.0;
        match sent {
            Ok(()) => end(line, Disposition::Acknowledge),
            Err(why) => {
                line.outcome = "error";
                line.reason = Some(crate::http::plain(&why));
                end(line, AGAIN)
            }
        }
    }
}

/// The consumer's log line for one message, in this order. Never a body.
#[derive(Debug, Default, Serialize)]
struct Line {
    queue: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    #[serde(skip)]
    provider: Option<&'static str>,
    #[serde(skip)]
    event: Option<String>,
    outcome: &'static str,
    /// Present once a post was made: `null` when it had no answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream_status: Option<Option<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// What failed inside the bridge (a store, a queue), plain.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Line {
    fn delivery(queued: &Queued) -> Line {
        Line {
            queue: "deliveries".into(),
            id: Some(queued.message.id.clone()),
            attempt: Some(queued.attempt),
            provider: Provider::named(&queued.provider).map(Provider::name),
            event: Some(queued.event.clone()),
            outcome: "error",
            ..Line::default()
        }
    }

    fn failed(queue_name: &str, why: String) -> Line {
        Line { queue: queue_name.into(), outcome: "error", reason: Some(crate::http::plain(&why)), ..Line::default() }
    }
}

/// The end, with `line` and what becomes of the message.
fn end(line: Line, disposition: Disposition) -> Step {
    Step::Respond(finished(line, disposition))
}

/// 200 to acknowledge; 503, with `Retry-After` when delayed, to have the
/// message back.
fn finished(line: Line, disposition: Disposition) -> Finished {
    let status = if disposition == Disposition::Acknowledge { 200 } else { 503 };
    let mut response = Response::json(status, &line);
    if let Disposition::Redeliver { delay_seconds: Some(delay) } = disposition {
        response.headers.push(("Retry-After".into(), delay.to_string()));
    }
    let summary = Summary {
        provider: line.provider,
        event: line.event,
        result: line.outcome,
        upstream_status: line.upstream_status.flatten(),
        reason: line.reason,
    };
    Finished { response, summary }
}
