//! Voice360 webhooks: envelope `event_name`, `account_id`, `timestamp`
//! (Unix seconds), `metadata` (per event; see the reference text).

use serde::{Deserialize, Serialize};

use super::{label, push_line, value_text, Fields, Lookup, TranslateError, Translation};
use crate::json::{self, Object, Value};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::store::{keys, ttl, Entry};
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
}

/// What the bridge remembers of a call, so that events which leave a party
/// out (USER_ANSWER has no `dnis`, TRANSCRIPTION_FINISHED no number at all)
/// can still be placed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct CallMemory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answered_by: Option<String>,
}

impl CallMemory {
    /// Fills what is unknown from `newer`, letting `newer` win where both know.
    fn merged(&self, newer: CallMemory) -> CallMemory {
        CallMemory {
            direction: newer.direction.or(self.direction),
            customer_phone: newer.customer_phone.or_else(|| self.customer_phone.clone()),
            customer_name: newer.customer_name.or_else(|| self.customer_name.clone()),
            channel_phone: newer.channel_phone.or_else(|| self.channel_phone.clone()),
            answered_by: newer.answered_by.or_else(|| self.answered_by.clone()),
        }
    }

    fn customer(&self) -> Party {
        Party::named(self.customer_name.clone(), self.customer_phone.clone())
    }

    fn channel(&self) -> Party {
        channel_party(self.channel_phone.clone())
    }
}

impl Event {
    pub(super) fn parse(mut envelope: Object) -> Result<Event, TranslateError> {
        let top = Fields::new(&envelope, "");
        let name = top.need_text("event_name")?;
        let timestamp = top.number("timestamp")?.ok_or_else(|| TranslateError::Missing("timestamp".into()))?;
        if !(0.0..=253_402_300_799.0).contains(&timestamp) {
            return Err(TranslateError::Invalid { field: "timestamp".into(), expected: "Unix seconds" });
        }
        let account_id = top.text("account_id");
        let metadata = match envelope.remove("metadata") {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => Object::default(),
            Some(_) => return Err(TranslateError::Invalid { field: "metadata".into(), expected: "an object" }),
        };
        Ok(Event { kind: Kind::of(&name), name, account_id, timestamp: timestamp as i64, metadata })
    }

