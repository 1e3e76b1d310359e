//! Bird `voice.inbound` / `voice.outbound` deliveries:
//! `{"service": "channels", "event": "voice.inbound", "payload": {call}}`,
//! the call being the object of Bird's Calls API. No public voice sample
//! exists, so a delivery whose call sits at the top level is accepted too.

use super::{label, settle, value_text, Description, Fields, Happening, Lookup, TranslateError, Translation};
use crate::identity::Who;
use crate::json::{Node, Object};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::settings::{Declared, Kind};
use crate::signature::{Encoding, Scheme, Stamp, Window};
use crate::time;

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `voice.inbound` or `voice.outbound`.
    pub event: String,
    pub status: String,
    pub direction: Direction,
    pub call_id: String,
    pub customer: Party,
    pub channel: Party,
    call: Object,
    /// Where the call was found, for naming missing fields.
    path: &'static str,
}

impl Event {
    fn parse(mut envelope: Object) -> Result<Event, TranslateError> {
        let event = Fields::new(&envelope, "").text("event");
        let (call, path) = match envelope.remove("payload") {
            Some(Node::Object(call)) => (call, "payload"),
            Some(_) => return Err(TranslateError::Invalid { field: "payload".into(), expected: "an object" }),
            None if envelope.contains_key("status") => (envelope, ""),
            None => return Err(TranslateError::Missing("payload".into())),
        };
        let fields = Fields::new(&call, path);
        let call_id = fields.need_text("id")?;
        let status = fields.need_text("status")?.to_ascii_lowercase();
        let direction = match fields.text("direction").map(|d| d.to_ascii_lowercase()).as_deref() {
            Some("incoming" | "inbound") => Direction::Inbound,
            Some("outgoing" | "outbound") => Direction::Outbound,
            _ => match event.as_deref() {
                Some("voice.inbound") => Direction::Inbound,
                Some("voice.outbound") => Direction::Outbound,
                _ => return Err(TranslateError::Missing(join(path, "direction"))),
            },
        };
        let event = event.unwrap_or_else(|| {
            match direction {
                Direction::Inbound => "voice.inbound",
                Direction::Outbound => "voice.outbound",
            }
            .to_string()
        });
        let (customer, channel) = parties(&fields, direction)?;
        Ok(Event { event, status, direction, call_id, customer, channel, call, path })
    }

    fn messages(&self, settings: &Settings) -> Translation {
        if !settings.words(POST_STATUSES).contains(&self.status) {
            return Translation::ignored(format!(
                "Bird status {:?} is not posted (BIRD_POST_STATUSES: {})",
                self.status,
                settings.words(POST_STATUSES).join(",")
            ));
        }
        let call = Fields::new(&self.call, self.path);
        let (customer, channel) = (self.customer.clone(), self.channel.clone());
        let inbound = self.direction == Direction::Inbound;
        let duration = call.seconds("duration").ok().flatten();
        let body = match self.status.as_str() {
            "starting" if inbound => format!("Incoming call from {}", label(&customer)),
            "starting" => "Outbound call started".to_string(),
            "ringing" => "Ringing".to_string(),
            "accepted" => "Outbound call accepted by Bird".to_string(),
            "ongoing" => "Call answered".to_string(),
            "completed" => match duration {
                Some(d) => format!("Call ended after {}", time::duration(d)),
                None => "Call ended".to_string(),
            },
            "no-answer" | "busy" => self.missed(&call),
            "failed" => {
                let mut text = "Call failed".to_string();
                if let Some(reason) = call.text("reason") {
                    text.push_str(&format!(": {reason}"));
                }
                if let Some(code) = call.text("hangupCauseCode") {
                    text.push_str(&format!(" (hangup cause {code})"));
                }
                text
            }
            "cancelled" | "canceled" => "Outbound call cancelled".to_string(),
            other => format!("Call status: {other}"),
        };
        // Each status at the time it happened, where the call says.
        let time_keys: &[&str] = match self.status.as_str() {
            "ongoing" => &["answeredAt", "updatedAt"],
            "ringing" => &["ringingAt", "updatedAt"],
            "starting" | "accepted" => &["createdAt", "updatedAt"],
            _ => &["endedAt", "updatedAt"],
        };
        let created_at = time_keys.iter().find_map(|k| call.text(k)).and_then(|t| time::normalize_iso(&t));
        let message =
            Message::between(format!("bird:{}:{}", self.call_id, self.status), self.direction, customer, channel, body)
                .thread(Some(format!("bird:{}", self.call_id)))
                .at(created_at);
        Translation::messages(vec![Outgoing { channel: Channel::Voice, message }])
    }
}

impl Event {
    /// The call, for joining a caller's calls: its thread, and the
    /// customer's number.
    fn call(&self) -> settle::Call {
        let number =
            self.customer.phone.clone().filter(|p| crate::identity::class(p) == Ok(crate::identity::Class::Number));
        (Some(format!("bird:{}", self.call_id)), number)
    }

