//! Voice360 webhooks: envelope `event_name`, `account_id`, `timestamp`
//! (Unix seconds), `metadata` (per event; see the reference text).

use std::cell::RefCell;

use serde::Serialize;

mod agents;
mod calls;
mod contacts;
mod held;
mod send;
mod sms;
mod transcript;

pub use send::{SmsApi, SmsSetup};

use super::{settle, Description, Fields, Happening, Lookup, Outcome, TranslateError, Translation};
use crate::identity::Who;
use crate::json::{self, Node, Object};
use crate::reamaze::{Direction, Party};
use crate::settings::{self, Declared, Settings};
use crate::signature::{Encoding, Scheme};
use crate::store::keys;
use crate::time;

const PROVIDER: &str = "voice360";

/// The event names of the reference text, and any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    IncomingExternalCall,
    UserAnswer,
    CallEnded,
    UserDial,
    UserHangup,
    SmsReceived,
    SmsSent,
    SmsDelivered,
    QueueEnter,
    QueueMemberDial,
    QueueMemberAnswer,
    QueueMemberDialHangup,
    QueueHangup,
    QueueNoAnswer,
    QueueHangupTimeout,
    QueueHangupAbandoned,
    ContactCreated,
    ContactUpdated,
    ContactDeleted,
    TranscriptionFinished,
    Unknown,
}

impl Kind {
    /// Where the event stands in a call's life: the tenth of a second its
    /// message's `created_at` is given within the event's own second, so a
    /// call's messages read in order in Re:amaze even when several share a
    /// second and arrive out of order (after an outage, or retried).
    fn rank(self) -> u16 {
        match self {
            Kind::QueueEnter => 1,
            Kind::QueueMemberDial => 2,
            Kind::UserAnswer | Kind::QueueMemberAnswer => 3,
            Kind::QueueMemberDialHangup => 4,
            Kind::QueueHangup => 5,
            Kind::QueueNoAnswer | Kind::QueueHangupTimeout | Kind::QueueHangupAbandoned => 6,
            Kind::UserHangup | Kind::CallEnded => 7,
            Kind::TranscriptionFinished => 9,
            _ => 0,
        }
    }

    /// Events whose message id falls back on the event's digest when their
    /// party is withheld (they carry no id of their own).
    fn digested_when_withheld(self) -> bool {
        matches!(self, Kind::SmsReceived | Kind::QueueNoAnswer | Kind::QueueHangupTimeout | Kind::QueueHangupAbandoned)
    }