    fn meta(&self) -> Fields<'_> {
        Fields::new(&self.metadata, "metadata")
    }

    fn call_key(&self) -> Option<String> {
        self.meta().text("uniqueid").map(|id| keys::call(PROVIDER, &id))
    }

    pub(super) fn reads(&self) -> Vec<String> {
        match self.kind {
            Kind::SmsSent => self.sms_sent_echo_keys(),
            _ => self.call_key().into_iter().collect(),
        }
    }

    fn sms_sent_echo_keys(&self) -> Vec<String> {
        let meta = self.meta();
        let from = meta.text("from_number").unwrap_or_default();
        let body = meta.text("body").unwrap_or_default();
        meta.texts("to_number").iter().map(|to| keys::echo(&from, to, &body)).collect()
    }

    pub(super) fn translate(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        let memory = self
            .call_key()
            .and_then(|key| lookup(&key))
            .and_then(|value| serde_json::from_str::<CallMemory>(&value).ok())
            .unwrap_or_default();
        let meta = self.meta();
        let user = |key: &str| meta.text(key).map(|id| format!("user {id}"));
        // The agent an answer or a queue leg concerns; part of those messages'
        // ids, since several agents may be rung for one call.
        let agent_id = meta.text("to_user_id");
        let agent = [agent_id.as_deref().unwrap_or("")];
        let waited = |m: &Fields| -> Result<String, TranslateError> {
            Ok(m.seconds("wait_time")?.map(|s| format!(" (waited {})", time::duration(s))).unwrap_or_default())
        };

        let translation = match self.kind {
            Kind::IncomingExternalCall => {
                let seen = self.seen(Direction::Inbound, &["caller_id_number"], &["caller_id_name"], &["dnis"])?;
                let body = format!("Incoming call from {}", label(&seen.customer()));
                self.call_message(&memory, seen, &[], body)
            }
            Kind::UserAnswer => {
                let seen = CallMemory { answered_by: agent_id.clone(), ..self.caller(&memory, "caller_id_number")? };
                let body = match user("to_user_id") {
                    Some(user) => format!("Answered by {user}"),
                    None => "Call answered".to_string(),
                };
                self.call_message(&memory, seen, &agent, body)
            }
            Kind::CallEnded => self.call_ended(&memory)?,
            Kind::UserDial => {
                let seen = self.seen(Direction::Outbound, &["dialed_number"], &[], &[])?;
                let body = match user("from_user_id") {
                    Some(user) => format!("Outbound call by {user}"),
                    None => "Outbound call".to_string(),
                };
                self.call_message(&memory, seen, &[], body)
            }
            Kind::UserHangup => {
                let seen = self.seen(Direction::Outbound, &["dialed_number"], &[], &[])?;
                let body = outbound_end(user("from_user_id"), meta.seconds("duration")?);
                self.call_message(&memory, seen, &[], body)
            }
            Kind::QueueEnter => {
                let seen = self.seen(
                    Direction::Inbound,
                    &["callerid_number", "caller_id_number"],
                    &["callerid_name", "caller_id_name"],
                    &["dnis"],
                )?;
                let body = format!("{} is waiting in queue {}", label(&seen.customer()), self.queue());
                self.call_message(&memory, seen, &[], body)
            }
            Kind::QueueMemberDial => {
                let seen = self.caller(&memory, "caller_id_number")?;
                let body = match user("to_user_id") {
                    Some(user) => format!("Queue is ringing {user}"),
                    None => "Queue is ringing an agent".to_string(),
                };
                self.call_message(&memory, seen, &agent, body)
            }
            Kind::QueueMemberAnswer => {
                let seen = CallMemory { answered_by: agent_id.clone(), ..self.caller(&memory, "caller_id_number")? };
                let body = match user("to_user_id") {
                    Some(user) => format!("Answered by {user} from the queue"),
                    None => "Answered from the queue".to_string(),
                };
                self.call_message(&memory, seen, &agent, body)
            }
            Kind::QueueMemberDialHangup => {
                let seen = self.caller(&memory, "caller_id_number")?;
                let who = user("to_user_id").unwrap_or_else(|| "an agent".to_string());
                let body = match meta.seconds("duration")? {
                    Some(d) if d > 0.0 => format!("Queue call with {who} ended after {}", time::duration(d)),
                    Some(_) => format!("{} did not pick up", capitalize(&who)),
                    None => format!("Queue call with {who} ended"),
                };
                self.call_message(&memory, seen, &agent, body)
            }
            Kind::QueueHangup => {
                let seen = self.caller(&memory, "caller_id_number")?;
                let body = match meta.seconds("duration")? {
                    Some(d) => format!("Left queue {} after {}", self.queue(), time::duration(d)),
                    None => format!("Left queue {}", self.queue()),
                };
                self.call_message(&memory, seen, &[], body)
            }
            Kind::QueueNoAnswer => {
                let body = format!("Missed call: nobody in {} answered{}", self.queue(), waited(&meta)?);
                self.queue_miss(body)?
            }
            Kind::QueueHangupTimeout => {
                let body = format!("Missed call: timed out waiting in {}{}", self.queue(), waited(&meta)?);
                self.queue_miss(body)?
            }
            Kind::QueueHangupAbandoned => {
                let body =
                    format!("Missed call: the caller hung up while waiting in {}{}", self.queue(), waited(&meta)?);
                self.queue_miss(body)?
            }
            Kind::TranscriptionFinished => self.transcription(&memory, settings)?,
            Kind::SmsReceived => self.sms_received()?,
            Kind::SmsSent => self.sms_sent(lookup)?,
            Kind::SmsDelivered => Translation::ignored(
                "SMS_DELIVERED is a carrier delivery receipt: the message itself was posted when it was sent",
            ),
            Kind::ContactCreated | Kind::ContactUpdated | Kind::ContactDeleted => Translation::ignored(format!(
                "{}: contacts are not synchronised; Re:amaze knows customers from their calls and messages",
                self.name
            )),
            Kind::Unknown => {
                Translation::ignored(format!("{} is not a Voice360 event the bridge knows: nothing to post", self.name))
            }
        };
        Ok(translation)
    }

    /// The parties this event names: the customer from the first of
    /// `customer_keys` present (required), their name, the channel number.
    fn seen(
        &self,
        direction: Direction,
        customer_keys: &[&str],
        name_keys: &[&str],
        channel_keys: &[&str],
    ) -> Result<CallMemory, TranslateError> {
        let meta = self.meta();
        Ok(CallMemory {
            direction: Some(direction),
            customer_phone: Some(meta.need_phone_of(customer_keys)?),
            customer_name: meta.text_of(name_keys),
            channel_phone: meta.phone_of(channel_keys)?,
            answered_by: None,
        })
    }

    /// The caller of an inbound event that may omit the number when the
    /// call is already known.
    fn caller(&self, memory: &CallMemory, key: &str) -> Result<CallMemory, TranslateError> {
        let meta = self.meta();
        let phone = meta.phone(key)?.or_else(|| memory.customer_phone.clone());
        Ok(CallMemory {
            direction: Some(memory.direction.unwrap_or(Direction::Inbound)),
            customer_phone: Some(phone.ok_or_else(|| TranslateError::Missing(format!("metadata.{key}")))?),
            customer_name: None,
            channel_phone: meta.phone("dnis")?,
            answered_by: None,
        })
    }

    fn call_ended(&self, memory: &CallMemory) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let direction = match meta.text("call_direction").map(|d| d.to_ascii_lowercase()).as_deref() {
            Some("outbound") => Direction::Outbound,
            Some("inbound") => Direction::Inbound,
            _ => memory.direction.unwrap_or(Direction::Inbound),
        };
        // Inbound: the caller is the customer and `dnis` the number called;
        // outbound: `dnis` is the customer dialled.
        let (customer_key, channel_key) = match direction {
            Direction::Inbound => ("caller_id_number", "dnis"),
            Direction::Outbound => ("dnis", "caller_id_number"),
        };
        let seen = CallMemory {
            answered_by: meta.text("to_user_id"),
            ..self.seen(direction, &[customer_key], &[], &[channel_key])?
        };
        let duration = meta.seconds("duration")?;
        let body = match direction {
            Direction::Outbound => outbound_end(meta.text("from_user_id").map(|id| format!("user {id}")), duration),
            Direction::Inbound => match seen.answered_by.clone().or_else(|| memory.answered_by.clone()) {
                Some(user) => match duration {
                    Some(d) => format!("Call ended after {}, answered by user {user}", time::duration(d)),
                    None => format!("Call ended, answered by user {user}"),
                },
                None => "Missed call: nobody answered".to_string(),
            },
        };
        Ok(self.call_message(memory, seen, &[], body))
    }

    /// QUEUE_NO_ANSWER and its kin carry no call id: no thread, and the
    /// message id takes the timestamp.
    fn queue_miss(&self, body: String) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let customer = meta.need_phone("caller_id_number")?;
        let id = self.id(&[&customer, meta.text("queue_id").as_deref().unwrap_or(""), &self.timestamp.to_string()]);
        let message =
            Message::between(id, Direction::Inbound, Party::phone(customer), channel_party(meta.phone("dnis")?), body)
                .at(time::unix_to_iso(self.timestamp));
        Ok(Translation::messages(vec![Outgoing { channel: Channel::Voice, message }]))
    }

    fn queue(&self) -> String {
        self.meta().text_of(&["queue_name", "queuename", "queue_id"]).unwrap_or_else(|| "the queue".to_string())
    }

    /// `voice360:<event name>:<parts>…`, written out (see `sms_thread`).
    fn id(&self, parts: &[&str]) -> String {
        let mut id = String::with_capacity(64);
        id.push_str(PROVIDER);
        id.push(':');
        id.push_str(&self.name);
        for part in parts.iter().filter(|p| !p.is_empty()) {
            id.push(':');
            id.push_str(part);
        }
        id
    }

    /// A voice message in this call's thread, its parties completed from
    /// memory, and the memory updated with what this event told.
    fn call_message(&self, memory: &CallMemory, seen: CallMemory, extra_id: &[&str], body: String) -> Translation {
        let uniqueid = self.meta().text("uniqueid");
        let merged = memory.merged(seen);
        // Without a call id, the event's own time tells deliveries apart.
        let timestamp = self.timestamp.to_string();
        let mut id_parts = vec![uniqueid.as_deref().unwrap_or("")];
        id_parts.extend_from_slice(extra_id);
        if uniqueid.is_none() {
            id_parts.push(&timestamp);
        }
        let message = Message::between(
            self.id(&id_parts),
            merged.direction.unwrap_or(Direction::Inbound),
            merged.customer(),
            merged.channel(),
            body,
        )
        .thread(uniqueid.as_ref().map(|u| format!("{PROVIDER}:{u}")))
        .at(time::unix_to_iso(self.timestamp));
        let remember = (merged != *memory).then(|| self.call_key()).flatten().map(|key| Entry {
            key,
            value: serde_json::to_string(&merged).unwrap_or_default(),
            ttl_seconds: ttl::CALL,
        });
        Translation::messages(vec![Outgoing { channel: Channel::Voice, message }]).remembering(remember)
    }

    /// The transcription is a JSON document inside a string: it is read as
    /// strictly as a payload (depth limit, no duplicate keys), since a
    /// sender can nest in it whatever it could nest in the body. A transcript
    /// longer than MAX_MESSAGE_CHARS is posted whole, in several messages:
    /// the recap, then numbered parts cut between turns.
    fn transcription(&self, memory: &CallMemory, settings: &Settings) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let uniqueid = meta.need_text("uniqueid")?;
        if memory.customer_phone.is_none() {
            return Err(TranslateError::UnknownCall { call_id: uniqueid });
        }
        let success = meta.bool("success").unwrap_or_else(|| meta.text("transcription").is_some());
        let texts = if success {
            let text = meta.need_text("transcription")?;
            let document =
                json::parse_object(text.as_bytes(), settings.max_json_depth).map_err(|_| TranslateError::Invalid {
                    field: "metadata.transcription".into(),
                    expected: "a JSON object inside the string, nested at most MAX_JSON_DEPTH deep, with no key twice in one object",
                })?;
            transcript_messages(&document, settings.max_message_chars as usize)
        } else {
            let reason = meta.text("error").unwrap_or_else(|| "no reason was given".to_string());
            vec![format!("Call transcription failed: {reason}")]
        };
        let messages = texts
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                // The first keeps the id a whole transcript always had; parts
                // are numbered, so a redelivery gives the same ids.
                let part = (index + 1).to_string();
                let id = if index == 0 { self.id(&[&uniqueid]) } else { self.id(&[&uniqueid, "part", &part]) };
                let message = Message::between(
                    id,
                    memory.direction.unwrap_or(Direction::Inbound),
                    memory.customer(),
                    memory.channel(),
                    body,
                )
                .thread(Some(format!("{PROVIDER}:{uniqueid}")))
                .at(time::unix_to_iso(self.timestamp));
                Outgoing { channel: Channel::Voice, message }
            })
            .collect();
        Ok(Translation::messages(messages))
    }

    fn sms_received(&self) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let customer = meta.need_phone("from_number")?;
        let channel = meta.phone("to_number")?;
        let id = match meta.text("message_id") {
            Some(m) => self.id(&[&m]),
            None => self.id(&[&customer, &self.timestamp.to_string()]),
        };
        let message = Message::between(
            id,
            Direction::Inbound,
            Party::phone(customer.clone()),
            channel_party(channel.clone()),
            sms_text(&meta),
        )
        .thread(Some(sms_thread(channel.as_deref(), &customer)))
        .at(time::unix_to_iso(self.timestamp));
        Ok(Translation::messages(vec![Outgoing { channel: Channel::Sms, message }]))
    }

    /// One message per recipient, except the provider's echo of an SMS the
    /// bridge itself sent for an agent (Re:amaze already shows that reply).
    fn sms_sent(&self, lookup: Lookup) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let channel = meta.need_phone("from_number")?;
        let recipients = meta.phones("to_number")?;
        if recipients.is_empty() {
            return Err(TranslateError::Missing("metadata.to_number".into()));
        }
        let sender = meta.text("sms_sent_by_user_id").map(|id| format!("User {id}"));
        let message_id = meta.text("message_id").unwrap_or_else(|| self.timestamp.to_string());
        let echo_keys = self.sms_sent_echo_keys();
        let messages: Vec<Outgoing> = recipients
            .iter()
            .zip(&echo_keys)
            .filter(|(_, echo_key)| lookup(echo_key).is_none())
            .map(|(to, _)| Outgoing {
                channel: Channel::Sms,
                message: Message::between(
                    self.id(&[&message_id, to]),
                    Direction::Outbound,
                    Party::phone(to.clone()),
                    Party::named(sender.clone(), Some(channel.clone())),
                    sms_text(&meta),
                )
                .thread(Some(sms_thread(Some(&channel), to)))
                .at(time::unix_to_iso(self.timestamp)),
            })
            .collect();
        Ok(if messages.is_empty() {
            Translation::ignored("SMS_SENT echoes a reply the bridge sent for an agent: Re:amaze already shows it")
        } else {
            Translation::messages(messages)
        })
    }
}

