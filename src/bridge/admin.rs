//! The operators' routes as stages of the exchange, for a shell that keeps
//! records and can list its store (`Bridge::keeps_records`): each lists the
//! keys under its prefix, reads what they hold, and answers; a replay then
//! puts the letters back on the delivery queue and deletes them, and the
//! refused-webhook listing deletes the records beyond `REJECTED_KEEP`.
//!
//! What each answer says is `admin`'s; who may ask is checked before
//! (`admin::authorize`).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::admin::{self, rejected, Held, Selection, DEAD_LETTER_PAGE};
use crate::error::{Context, Error};
use crate::http::{Request, Response};
use crate::queue::{self, DeadLetter, Queued};
use crate::settings::Settings;
use crate::store::keys;

use super::route::Route;
use super::step::{self, AwaitsList, AwaitsQueue, AwaitsRead, Finished, Step};

/// How many refused records are listed beyond those kept: the older ones
/// are found this way, and deleted.
const REJECTED_MARGIN: usize = 100;
/// The most keys one listing asks for (Workers KV's own limit).
const LIST_LIMIT: usize = 1000;

/// The first step of an admin route, once authorized.
pub(super) fn start(
    settings: &Arc<Settings>,
    route: Route,
    request: &Request,
    queued: bool,
    now: i64,
) -> Result<Step, Error> {
    Ok(match route {
        Route::ReplayDeadLetters if !queued => return Err(Error::QueueModeOff),
        Route::ReplayDeadLetters => {
            let replay = Letters::Replay { selection: Selection::of(request.body)?, now };
            step::list(keys::DEAD_LETTER_PREFIX, DEAD_LETTER_PAGE, Reading(replay))
        }
        Route::HeldTranscriptions => step::list(keys::HELD_PREFIX, DEAD_LETTER_PAGE, Reading(HeldListing)),
        Route::RejectedWebhooks => {
            let keep = settings.rejected_keep as usize;
            let limit = (keep + REJECTED_MARGIN).min(LIST_LIMIT);
            step::list(keys::REJECTED_PREFIX, limit, RejectedListing { settings: settings.clone(), keep })
        }
        _ => step::list(keys::DEAD_LETTER_PREFIX, DEAD_LETTER_PAGE, Reading(Letters::List)),
    })
}

/// What to make of the values of the keys listed.
trait FromKept: std::fmt::Debug + 'static {
    fn answer(self, kept: Vec<(String, String)>, more: bool) -> Step;
}

/// Listed, waiting to read every key listed.
#[derive(Debug)]
struct Reading<T>(T);

impl<T: FromKept> AwaitsList for Reading<T> {
    fn listed(self: Box<Self>, keys: Vec<String>, more: bool) -> Step {
        step::read(keys.clone(), Read { keys, more, then: self.0 })
    }
}

/// Waiting for the values of the keys listed.
#[derive(Debug)]
struct Read<T> {
    keys: Vec<String>,
    more: bool,
    then: T,
}

impl<T: FromKept> AwaitsRead for Read<T> {
    /// A key gone since it was listed (expired, or deleted by another
    /// request) is left out.
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step {
        let kept = self.keys.into_iter().zip(values).filter_map(|(key, value)| Some((key, value?))).collect();
        self.then.answer(kept, self.more)
    }
}

/// The dead letters: listed, or replayed.
#[derive(Debug)]
enum Letters {
    List,
    Replay { selection: Selection, now: i64 },
}

impl FromKept for Letters {
    fn answer(self, kept: Vec<(String, String)>, more: bool) -> Step {
        let letters = kept.iter().filter_map(|(_, value)| DeadLetter::parse(value.as_bytes()).ok());
        match self {
            Letters::List => listed(admin::listing(&letters.collect::<Vec<_>>(), more)),
            Letters::Replay { selection, now } => {
                let chosen: Vec<DeadLetter> = letters.filter(|dead| selection.includes(dead)).collect();
                let replays = chosen.iter().map(|dead| dead.replay(now)).collect();
                let replaying = Replaying {
                    batches: queue::batches(replays).into(),
                    keys: chosen.iter().map(DeadLetter::key).collect(),
                    ids: chosen.into_iter().map(|dead| dead.queued.message.id).collect(),
                    more,
                };
                replaying.next()
            }
        }
    }
}

/// Putting the letters chosen back on the delivery queue, a batch at a
/// time; once all are queued, they are deleted. A letter queued but not
/// deleted (the store failing then) is queued again by the next replay:
/// its delivery's claim makes that copy a duplicate.
#[derive(Debug)]
struct Replaying {
    batches: VecDeque<Vec<Queued>>,
    keys: Vec<String>,
    ids: Vec<String>,
    more: bool,
}

impl Replaying {
    fn next(mut self) -> Step {
        match self.batches.pop_front() {
            Some(batch) => step::enqueue(batch, self),
            None => {
                let answer = Step::Respond(Finished::ok("replayed", admin::replayed(&self.ids, self.more)));
                step::release(self.keys, answer)
            }
        }
    }
}

impl AwaitsQueue for Replaying {
    fn queued(self: Box<Self>, sent: Result<(), String>) -> Step {
        match sent {
            Ok(()) => self.next(),
            Err(why) => step::fail(&Context::default(), Error::QueueUnavailable(why)),
        }
    }
}

/// The transcriptions held until their call is known.
#[derive(Debug)]
struct HeldListing;

impl FromKept for HeldListing {
    fn answer(self, kept: Vec<(String, String)>, more: bool) -> Step {
        let held: Vec<Held> = kept.iter().filter_map(|(key, value)| Held::of(key, value)).collect();
        listed(admin::held(&held, more))
    }
}

/// The refused webhooks: the newest `keep` read and answered, the older
/// ones deleted.
#[derive(Debug)]
struct RejectedListing {
    settings: Arc<Settings>,
    keep: usize,
}

impl AwaitsList for RejectedListing {
    fn listed(self: Box<Self>, keys: Vec<String>, _more: bool) -> Step {
        let read = keys[..keys.len().min(self.keep)].to_vec();
        step::read(read, RejectedRead { keys, settings: self.settings })
    }
}

/// Waiting for the newest records' values.
#[derive(Debug)]
struct RejectedRead {
    keys: Vec<String>,
    settings: Arc<Settings>,
}

impl AwaitsRead for RejectedRead {
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step {
        let kept: Vec<(String, Option<String>)> =
            self.keys.into_iter().zip(values.into_iter().chain(std::iter::repeat(None))).collect();
        let (answer, older) = rejected::listing(&self.settings, &kept);
        step::release(older, listed(answer))
    }
}

fn listed(response: Response) -> Step {
    Step::Respond(Finished::ok("listed", response))
}
