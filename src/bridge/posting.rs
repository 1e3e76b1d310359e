//! Posting a webhook's messages to Re:amaze, in order, once their claims
//! are taken: each message this exchange claimed is posted; one another
//! copy of the webhook is still posting is left to it; one posted before
//! is a duplicate.

use std::sync::Arc;

use crate::error::{Context, Error, Report, Upstream};
use crate::http::{DeliveryResult, Target, Verdict};
use crate::outbound;
use crate::reamaze::Outgoing;
use crate::settings::Settings;
use crate::store::{self, keys, Entry};

use super::step::{self, AfterDeliver, Step};
use super::webhook::{answer, done, report};

/// How the answer is made once the messages are posted.
#[derive(Debug)]
pub(super) enum End {
    /// Sync mode: the messages posted are the webhook's.
    Sync,
    /// Queue mode: the messages posted are those too large for the queue;
    /// the answer covers every message of the webhook.
    #[cfg(feature = "queue")]
    AfterQueue(super::queued::Queued),
}

/// Waiting for the claims on the messages' delivery keys.
#[derive(Debug)]
pub(super) struct Claimed {
    posting: Posting,
    /// The call memory to write once the claims are held.
    remember: Vec<Entry>,
}

impl Claimed {
    pub(super) fn new(
        settings: Arc<Settings>,
        context: Context,
        messages: Vec<Outgoing>,
        remember: Vec<Entry>,
        end: End,
    ) -> Self {
        let posting = Posting {
            settings,
            context,
            messages,
            held: Vec::new(),
            next: 0,
            delivered: Vec::new(),
            unsettled: Vec::new(),
            refused: None,
            elsewhere: false,
            end,
        };
        Claimed { posting, remember }
    }

    pub(super) fn hear(self, held: Vec<Option<String>>) -> Step {
        let mut posting = self.posting;
        posting.unsettled = (posting.messages.iter().zip(&held))
            .filter(|(_, held)| held.is_none())
            .map(|(m, _)| keys::delivery(&m.message.id))
            .collect();
        posting.held = held;
        step::write(self.remember, posting.next())
    }
}

/// Posting, one message at a time.
#[derive(Debug)]
pub(super) struct Posting {
    settings: Arc<Settings>,
    /// The event, and a report per message handled so far.
    context: Context,
    messages: Vec<Outgoing>,
    /// Per message, what its claim found: `None` when it is this exchange's.
    held: Vec<Option<String>>,
    /// The message to post next.
    next: usize,
    /// Marks for the messages Re:amaze took.
    delivered: Vec<Entry>,
    /// Claims held and not settled: released at the end, so a retry can
    /// post their messages.
    unsettled: Vec<String>,
    /// Re:amaze's first refusal, if it refused any.
    refused: Option<Upstream>,
    /// Some messages were being posted by another copy of the webhook.
    elsewhere: bool,
    end: End,
}

impl Posting {
    /// Asks to post the next message this exchange holds, or ends.
    fn next(mut self) -> Step {
        while let Some(outgoing) = self.messages.get(self.next) {
            match self.held[self.next].as_deref() {
                Some(store::PENDING) => {
                    self.elsewhere = true;
                    self.context.messages.push(report(outgoing, "in_progress"));
                }
                Some(_) => self.context.messages.push(report(outgoing, "duplicate")),
                // The channel's secret was checked before claiming; were it
                // missing, the error is answered (not a panic, whose message
                // would bring every error's Debug text into the wasm builds).
                None => match outbound::reamaze_post(&self.settings, outgoing) {
                    Ok(delivery) => return step::deliver(delivery, AfterDeliver::Post(Box::new(self))),
                    Err(error) => return step::fail(&self.context, error),
                },
            }
            self.next += 1;
        }
        self.settle(None)
    }

    pub(super) fn hear(mut self, result: DeliveryResult) -> Step {
        let outgoing = &self.messages[self.next];
        let key = keys::delivery(&outgoing.message.id);
        let target = Target::Reamaze { channel: outgoing.channel.name(), message_id: outgoing.message.id.clone() };
        self.context.upstream_status = result.status;
        match result.verdict(&target) {
            Verdict::Accepted => {
                self.context.messages.push(report(outgoing, "delivered"));
                self.unsettled.retain(|k| *k != key);
                self.delivered.push(done(key));
            }
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

    /// Marks what was delivered, gives up the claims not settled, and
    /// answers.
    fn settle(self, failure: Option<Error>) -> Step {
        let failure = failure.or(self.refused.map(Error::Reamaze));
        let answer = match (failure, self.elsewhere) {
            (Some(error), _) => step::fail(&self.context, error),
            // Another copy is delivering some of it: the sender is asked to
            // come back, and its retry is a duplicate, or delivers what
            // that copy failed to.
            (None, true) => step::fail(&self.context, Error::InProgress),
            (None, false) => self.end.answer(&self.context),
        };
        step::write(self.delivered, step::release(self.unsettled, answer))
    }
}

impl End {
    /// The answer once every message was posted or found handled.
    fn answer(self, context: &Context) -> Step {
        match self {
            End::Sync => {
                let all_duplicates = context.messages.iter().all(|r: &Report| r.result == "duplicate");
                answer(context, 200, if all_duplicates { "duplicate" } else { "delivered" }, &context.messages)
            }
            #[cfg(feature = "queue")]
            End::AfterQueue(queued) => queued.answer(context),
        }
    }
}
