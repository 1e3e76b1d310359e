//! A provider's webhook: verified and parsed before any IO, then
//! translated with the call memory the event asks for, then posted
//! (`posting`) or, in queue mode, enqueued (`queued`).

use std::sync::Arc;

use serde_json::json;

use crate::error::{Context, Error, Report};
use crate::http::{Delivery, Request, Response};
use crate::outbound;
use crate::providers::{Event, Outcome, Provider, Translation};
use crate::reamaze::Outgoing;
use crate::settings::Settings;
use crate::signature::{self, Scheme, Signed};
use crate::store::{self, ttl, Entry, Store};

use super::posting::{End, Posting};
use super::route::header;
use super::step::{self, AfterRead, Step};

/// How a webhook's messages reach Re:amaze.
#[derive(Clone, Copy, Debug)]
pub(super) enum Mode {
    /// Posted before the sender is answered.
    Sync,
    /// Put on the delivery queue.
    #[cfg(feature = "queue")]
    Queued,
}

/// Verifies and parses the webhook, then asks for the call memory its
/// event needs.
pub(super) fn start(
    settings: &Arc<Settings>,
    provider: Provider,
    request: &Request,
    now: i64,
    mode: Mode,
) -> Result<Step, Error> {
    verify(settings, provider, request, now)?;
    let event = Event::parse(provider, request.body, settings.max_json_depth).map_err(Error::Payload)?;
    let context = Context { provider: Some(provider.name()), event: Some(event.name()), ..Context::default() };
    let reads = event.reads(settings);
    let translating = Translating { settings: settings.clone(), event, reads: reads.clone(), context, mode, now };
    Ok(step::read(reads, AfterRead::Translate(Box::new(translating))))
}

/// Checks the webhook's signature with the provider's scheme and secrets.
fn verify(settings: &Settings, provider: Provider, request: &Request, now: i64) -> Result<(), Error> {
    if let Some(invalid) = settings.blocking(provider.settings()) {
        let feature = format!("{} webhooks", provider.title());
        return Err(Error::InvalidSetting { error: invalid.clone(), feature });
    }
    let (scheme, secrets, setting) = provider.auth(settings);
    if secrets.is_empty() {
        return Err(Error::NotConfigured { setting });
    }
    // An empty URL is none: a processor's caller may not know it.
    let url = Some(signed_url(settings, scheme, request)).filter(|url| !url.is_empty());
    let timestamp = match scheme.timestamp_header() {
        Some(name) => header(settings, request, name)?,
        None => None,
    };
    let signed = Signed { body: request.body, timestamp: timestamp.as_deref(), url };
    let received = header(settings, request, scheme.header())?;
    let window = settings.stamp_window(now);
    signature::verify(scheme, secrets, &signed, received.as_deref(), window).map_err(Error::Signature)?;
    Ok(())
}

/// What a webhook becomes when it is processed rather than exchanged
/// (`Bridge::process`).
#[derive(Clone, Debug)]
pub enum Processed {
    /// The event means nothing for Re:amaze, for this reason.
    Ignored { event: String, reason: String },
    /// The event is kept until it can be placed, for this reason.
    Held { event: String, reason: String },
    /// The signed requests that post the event's messages, in order.
    Deliveries { event: String, deliveries: Vec<Delivery> },
}

pub(super) fn process(
    settings: &Settings,
    provider: Provider,
    request: &Request,
    store: &mut dyn Store,
    now: i64,
) -> Result<Processed, Error> {
    verify(settings, provider, request, now)?;
    let event = Event::parse(provider, request.body, settings.max_json_depth).map_err(Error::Payload)?;
    let translation = event.translate(settings, &|key| store.get(key, now)).map_err(Error::Payload)?;
    translation.remember.iter().for_each(|entry| store.put(entry, now));
    let messages = match translation.outcome {
        Outcome::Ignored(reason) => return Ok(Processed::Ignored { event: event.name(), reason }),
        Outcome::Held(reason) => return Ok(Processed::Held { event: event.name(), reason }),
        Outcome::Messages(messages) => messages,
    };
    let deliveries = messages.iter().map(|m| outbound::reamaze_post(settings, m)).collect::<Result<_, _>>()?;
    Ok(Processed::Deliveries { event: event.name(), deliveries })
}

