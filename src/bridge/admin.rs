//! The operators' routes as stages of the exchange, for a shell that keeps
//! records and can list its store (`Bridge::keeps_records`): each lists the
//! keys under its prefix, reads what they hold, and answers; a replay then
//! puts the letters back on the delivery queue and deletes them (the dead
//! letters' routes are `dead_letters`, where there is a queue), and the
//! refused-webhook listing deletes the records beyond `REJECTED_KEEP`.
//!
//! What each answer says is `admin`'s; who may ask is checked before
//! (`admin::authorize`).

use std::sync::Arc;

use crate::admin::{self, rejected, Held, DEAD_LETTER_PAGE};
use crate::error::Error;
use crate::http::Request;
use crate::settings::Settings;
use crate::store::keys;

use super::listing::{listed, FromKept, Reading};
use super::route::Route;
use super::step::{self, AwaitsList, AwaitsRead, Step};

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
        Route::HeldTranscriptions => step::list(keys::HELD_PREFIX, DEAD_LETTER_PAGE, Reading(HeldListing)),
        Route::RejectedWebhooks => {
            let keep = settings.rejected_keep as usize;
            let limit = (keep + REJECTED_MARGIN).min(LIST_LIMIT);
            step::list(keys::REJECTED_PREFIX, limit, RejectedListing { settings: settings.clone(), keep })
        }
        _ => dead_letters(route, request, queued, now)?,
    })
}

/// The dead letters' routes, in a build with a queue.
#[cfg(feature = "queue")]
fn dead_letters(route: Route, request: &Request, queued: bool, now: i64) -> Result<Step, Error> {
    super::dead_letters::start(route, request, queued, now)
}

/// Without a queue, no webhook is left to die: one that cannot be
/// delivered is answered 503, and its sender retries.
#[cfg(not(feature = "queue"))]
fn dead_letters(_: Route, _: &Request, _: bool, _: i64) -> Result<Step, Error> {
    Err(Error::NoDeliveryQueue)
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