    pub fn of(name: &str) -> Kind {
        match name {
            "INCOMING_EXTERNAL_CALL" => Kind::IncomingExternalCall,
            "USER_ANSWER" => Kind::UserAnswer,
            "CALL_ENDED" => Kind::CallEnded,
            "USER_DIAL" => Kind::UserDial,
            "USER_HANGUP" => Kind::UserHangup,
            "SMS_RECEIVED" => Kind::SmsReceived,
            "SMS_SENT" => Kind::SmsSent,
            "SMS_DELIVERED" => Kind::SmsDelivered,
            "QUEUE_ENTER" => Kind::QueueEnter,
            "QUEUE_MEMBER_DIAL" => Kind::QueueMemberDial,
            "QUEUE_MEMBER_ANSWER" => Kind::QueueMemberAnswer,
            "QUEUE_MEMBER_DIAL_HANGUP" => Kind::QueueMemberDialHangup,
            "QUEUE_HANGUP" => Kind::QueueHangup,
            "QUEUE_NO_ANSWER" => Kind::QueueNoAnswer,
            "QUEUE_HANGUP_TIMEOUT" => Kind::QueueHangupTimeout,
            "QUEUE_HANGUP_ABANDONED" => Kind::QueueHangupAbandoned,
            "CONTACT_CREATED" => Kind::ContactCreated,
            "CONTACT_UPDATED" => Kind::ContactUpdated,
            "CONTACT_DELETED" => Kind::ContactDeleted,
            "TRANSCRIPTION_FINISHED" => Kind::TranscriptionFinished,
            _ => Kind::Unknown,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: String,
    pub kind: Kind,
    pub account_id: Option<String>,
    pub timestamp: i64,
    metadata: Object,
    /// A transcription's body as received, kept whole in case it must be
    /// held until its call is known (`held.rs`), which takes it: a body of
    /// megabytes is moved into the held entry, not copied again.
    raw: RefCell<Option<String>>,
    /// The body's digest, for events that may have nothing else to tell
    /// two withheld parties' messages apart (`Kind::digested_when_withheld`).
    digest: Option<String>,
}

/// The metadata fields that name a party: each is classified when the
/// event is read, so junk is refused before any store is consulted.
const PARTY_FIELDS: [&str; 7] =
    ["caller_id_number", "callerid_number", "dnis", "dialed_number", "from_number", "to_number", "phone"];

/// What the bridge remembers of a call, so that events which leave a party
/// out (USER_ANSWER has no `dnis`, TRANSCRIPTION_FINISHED no number at all)
/// can still be placed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
struct CallMemory {
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_phone: Option<String>,
    /// The call's agent: who answered it, or who dialled it. (Kept under
    /// its first name, `answered_by`, so calls remembered before still read.)
    #[serde(rename = "answered_by", skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
}

impl CallMemory {
    /// A call as remembered (written by `Serialize`); what cannot be read
    /// is not known.
    fn read(value: &str) -> CallMemory {
        let Ok(object) = json::parse_object(value.as_bytes(), 2) else { return CallMemory::default() };
        let text = |key: &str| object.string(key, key).ok().flatten().map(String::from);
        let direction = match text("direction").as_deref() {
            Some("inbound") => Some(Direction::Inbound),
            Some("outbound") => Some(Direction::Outbound),
            _ => None,
        };
        CallMemory {
            direction,
            customer_phone: text("customer_phone"),
            customer_name: text("customer_name"),
            channel_phone: text("channel_phone"),
            agent: text("answered_by"),
        }
    }

    /// Fills what is unknown from `newer`, letting `newer` win where both know.
    fn merged(&self, newer: CallMemory) -> CallMemory {
        CallMemory {
            direction: newer.direction.or(self.direction),
            customer_phone: newer.customer_phone.or_else(|| self.customer_phone.clone()),
            customer_name: newer.customer_name.or_else(|| self.customer_name.clone()),
            channel_phone: newer.channel_phone.or_else(|| self.channel_phone.clone()),
            agent: newer.agent.or_else(|| self.agent.clone()),
        }
    }

    fn customer(&self) -> Party {
        Party::named(self.customer_name.clone(), self.customer_phone.clone())
    }

    /// The channel's side, completed with `VOICE_CHANNEL_NUMBER`.
    fn channel(&self, settings: &Settings) -> Party {
        channel_party(self.channel_phone.clone(), settings.voice_channel_number.as_deref())
    }

    /// The e-mail of the agent the call is with, to assign it to them.
    fn assignee(&self, settings: &Settings) -> Option<String> {
        agent_email(settings, self.agent.as_deref())
    }
}

impl Event {
    fn parse(mut envelope: Object, body: &[u8]) -> Result<Event, TranslateError> {
        let top = Fields::new(&envelope, "");
        let name = top.need_text("event_name")?;
        let timestamp = top.number("timestamp")?.ok_or_else(|| TranslateError::Missing("timestamp".into()))?;
        if !(0.0..=253_402_300_799.0).contains(&timestamp) {
            return Err(TranslateError::Invalid { field: "timestamp".into(), expected: "Unix seconds" });
        }
        let account_id = top.text("account_id");
        let metadata = match envelope.remove("metadata") {
            Some(Node::Object(m)) => m,
            None | Some(Node::Null) => Object::default(),
            Some(_) => return Err(TranslateError::Invalid { field: "metadata".into(), expected: "an object" }),
        };
        let kind = Kind::of(&name);
        check_parties(&metadata)?;
        // Read as JSON already, so valid UTF-8.
        let raw =
            RefCell::new((kind == Kind::TranscriptionFinished).then(|| String::from_utf8_lossy(body).into_owned()));
        let digest = needs_digest(kind, &metadata).then(|| crate::store::digest(&[body]));
        Ok(Event { kind, name, account_id, timestamp: timestamp as i64, metadata, raw, digest })
    }

    /// The party's part of a message id: its number or sender name, or for
    /// a withheld party the event's digest (two withheld callers' events
    /// of one second must not be one message).
    fn id_part_of(&self, who: &Who) -> String {
        match who {
            Who::Withheld => format!("withheld-{}", self.digest.as_deref().unwrap_or("")),
            other => other.phone(),
        }
    }

    /// The message's `created_at`: the event's second, and within it the
    /// event's place in a call's life (`Kind::rank`) and the message's
    /// place among the event's own (a transcript's parts).
    fn at(&self, index: usize) -> Option<String> {
        time::unix_to_iso_ms(self.timestamp, self.kind.rank() * 100 + index.min(99) as u16)
    }

    fn meta(&self) -> Fields<'_> {
        Fields::new(&self.metadata, "metadata")
    }

    fn call_key(&self) -> Option<String> {
        self.meta().text("uniqueid").map(|id| keys::call(PROVIDER, &id))
    }

    fn keys_read(&self) -> Vec<String> {
        let mut reads = match self.kind {
            Kind::SmsSent => self.sms_sent_echo_keys(),
            _ => self.call_key().into_iter().chain(self.held_key()).collect(),
        };
        reads.extend(self.contact_keys());
        reads
    }

    /// The voice call this event is of, for joining a caller's calls: its
    /// own thread, if it has a call id, and the customer's number, if the
    /// event names it.
    fn call(&self) -> Option<settle::Call> {
        let meta = self.meta();
        let number = match self.kind {
            Kind::SmsReceived | Kind::SmsSent | Kind::SmsDelivered | Kind::Unknown => return None,
            Kind::ContactCreated | Kind::ContactUpdated | Kind::ContactDeleted => return None,
            // By their end, a call's conversation is chosen (`keys::joined`).
            Kind::CallEnded | Kind::TranscriptionFinished => None,
            _ => meta.who_of(&["caller_id_number", "callerid_number", "dialed_number"]).ok(),
        };
        let thread = meta.text("uniqueid").map(|id| format!("{PROVIDER}:{id}"));
        Some((thread, number.and_then(|who| who.number().map(String::from))))
    }

    /// The recipients of an SMS_SENT, each classified; none named is one
    /// withheld recipient.
    fn recipients(&self) -> Vec<Who> {
        let recipients = self.meta().whos("to_number").unwrap_or_default();
        if recipients.is_empty() {
            vec![Who::Withheld]
        } else {
            recipients
        }
    }

    fn sms_sent_echo_keys(&self) -> Vec<String> {
        let meta = self.meta();
        let from = meta.text("from_number").unwrap_or_default();
        let body = meta.text("body").unwrap_or_default();
        self.recipients().iter().map(|to| keys::echo(&from, &to.phone(), &body)).collect()
    }

    fn translation(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        let mut translation = self.messages(settings, lookup)?;
        self.name_customers(&mut translation, lookup);
        let mut translation = self.unless_quiet(translation, settings);
        if !matches!(translation.outcome, Outcome::Held(_)) {
            self.release_held(&mut translation, lookup, settings);
        }
        Ok(translation)
    }

    /// An event `VOICE360_POST_EVENTS` does not post is acknowledged as
    /// ignored, and what it tells of its call is still remembered (who
    /// answered, so later messages are assigned; the parties).
    fn unless_quiet(&self, translation: Translation, settings: &Settings) -> Translation {
        let posted = settings.words(POST_EVENTS).contains(&self.name);
        if posted || !matches!(translation.outcome, Outcome::Messages(_)) {
            return translation;
        }
        let reason = format!("{} is not posted ({POST_EVENTS}: {})", self.name, settings.words(POST_EVENTS).join(","));
        Translation { outcome: Outcome::Ignored(reason), remember: translation.remember }
    }

    fn messages(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        let memory = self.memory(lookup);
        match self.kind {
            Kind::IncomingExternalCall | Kind::UserAnswer | Kind::UserDial | Kind::UserHangup | Kind::CallEnded => {
                self.call_event(&memory, settings, lookup)
            }
            Kind::QueueEnter
            | Kind::QueueMemberDial
            | Kind::QueueMemberAnswer
            | Kind::QueueMemberDialHangup
            | Kind::QueueHangup
            | Kind::QueueNoAnswer
            | Kind::QueueHangupTimeout
            | Kind::QueueHangupAbandoned => self.queue_event(&memory, settings, lookup),
            Kind::TranscriptionFinished => self.transcription(&memory, settings),
            Kind::SmsReceived => self.sms_received(settings),
            Kind::SmsSent => self.sms_sent(lookup, settings),
            Kind::ContactCreated | Kind::ContactUpdated | Kind::ContactDeleted => self.contact(lookup),
            Kind::SmsDelivered | Kind::Unknown => Ok(self.ignored()),
        }
    }

    /// What the bridge remembers of this event's call, if anything.
    fn memory(&self, lookup: Lookup) -> CallMemory {
        self.call_key().and_then(|key| lookup(&key)).map_or_else(CallMemory::default, |value| CallMemory::read(&value))
    }

    /// Why an event that posts nothing posts nothing.
    fn ignored(&self) -> Translation {
        Translation::ignored(match self.kind {
            Kind::SmsDelivered => {
                "SMS_DELIVERED is a carrier delivery receipt: the message itself was posted when it was sent".into()
            }
            _ => format!("{} is not a Voice360 event the bridge knows: nothing to post", self.name),
        })
    }

    /// `voice360:<event name>:<parts>…`, empty parts left out.
    fn id(&self, parts: &[&str]) -> String {
        let parts = parts.iter().copied().filter(|p| !p.is_empty());
        [PROVIDER, self.name.as_str()].into_iter().chain(parts).collect::<Vec<_>>().join(":")
    }
}

/// The channel's side of a message: the number the event names, else the
/// deployment's number for that channel (`VOICE_CHANNEL_NUMBER`,
/// `SMS_CHANNEL_NUMBER`). Without either (USER_DIAL names only the user),
/// the side is named after the provider rather than left empty.
fn channel_party(phone: Option<String>, deployment: Option<&str>) -> Party {
    match phone.or_else(|| deployment.map(String::from)) {
        Some(phone) => Party::phone(phone),
        None => Party::named(Some("Voice360".into()), None),
    }
}

/// Whether the event has nothing but its bytes to tell it apart: a withheld
/// party, in an event with no id of its own. (Only then is the body hashed:
/// an SMS's body can be long.)
fn needs_digest(kind: Kind, metadata: &Object) -> bool {
    let meta = Fields::new(metadata, "metadata");
    let withheld = |keys: &[&str]| matches!(meta.who_of(keys), Ok(Who::Withheld));
    match kind {
        Kind::SmsReceived => meta.value("message_id").is_none() && withheld(&["from_number"]),
        _ => kind.digested_when_withheld() && withheld(&["caller_id_number", "callerid_number"]),
    }
}

/// Refuses junk in any party field of `metadata`, naming it.
fn check_parties(metadata: &Object) -> Result<(), TranslateError> {
    let meta = Fields::new(metadata, "metadata");
    PARTY_FIELDS.iter().try_for_each(|field| meta.check_party(field))
}

/// How a Voice360 user is named: by `VOICE360_AGENTS`, else `user <id>`.
fn agent_name(settings: &Settings, id: &str) -> String {
    match agents::named(settings, id).and_then(|agent| agent.name.clone()) {
        Some(name) => name,
        None => format!("user {id}"),
    }
}

/// The e-mail of user `id` (`VOICE360_AGENTS`), to assign a conversation.
fn agent_email(settings: &Settings, id: Option<&str>) -> Option<String> {
    agents::named(settings, id?)?.email.clone()
}

/// `text` with its first letter in upper case. ASCII only: the texts are
/// words the bridge writes ("user 12", "an agent") and roles it lowers the
/// same way; `char::to_uppercase` would bring core's case tables into every
/// wasm build (BENCHMARKS.md).
fn capitalize(text: &str) -> String {
    let mut text = text.to_string();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

/// Voice360 writes `sha256=` and the body's HMAC in hex.
pub static SCHEME: Scheme = Scheme {
    name: "voice360",
    title: "Voice360",
    header: "X-Voice360-Signature",
    encoding: Encoding::Hex,
    prefix: Some("sha256="),
    stamp: None,
};

pub const WEBHOOK_SECRETS: &str = "VOICE360_WEBHOOK_SECRETS";
pub const API_KEY: &str = "VOICE360_API_KEY";
pub const ACCOUNT_ID: &str = "VOICE360_ACCOUNT_ID";
pub const API_BASE: &str = "VOICE360_API_BASE";
pub const AGENTS: &str = "VOICE360_AGENTS";
pub const POST_EVENTS: &str = "VOICE360_POST_EVENTS";

pub const DEFAULT_API_BASE: &str = "https://api.voice360.app/v3/voice";

/// Events posted unless `VOICE360_POST_EVENTS` says otherwise: a call
/// reads as a conversation (in, waited in a queue, answered, ended, the
/// transcript, or missed), not a log. Not posted: each agent a queue rings
/// and each ring that ends (a ring-all queue of ten would put twenty
/// messages in one call), and the caller leaving the queue, which the
/// answer or the miss already says.
pub const DEFAULT_POST_EVENTS: [&str; 13] = [
    "INCOMING_EXTERNAL_CALL",
    "USER_ANSWER",
    "CALL_ENDED",
    "USER_DIAL",
    "USER_HANGUP",
    "QUEUE_ENTER",
    "QUEUE_MEMBER_ANSWER",
    "QUEUE_NO_ANSWER",
    "QUEUE_HANGUP_TIMEOUT",
    "QUEUE_HANGUP_ABANDONED",
    "TRANSCRIPTION_FINISHED",
    "SMS_RECEIVED",
    "SMS_SENT",
];

/// Voice360's settings, in the README's order.
static SETTINGS: [Declared; 6] = [
    Declared::new(WEBHOOK_SECRETS, settings::Kind::Secrets),
    Declared::new(API_KEY, settings::Kind::Secret),
    Declared::new(ACCOUNT_ID, settings::Kind::Text),
    Declared::new(API_BASE, settings::Kind::Url { default: DEFAULT_API_BASE }),
    Declared::new(
        AGENTS,
        settings::Kind::Parsed {
            parse: agents::read,
            expected: "comma-separated entries ID=Name <email>, either part optional",
        },
    ),
    Declared::new(POST_EVENTS, settings::Kind::Words { default: &DEFAULT_POST_EVENTS, upper: true }),
];

pub static DESCRIPTION: Description = Description {
    name: PROVIDER,
    title: "Voice360",
    scheme: &SCHEME,
    secrets: WEBHOOK_SECRETS,
    settings: &[WEBHOOK_SECRETS],
    declares: &SETTINGS,
    parse: |object, body| Ok(Box::new(Event::parse(object, body)?)),
    read_held: Some(held::read_held),
    samples: samples![
        (
            "voice360",
            "Voice360 call",
            r#"{"event_name":"INCOMING_EXTERNAL_CALL","account_id":"12345","timestamp":1704067200,"metadata":{"caller_id_number":"+15551234567","caller_id_name":"John Doe","dnis":"+15559876543","uniqueid":"1704067200.12345"}}"#
        ),
        // How a withheld caller reads: posted, with an identity of the call's own.
        (
            "voice360-withheld",
            "Voice360 call from a withheld number",
            r#"{"event_name":"INCOMING_EXTERNAL_CALL","account_id":"12345","timestamp":1704067200,"metadata":{"caller_id_number":"anonymous","dnis":"+15559876543","uniqueid":"1704067260.12346"}}"#
        ),
    ],
};

impl Happening for Event {
    /// Voice360's `event_name`.
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reads(&self) -> Vec<String> {
        self.keys_read()
    }

    fn voice_call(&self) -> Option<settle::Call> {
        self.call()
    }

    fn translate(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        self.translation(settings, lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::transcript::speaker;
    use super::{capitalize, CallMemory};
    use crate::reamaze::Direction;

    #[test]
    fn capitals_are_ascii() {
        assert_eq!(capitalize("an agent"), "An agent");
        assert_eq!(capitalize("user 12"), "User 12");
        assert_eq!(capitalize(""), "");
        assert_eq!(capitalize("élan"), "élan", "a first letter outside ASCII is left as it is");
        assert_eq!(speaker("AGENT"), "Agent");
    }

    #[test]
    fn a_remembered_call_reads_back_as_written() {
        let call = CallMemory {
            direction: Some(Direction::Outbound),
            customer_phone: Some("+15550001111".into()),
            customer_name: Some("Ann".into()),
            channel_phone: None,
            agent: Some("67890".into()),
        };
        let written = serde_json::to_string(&call).unwrap();
        assert!(written.contains(r#""answered_by":"67890""#), "the agent keeps its first name: {written}");
        assert_eq!(CallMemory::read(&written), call);
        assert_eq!(CallMemory::read("not json"), CallMemory::default());
        assert_eq!(CallMemory::read(r#"{"direction":"sideways","customer_phone":5}"#), CallMemory::default());
    }
}
