//! A provider's webhook: verified and parsed before any IO, then
//! translated with the call memory the event asks for, then posted
//! (`posting`) or, in queue mode, enqueued (`queued`).

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Context, Error};
use crate::http::{Delivery, Request, Response};
use crate::outbound;
use crate::providers::{Event, Outcome, Provider, Translation};
use crate::settings::Settings;
use crate::signature::{self, Signed};
use crate::store::Store;

use super::posting::{Posting, SyncEnding};
use super::route::{header, signed_url};
use super::step::{self, AwaitsRead, Step};

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
    Ok(step::read(reads, translating))
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
    let window = settings.stamp_window(scheme.stamp.as_ref(), now);
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

impl AwaitsRead for Translating {
    /// Translates the event with the values read, and goes on to its
    /// messages: an ignored event is answered at once.
    fn read(self: Box<Self>, values: Vec<Option<String>>) -> Step {
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
            Mode::Sync => Posting::start(self.settings, self.context, messages, remember, Box::new(SyncEnding)),
            #[cfg(feature = "queue")]
            Mode::Queued => super::queued::check(self.settings, self.context, messages, remember, self.now),
        }
    }
}

/// An event acknowledged without a message posted, saying why: 200
/// `ignored` (it means nothing for Re:amaze), or 202 `held` (it is kept
/// until it can be placed).
fn acknowledged(context: &Context, status: u16, word: &'static str, reason: String) -> Step {
    let body = Acknowledged { status: word, provider: context.provider, event: context.event.as_deref(), reason };
    step::respond(context, word, Response::json(status, &body))
}

#[derive(Serialize)]
struct Acknowledged<'a> {
    status: &'static str,
    provider: Option<&'static str>,
    event: Option<&'a str>,
    reason: String,
}
