//! The dead letters' routes, in builds with a queue: `GET
//! /admin/dead-letters` lists them, `POST /admin/dead-letters/replay`
//! puts them back on the delivery queue, and `POST /admin/deliveries` says
//! how the messages replayed stand since.

use std::collections::VecDeque;

use crate::admin::{self, Selection, DEAD_LETTER_PAGE};
use crate::error::{Context, Error};
use crate::http::Request;
use crate::queue::{self, DeadLetter, Queued};
use crate::store::keys;

use super::listing::{listed, FromKept, Reading};
use super::route::Route;
use super::step::{self, AwaitsQueue, AwaitsRead, Finished, Step};

/// The first step of a dead letters' route, once authorized.
pub(super) fn start(route: Route, request: &Request, queued: bool, now: i64) -> Result<Step, Error> {
    if route == Route::Deliveries {
        return standing(request.body);
    }
    let letters = match route {
        Route::ReplayDeadLetters if !queued => return Err(Error::QueueModeOff),
        Route::ReplayDeadLetters => Letters::Replay { selection: Selection::of(request.body)?, now },
        _ => Letters::List,
    };
    Ok(step::list(keys::DEAD_LETTER_PREFIX, DEAD_LETTER_PAGE, Reading(letters)))
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
                replay(chosen, now, more)
            }
        }
    }
}

/// Replays the letters `chosen`.
fn replay(chosen: Vec<DeadLetter>, now: i64, more: bool) -> Step {
    let replays = chosen.iter().map(|dead| dead.replay(now)).collect();
    let replaying = Replaying {
        batches: queue::batches(replays).into(),
        keys: chosen.iter().map(DeadLetter::key).collect(),
        ids: chosen.into_iter().map(|dead| dead.queued.message.id).collect(),
        more,
    };
    replaying.next()
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

/// `POST /admin/deliveries` with `{"ids": [...]}`: each message's delivery
/// claim and dead letter, read.
fn standing(body: &[u8]) -> Result<Step, Error> {
    let ids = admin::asked_ids(body)?;
    let keys = ids.iter().flat_map(|id| [keys::delivery(id), keys::dead_letter(id)]).collect();
    Ok(step::read(keys, Standing { ids }))
}

/// The messages asked about, awaiting their claims and dead letters.
#[derive(Debug)]
struct Standing {
    ids: Vec<String>,
}

impl AwaitsRead for Standing {
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step {
        let mut values = values.into_iter();
        let deliveries: Vec<admin::Delivery> = self
            .ids
            .into_iter()
            .map(|id| {
                let (claim, dead) = (values.next().flatten(), values.next().flatten());
                let dead = dead.and_then(|letter| DeadLetter::parse(letter.as_bytes()).ok());
                admin::Delivery::of(id, claim.as_deref(), dead)
            })
            .collect();
        Step::Respond(Finished::ok("listed", admin::deliveries(&deliveries)))
    }
}
