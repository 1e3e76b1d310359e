//! Posting a webhook's messages to Re:amaze, in order, each under its
//! claim: a message this exchange claims is posted; one another copy of the
//! webhook is still posting is left to it, with the rest; one posted before
//! is a duplicate.

use std::sync::Arc;

use crate::error::{Context, Error, Report, Upstream};
use crate::http::{DeliveryResult, Target, Verdict};
use crate::outbound;
use crate::reamaze::Outgoing;
use crate::settings::Settings;
use crate::store::{self, keys, ttl, Entry};

use super::step::{self, answer, report, AwaitsOnce, Step};

/// How the answer is made once the messages are posted: in sync mode
/// (`SyncEnding`), of the messages posted, which are the webhook's; in queue
/// mode, of every message of the webhook, the posted being those too large
/// for the queue.
pub(super) trait Ending {
    fn answer(self: Box<Self>, context: &Context) -> Step;
}

impl std::fmt::Debug for dyn Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ending")
    }
}

/// Sync mode's ending.
#[derive(Debug)]
pub(super) struct SyncEnding;

/// Posting, one message at a time: each is claimed, posted and its claim
/// settled in one step (`step::DeliverOnce`), so a shell whose store can
/// do all three in one round trip does.
#[derive(Debug)]
pub(super) struct Posting {
    settings: Arc<Settings>,
    /// The event, and a report per message handled so far.
    context: Context,
    messages: Vec<Outgoing>,
    /// The message to post next.
    next: usize,
    /// Re:amaze's first refusal, if it refused any.
    refused: Option<Upstream>,
    /// Some messages were being posted by another copy of the webhook.
    elsewhere: bool,
    end: Box<dyn Ending>,
}

impl Posting {
    /// Writes the call memory `remember`, then posts `messages` in order.
    pub(super) fn start(
        settings: Arc<Settings>,
        context: Context,
        messages: Vec<Outgoing>,
        remember: Vec<Entry>,
        end: Box<dyn Ending>,
    ) -> Step {
        let posting = Posting { settings, context, messages, next: 0, refused: None, elsewhere: false, end };
        step::write(remember, posting.next())
    }

    /// Asks to post the next message, or ends.
    fn next(self) -> Step {
        let Some(outgoing) = self.messages.get(self.next) else { return self.settle(None) };
        // The channel's secret was checked before posting began; were it
        // missing, the error is answered (not a panic, whose message would
        // bring every error's Debug text into the wasm builds).
        match outbound::reamaze_post(&self.settings, outgoing) {
            Ok(delivery) => {
                let key = keys::delivery(&outgoing.message.id);
                let lease = ttl::claim_lease(self.settings.upstream_timeout_ms);
                step::deliver_once(Entry::claim(key.clone(), lease), Entry::done(key), delivery, self)
            }
            Err(error) => step::fail(&self.context, error),
        }
    }

    /// The answer, once every message was posted or found handled, or a
    /// delivery failed.
    fn settle(self, failure: Option<Error>) -> Step {
        match (failure.or(self.refused.map(Error::Reamaze)), self.elsewhere) {
            (Some(error), _) => step::fail(&self.context, error),
            // Another copy is delivering some of it: the sender is asked to
            // come back, and its retry is a duplicate, or delivers what
            // that copy failed to.
            (None, true) => {
                let retry_after = ttl::claim_lease(self.settings.upstream_timeout_ms);
                step::fail(&self.context, Error::InProgress { retry_after })
            }
            (None, false) => self.end.answer(&self.context),
        }
    }
}

impl AwaitsOnce for Posting {
    /// The message's claim was held: by another copy of the webhook still
    /// posting it, or as the mark of its delivery.
    fn held(mut self: Box<Self>, value: &str) -> Step {
        if value != store::PENDING {
            self.context.messages.push(report(&self.messages[self.next], "duplicate"));
            self.next += 1;
            return self.next();
        }
        // That copy claims the rest after this one: it is left the rest
        // too, so the messages still reach Re:amaze in order.
        self.elsewhere = true;
        let rest = &self.messages[self.next..];
        self.context.messages.extend(rest.iter().map(|outgoing| report(outgoing, "in_progress")));
        self.settle(None)
    }

    /// Re:amaze's answer to the message posted; its claim was settled as
    /// `DeliveryResult::marks_delivered` says.
    fn posted(mut self: Box<Self>, result: DeliveryResult) -> Step {
        let outgoing = &self.messages[self.next];
        let target = Target::Reamaze { channel: outgoing.channel.name(), message_id: outgoing.message.id.clone() };
        self.context.upstream_status = result.status;
        match result.verdict(&target) {
            Verdict::Accepted => self.context.messages.push(report(outgoing, "delivered")),
            Verdict::Permanent => {
                self.context.messages.push(report(outgoing, "refused"));
                self.refused.get_or_insert_with(|| Upstream::new("Re:amaze", &result, false));
            }
            // Stop: what was delivered is marked, so the sender's retry
            // posts only the rest.
            Verdict::Temporary => return self.settle(Some(Error::Reamaze(Upstream::new("Re:amaze", &result, true)))),
        }
        self.next += 1;
        self.next()
    }
}

impl Ending for SyncEnding {
    fn answer(self: Box<Self>, context: &Context) -> Step {
        let all_duplicates = context.messages.iter().all(|r: &Report| r.result == "duplicate");
        answer(context, 200, if all_duplicates { "duplicate" } else { "delivered" }, &context.messages)
    }
}