/// Waiting for the call memory the event asked for.
#[derive(Debug)]
pub(super) struct Translating {
    settings: Arc<Settings>,
    event: Event,
    reads: Vec<String>,
    context: Context,
    mode: Mode,
    /// When the webhook was accepted, for the messages queued.
    #[cfg_attr(not(feature = "queue"), allow(dead_code))]
    now: i64,
}

impl Translating {
    /// Translates the event with the values read, and goes on to its
    /// messages: an ignored event is answered at once.
    pub(super) fn hear(self, values: Vec<Option<String>>) -> Step {
        let lookup = |key: &str| self.reads.iter().position(|k| k == key).and_then(|i| values[i].clone());
        let Translation { outcome, remember } = match self.event.translate(&self.settings, &lookup) {
            Ok(translation) => translation,
            Err(error) => return step::fail(&self.context, Error::Payload(error)),
        };
        let messages = match outcome {
            Outcome::Ignored(reason) => {
                return step::write(remember, acknowledged(&self.context, 200, "ignored", reason))
            }
            Outcome::Held(reason) => return step::write(remember, acknowledged(&self.context, 202, "held", reason)),
            Outcome::Messages(messages) => messages,
        };
        // Every channel secret is checked before anything is sent, so a
        // half-set-up deployment does not deliver some messages of an event
        // and not others.
        if let Some(error) = messages.iter().find_map(|m| outbound::channel_secret(&self.settings, m.channel).err()) {
            return step::fail(&self.context, error);
        }
        match self.mode {
            Mode::Sync => Posting::start(self.settings, self.context, messages, remember, End::Sync),
            #[cfg(feature = "queue")]
            Mode::Queued => super::queued::check(self.settings, self.context, messages, remember, self.now),
        }
    }
}

/// An event acknowledged without a message posted, saying why: 200
/// `ignored` (it means nothing for Re:amaze), or 202 `held` (it is kept
/// until it can be placed).
fn acknowledged(context: &Context, status: u16, word: &'static str, reason: String) -> Step {
    let body = json!({ "status": word, "provider": context.provider, "event": context.event, "reason": reason });
    step::respond(context, word, Response::json(status, &body))
}

/// The answer to a webhook whose messages were handled: a status word, the
/// event, and what became of each message.
pub(super) fn answer(context: &Context, status: u16, word: &'static str, reports: &[Report]) -> Step {
    let body = json!({ "status": word, "provider": context.provider, "event": context.event, "messages": reports });
    step::respond(context, word, Response::json(status, &body))
}

/// What became of `outgoing`.
pub(super) fn report(outgoing: &Outgoing, result: &'static str) -> Report {
    Report { id: outgoing.message.id.clone(), channel: outgoing.channel.name(), result }
}

/// A claim on `key` while its work is under way.
pub(super) fn claim_of(key: String) -> Entry {
    Entry { key, value: store::PENDING.into(), ttl_seconds: ttl::CLAIM }
}

/// The mark that `key`'s work is done: later copies are duplicates.
pub(super) fn done(key: String) -> Entry {
    Entry { key, value: store::DONE.into(), ttl_seconds: ttl::SEEN }
}

/// The URL a stamped scheme's signature covers: the public one its
/// setting names, else the URL the request came to.
pub(super) fn signed_url<'r>(settings: &'r Settings, scheme: &Scheme, request: &Request<'r>) -> &'r str {
    let public = scheme.stamp.as_ref().and_then(|stamp| settings.text(stamp.url_setting));
    public.unwrap_or(request.url)
}