    /// A call nobody answered: who was called, and how long the caller
    /// waited (inbound, from the call's start) or the customer's phone rang
    /// (outbound), where the call's times say.
    fn missed(&self, call: &Fields) -> String {
        let busy = self.status == "busy";
        let at = |key: &str| call.text(key).and_then(|t| time::iso_to_unix(&t));
        let end = at("endedAt").or_else(|| at("updatedAt"));
        let (called, start, waited) = match self.direction {
            Direction::Inbound => (&self.channel, at("createdAt"), "waited"),
            Direction::Outbound => (&self.customer, at("ringingAt").or_else(|| at("createdAt")), "rang"),
        };
        let wait = match (start, end) {
            (Some(start), Some(end)) if end > start => format!(" ({waited} {})", time::duration((end - start) as f64)),
            _ => String::new(),
        };
        let to = called.phone.as_ref().map(|_| format!(" to {}", label(called))).unwrap_or_default();
        match (self.direction, busy) {
            (Direction::Inbound, false) => format!("Missed call{to}: no answer{wait}"),
            (Direction::Inbound, true) => format!("Missed call{to}: the line was busy{wait}"),
            (Direction::Outbound, false) => format!("Outbound call{to} not answered{wait}"),
            (Direction::Outbound, true) => format!("Outbound call{to} not answered: the line was busy{wait}"),
        }
    }
}

/// The customer and the channel's side: `incoming` calls come from the
/// customer (`originator`, or the flat `from`), `outgoing` ones go to them
/// (`receiver`, or `to`).
fn parties(call: &Fields, direction: Direction) -> Result<(Party, Party), TranslateError> {
    let who = |side: &str, flat: &str| -> Result<Who, TranslateError> {
        let nested = call.object(side).and_then(|o| o.get("number")).and_then(|n| n.get("number"));
        match nested.and_then(value_text) {
            Some(text) => call.classify(&format!("{side}.number.number"), text),
            None => call.who(flat),
        }
    };
    let caller_name = call
        .object("originator")
        .and_then(|o| o.get("number"))
        .and_then(|n| n.get("callerIdName"))
        .and_then(value_text);
    let (from, to) = (who("originator", "from")?, who("receiver", "to")?);
    let customer = |who: &Who, name: Option<String>| Party::named(who.name(name), Some(who.phone()));
    // The channel's own side, when Bird says which number it was.
    let channel = |who: &Who| Party::named(None, (*who != Who::Withheld).then(|| who.phone()));
    Ok(match direction {
        Direction::Inbound => (customer(&from, caller_name), channel(&to)),
        Direction::Outbound => (customer(&to, None), channel(&from)),
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Bird signs `timestamp \n URL \n SHA-256(body)` and writes base64.
pub static SCHEME: Scheme = Scheme {
    name: "bird",
    title: "Bird",
    header: "messagebird-signature",
    encoding: Encoding::Base64,
    prefix: None,
    stamp: Some(Stamp {
        header: "messagebird-request-timestamp",
        url_setting: WEBHOOK_URL,
        max_age_setting: MAX_AGE_SECONDS,
        max_future_setting: MAX_FUTURE_SECONDS,
    }),
};

pub const SIGNING_KEYS: &str = "BIRD_SIGNING_KEYS";
pub const WEBHOOK_URL: &str = "BIRD_WEBHOOK_URL";
pub const MAX_AGE_SECONDS: &str = "BIRD_MAX_AGE_SECONDS";
pub const MAX_FUTURE_SECONDS: &str = "BIRD_MAX_FUTURE_SECONDS";
pub const POST_STATUSES: &str = "BIRD_POST_STATUSES";

/// Statuses posted unless `BIRD_POST_STATUSES` says otherwise: every status
/// that tells an agent something; `ringing` and `accepted` do not.
pub const DEFAULT_POST_STATUSES: [&str; 7] =
    ["starting", "ongoing", "completed", "no-answer", "busy", "failed", "cancelled"];

/// Bird's settings, in the README's order.
static SETTINGS: [Declared; 5] = [
    Declared::new(SIGNING_KEYS, Kind::Secrets),
    Declared::new(WEBHOOK_URL, Kind::Text),
    Declared::new(MAX_AGE_SECONDS, Kind::Number { default: Window::DEFAULT_MAX_AGE }),
    Declared::new(MAX_FUTURE_SECONDS, Kind::Number { default: Window::DEFAULT_MAX_FUTURE }),
    Declared::new(POST_STATUSES, Kind::Words { default: &DEFAULT_POST_STATUSES, upper: false })
        .with_flag("bird-statuses", "Bird statuses to post, comma-separated"),
];

pub static DESCRIPTION: Description = Description {
    name: "bird",
    title: "Bird",
    scheme: &SCHEME,
    secrets: SIGNING_KEYS,
    settings: &[SIGNING_KEYS, MAX_AGE_SECONDS, MAX_FUTURE_SECONDS],
    declares: &SETTINGS,
    parse: |object, _| Ok(Box::new(Event::parse(object)?)),
    read_held: None,
    samples: samples![(
        "bird",
        "Bird call",
        r#"{"service":"channels","event":"voice.inbound","payload":{"id":"5d1a0c3e-1111-4a5b-9c3d-0e8f7a6b5c4d","direction":"incoming","status":"completed","from":"+31612345678","to":"+31201234567","duration":95,"endedAt":"2026-03-02T09:16:42Z"}}"#
    )],
};

impl Happening for Event {
    /// Bird's event and status.
    fn name(&self) -> String {
        format!("{}:{}", self.event, self.status)
    }

    fn voice_call(&self) -> Option<settle::Call> {
        Some(self.call())
    }

    fn translate(&self, settings: &Settings, _: Lookup) -> Result<Translation, TranslateError> {
        Ok(self.messages(settings))
    }
}