/// The channel's side of a message. Some events do not say which of the
/// account's numbers was involved (USER_DIAL names only the user); the side
/// is then named after the provider rather than left as an empty object.
fn channel_party(phone: Option<String>) -> Party {
    match phone {
        Some(phone) => Party::phone(phone),
        None => Party::named(Some("Voice360".into()), None),
    }
}

/// One SMS conversation per channel number and customer number:
/// `voice360:sms:<channel digits>:<customer digits>`. Written out, not with
/// `format!`, as on every SMS (see `format::push_padded`).
fn sms_thread(channel: Option<&str>, customer: &str) -> String {
    fn digits(number: &str) -> impl Iterator<Item = char> + '_ {
        number.chars().filter(|c| c.is_ascii_digit() || *c == '+')
    }
    let mut thread = String::with_capacity(48);
    thread.push_str(PROVIDER);
    thread.push_str(":sms:");
    if let Some(channel) = channel {
        thread.extend(digits(channel));
        thread.push(':');
    }
    thread.extend(digits(customer));
    thread
}

fn sms_text(meta: &Fields) -> String {
    meta.value("body").and_then(Value::as_str).filter(|b| !b.trim().is_empty()).unwrap_or("(empty message)").to_string()
}

fn outbound_end(user: Option<String>, duration: Option<f64>) -> String {
    let call = match user {
        Some(user) => format!("Outbound call by {user}"),
        None => "Outbound call".to_string(),
    };
    match duration {
        Some(d) if d > 0.0 => format!("{call} ended after {}", time::duration(d)),
        Some(_) => format!("{call} was not answered"),
        None => format!("{call} ended"),
    }
}

