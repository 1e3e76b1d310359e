//! The last step of every message, whichever provider built it: its
//! conversation and its customer's identity, decided here once.
//!
//! - Every message has a `thread_id`: one the provider's event gives (the
//!   call, the SMS conversation), else the message's own id. Nothing is
//!   left to Re:amaze's "the customer's most recent call session within the
//!   past hour", which can be another person's call.
//! - With `VOICE_THREAD_MINUTES`, a call from a number whose previous call
//!   ended at most that many minutes before joins that call's conversation,
//!   so a missed call and the call back read together. A call's choice is
//!   remembered (`keys::joined`), so all its events stay in one
//!   conversation; the caller's last conversation and time are kept by
//!   number (`keys::caller`).
//! - A withheld customer is given an identity of the conversation's own
//!   (`identity::withheld_identity`), named "Withheld number": never the
//!   marker, never shared with another call.

use crate::identity::{self, Who};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::store::{keys, ttl, Entry};
use crate::time;

use super::Lookup;

/// A voice call as its event tells it before translation: its own thread
/// (when it has a call id) and the customer's number (when the event names
/// one).
pub(super) type Call = (Option<String>, Option<String>);

/// The store keys joining reads (with `VOICE_THREAD_MINUTES` set): the
/// conversation this call joined, and the caller's last one.
pub(super) fn reads(provider: &str, call: Option<Call>) -> Vec<String> {
    let Some((thread, number)) = call else { return Vec::new() };
    let joined = thread.as_deref().map(keys::joined);
    let caller = number.as_deref().map(|number| keys::caller(provider, number));
    joined.into_iter().chain(caller).collect()
}

/// Settles each message's conversation and customer identity; what joining
/// learnt is added to `remember`.
pub(super) fn settle(
    provider: &str,
    messages: &mut [Outgoing],
    remember: &mut Vec<Entry>,
    settings: &Settings,
    lookup: Lookup,
) {
    for outgoing in messages {
        let message = &mut outgoing.message;
        if message.thread_id.is_none() {
            message.thread_id = Some(message.id.clone());
        }
        if outgoing.channel == Channel::Voice && settings.voice_thread_minutes > 0 {
            join(provider, message, remember, settings, lookup);
        }
        let thread = message.thread_id.as_deref().unwrap_or(&message.id);
        let customer = customer_of_mut(message.direction, &mut message.from, &mut message.to);
        if customer.phone.as_deref().is_none_or(identity::is_withheld) {
            customer.phone = Some(identity::withheld_identity(thread));
            customer.name.get_or_insert_with(|| identity::WITHHELD_NAME.to_string());
        }
    }
}

/// The customer's side of a message.
fn customer_of_mut<'a>(direction: Direction, from: &'a mut Party, to: &'a mut Party) -> &'a mut Party {
    match direction {
        Direction::Inbound => from,
        Direction::Outbound => to,
    }
}

/// Puts a voice message of a number's call in the conversation of that
/// number's previous call, when it ended within `VOICE_THREAD_MINUTES`.
fn join(provider: &str, message: &mut Message, remember: &mut Vec<Entry>, settings: &Settings, lookup: Lookup) {
    let customer = match message.direction {
        Direction::Inbound => &message.from,
        Direction::Outbound => &message.to,
    };
    let Some(Ok(Who::Number(number))) = customer.phone.as_deref().map(|p| Who::read(Some(p))) else { return };
    let Some(at) = message.created_at.as_deref().and_then(time::iso_to_unix).and_then(|at| u64::try_from(at).ok())
    else {
        return;
    };
    let own = message.thread_id.clone().unwrap_or_else(|| message.id.clone());
    let window = u64::from(settings.voice_thread_minutes) * 60;
    let caller_key = keys::caller(provider, &number);
    let last = lookup(&caller_key).and_then(|value| Last::read(&value));
    let chosen = lookup(&keys::joined(&own)).filter(|joined| !joined.is_empty()).unwrap_or_else(|| match &last {
        Some(last) if at.saturating_sub(last.at) <= window => last.thread.clone(),
        _ => own.clone(),
    });
    let latest = match &last {
        Some(last) if last.thread == chosen => last.at.max(at),
        _ => at,
    };
    let ttl_seconds = window + 86_400;
    note(remember, Entry { key: keys::joined(&own), value: chosen.clone(), ttl_seconds: ttl::CALL });
    note(remember, Entry { key: caller_key, value: Last { at: latest, thread: chosen.clone() }.write(), ttl_seconds });
    message.thread_id = Some(chosen);
}

/// Adds `entry`, replacing one of the same key (an event's messages share
/// their call).
fn note(remember: &mut Vec<Entry>, entry: Entry) {
    match remember.iter_mut().find(|e| e.key == entry.key) {
        Some(existing) => *existing = entry,
        None => remember.push(entry),
    }
}

/// A caller's last conversation, and when it was last heard of: kept as
/// `<unix seconds> <thread>`.
struct Last {
    at: u64,
    thread: String,
}

impl Last {
    fn read(value: &str) -> Option<Last> {
        let (at, thread) = value.split_once(' ')?;
        Some(Last { at: at.parse().ok()?, thread: thread.to_string() }).filter(|last| !last.thread.is_empty())
    }

    fn write(&self) -> String {
        format!("{} {}", self.at, self.thread)
    }
}
