//! Queue mode: a webhook's messages not delivered before go on the
//! delivery queue, and the sender is answered 202 at once; the consumer
//! (`queue`) delivers them. The queue takes messages of a bounded size in
//! batches of a bounded size: a message too large for it is posted at once
//! instead, as in sync mode, rather than refused by the queue on every
//! retry.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::error::{Context, Error};
use crate::queue::{self, Queued as QueuedMessage};
use crate::reamaze::Outgoing;
use crate::settings::Settings;
use crate::store::{keys, Entry};

use super::posting::{Ending, Posting};
use super::step::{self, answer, report, AwaitsQueue, AwaitsRead, Step};

/// Asks which of `messages` were delivered before.
pub(super) fn check(
    settings: Arc<Settings>,
    context: Context,
    messages: Vec<Outgoing>,
    remember: Vec<Entry>,
    now: i64,
) -> Step {
    let delivered = messages.iter().map(|m| keys::delivery(&m.message.id)).collect();
    let checking = Checking { settings, context, messages, remember, now };
    step::read(delivered, checking)
}

/// Waiting to learn which messages were delivered before.
#[derive(Debug)]
struct Checking {
    settings: Arc<Settings>,
    context: Context,
    messages: Vec<Outgoing>,
    remember: Vec<Entry>,
    now: i64,
}

impl AwaitsRead for Checking {
    fn read(self: Box<Self>, delivered: Vec<Option<String>>) -> Step {
        let Checking { settings, context, messages, remember, now } = *self;
        let fresh: Vec<&Outgoing> =
            messages.iter().zip(&delivered).filter(|(_, done)| done.is_none()).map(|(m, _)| m).collect();
        if fresh.is_empty() {
            let reports: Vec<_> = messages.iter().map(|m| report(m, "duplicate")).collect();
            return step::write(remember, answer(&context, 200, "duplicate", &reports));
        }
        let provider = context.provider.unwrap_or_default();
        let event = context.event.as_deref().unwrap_or_default();
        let fresh: Vec<QueuedMessage> = fresh.iter().map(|m| QueuedMessage::new(m, provider, event, now)).collect();
        let (fits, too_large): (Vec<_>, Vec<_>) = fresh.into_iter().partition(queue::fits);
        let queueing = Queueing {
            settings,
            context,
            batches: queue::batches(fits).into(),
            too_large,
            queued: Queued { messages, delivered },
        };
        step::write(remember, queueing.next())
    }
}

/// Sending the batches to the queue, one at a time.
#[derive(Debug)]
struct Queueing {
    settings: Arc<Settings>,
    context: Context,
    batches: VecDeque<Vec<QueuedMessage>>,
    too_large: Vec<QueuedMessage>,
    queued: Queued,
}

impl Queueing {
    fn next(mut self) -> Step {
        if let Some(batch) = self.batches.pop_front() {
            return step::enqueue(batch, self);
        }
        // The messages too large for the queue are posted now, with their
        // claims, as sync mode posts every message.
        let outgoing: Vec<Outgoing> =
            self.too_large.iter().map(|q| Outgoing { channel: q.channel, message: q.message.clone() }).collect();
        let context = Context { messages: Vec::new(), ..self.context };
        Posting::start(self.settings, context, outgoing, Vec::new(), Box::new(self.queued))
    }
}

impl AwaitsQueue for Queueing {
    fn queued(self: Box<Self>, sent: Result<(), String>) -> Step {
        match sent {
            Ok(()) => self.next(),
            Err(why) => step::fail(&self.context, Error::QueueUnavailable(why)),
        }
    }
}

/// What the answer says of every message once the batches are queued.
#[derive(Debug)]
struct Queued {
    messages: Vec<Outgoing>,
    /// Per message, whether it was delivered before.
    delivered: Vec<Option<String>>,
}

impl Ending for Queued {
    /// 202: each message is a duplicate, posted now (as `context` reports),
    /// or queued.
    fn answer(self: Box<Self>, context: &Context) -> Step {
        let reports: Vec<_> = (self.messages.iter().zip(&self.delivered))
            .map(|(m, delivered)| {
                let posted = context.messages.iter().find(|r| r.id == m.message.id);
                match (delivered, posted) {
                    (Some(_), _) => report(m, "duplicate"),
                    (None, Some(posted)) => posted.clone(),
                    (None, None) => report(m, "queued"),
                }
            })
            .collect();
        answer(context, 202, "queued", &reports)
    }
}