/// `text` with its first letter in upper case. ASCII only: the texts are
/// words the bridge writes ("user 12", "an agent") and roles it lowers the
/// same way; `char::to_uppercase` would bring core's case tables, 14 KB,
/// into every wasm build.
fn capitalize(text: &str) -> String {
    let mut text = text.to_string();
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

/// What a transcription document becomes: one message with the recap and
/// the conversation when it fits in `limit` characters; else the recap,
/// then the conversation in parts of at most `limit` characters, headed
/// "Call transcript, part k of n" and cut between turns.
fn transcript_messages(doc: &Object, limit: usize) -> Vec<String> {
    let doc = Fields::new(doc, "transcription");
    let recap = recap(&doc);
    let turns: Vec<String> =
        conversation(&doc).into_iter().map(|(speaker, text)| format!("{speaker}: {text}")).collect();
    let whole_chars = recap.chars().count() + 2 + turns.iter().map(|t| t.chars().count() + 1).sum::<usize>();
    if turns.is_empty() || whole_chars <= limit {
        let mut body = recap;
        if !turns.is_empty() {
            body.push('\n');
            turns.iter().for_each(|turn| push_line(&mut body, turn));
        }
        return vec![body];
    }
    let parts = transcript_parts(turns, limit);
    let count = parts.len();
    let numbered = parts.into_iter().enumerate().map(|(k, lines)| {
        let mut body = format!("Call transcript, part {} of {count}\n", k + 1);
        lines.iter().for_each(|line| push_line(&mut body, line));
        body
    });
    std::iter::once(recap).chain(numbered).collect()
}

/// The heading line with the call's length, then the summary, outcome,
/// action items and topics, from the AWS Call Analytics–style document.
fn recap(doc: &Fields) -> String {
    let mut body = String::new();
    let duration = doc
        .object("ConversationCharacteristics")
        .and_then(|c| c.get("TotalConversationDurationMillis"))
        .and_then(Value::as_f64)
        .map(|ms| format!(" ({})", time::duration(ms / 1000.0)))
        .unwrap_or_default();
    push_line(&mut body, format!("Call transcript{duration}"));

    let recap = doc.object("CallRecap").map(|r| Fields::new(r, "CallRecap"));
    let summary = recap.and_then(|r| r.text("summary")).or_else(|| {
        let auto = doc.object("ContactSummary")?.get("AutoGenerated")?;
        value_text(auto.get("OverallSummary")?.get("Content")?)
    });
    if let Some(summary) = summary {
        push_line(&mut body, format!("Summary: {summary}"));
    }
    if let Some(recap) = recap {
        if let Some(outcome) = recap.text("outcome") {
            push_line(&mut body, format!("Outcome: {outcome}"));
        }
        let actions = recap.texts("action_items");
        if !actions.is_empty() {
            push_line(&mut body, "Action items:");
            for action in actions {
                push_line(&mut body, format!("- {action}"));
            }
        }
        let topics = recap.texts("topics");
        if !topics.is_empty() {
            push_line(&mut body, format!("Topics: {}", topics.join(", ")));
        }
    }
    body
}

/// The heading of a part, at its longest (the part numbers' digits aside).
const PART_HEADING_CHARS: usize = "Call transcript, part  of \n".len();

/// Turns grouped into parts whose text, with the part's heading, stays
/// within `limit` characters. A turn is never cut, unless one turn alone is
/// longer than a part: it is then cut at spaces, and its pieces go in parts
/// of their own.
fn transcript_parts(turns: Vec<String>, limit: usize) -> Vec<Vec<String>> {
    // Room for the heading with numbers of up to five digits each.
    let room = limit.saturating_sub(PART_HEADING_CHARS + 10).max(1);
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut used = room + 1;
    for turn in turns.into_iter().flat_map(|turn| pieces(turn, room)) {
        let chars = turn.chars().count() + 1;
        if used + chars > room {
            parts.push(Vec::new());
            used = 0;
        }
        used += chars;
        parts.last_mut().expect("a part was just pushed").push(turn);
    }
    parts
}

/// A turn as pieces of at most `room - 1` characters (a line break follows
/// each), cut at spaces where there are any.
fn pieces(turn: String, room: usize) -> Vec<String> {
    let max = room.saturating_sub(1).max(1);
    if turn.chars().count() <= max {
        return vec![turn];
    }
    let mut out = Vec::new();
    let mut rest = turn.as_str();
    while rest.chars().count() > max {
        let hard = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..hard].rfind(' ').filter(|&i| i > 0).unwrap_or(hard);
        out.push(rest[..cut].to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// The transcript as (speaker, text) in time order, from whichever source
/// is more complete: `Transcript`, or the per-channel `AgentTranscript` and
/// `CustomerTranscript` merged by start time (the documented example fills
/// the latter more fully than the former). A tie goes to `Transcript`.
fn conversation(doc: &Fields) -> Vec<(String, String)> {
    let turns = |key: &str| doc.value(key).and_then(Value::as_array).unwrap_or_default();
    let combined: Vec<(f64, String, String)> = turns("Transcript")
        .iter()
        .filter_map(|turn| {
            let text = value_text(turn.get("Content")?)?;
            let role = turn.get("ParticipantRole").and_then(value_text).unwrap_or_else(|| "SPEAKER".into());
            let start = turn.get("BeginOffsetMillis").and_then(Value::as_f64).unwrap_or(0.0) / 1000.0;
            Some((start, speaker(&role), text))
        })
        .collect();
    let per_channel: Vec<(f64, String, String)> = [("AgentTranscript", "Agent"), ("CustomerTranscript", "Customer")]
        .into_iter()
        .flat_map(|(key, role)| {
            turns(key).iter().filter_map(move |turn| {
                let text = value_text(turn.get("text")?)?;
                let start = turn.get("start").and_then(Value::as_f64).unwrap_or(0.0);
                Some((start, role.to_string(), text))
            })
        })
        .collect();
    let mut timed = if per_channel.len() > combined.len() { per_channel } else { combined };
    // A stable sort: turns that start together keep their order.
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    timed.into_iter().map(|(_, who, text)| (who, text)).collect()
}

fn speaker(role: &str) -> String {
    capitalize(&role.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::{capitalize, speaker};

    #[test]
    fn capitals_are_ascii() {
        assert_eq!(capitalize("an agent"), "An agent");
        assert_eq!(capitalize("user 12"), "User 12");
        assert_eq!(capitalize(""), "");
        assert_eq!(capitalize("élan"), "élan", "a first letter outside ASCII is left as it is");
        assert_eq!(speaker("AGENT"), "Agent");
    }
}
