//! Voice360's call events: a call coming in, answered, dialled, ended, and
//! its way through a queue. Each is placed in its call's thread, its
//! parties completed from what the bridge remembers of the call.

use super::contacts::contact_name;
use super::{agent_name, capitalize, channel_party, CallMemory, Event, Kind, PROVIDER};
use crate::identity::Who;
use crate::providers::{label, Lookup, TranslateError, Translation};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::store::{ttl, Entry};
use crate::time;

impl Event {
    /// A call's own events: in, answered, dialled, hung up, ended.
    pub(super) fn call_event(
        &self,
        memory: &CallMemory,
        settings: &Settings,
        contacts: Lookup,
    ) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let user = |key: &str| meta.text(key).map(|id| agent_name(settings, &id));
        let agent_id = meta.text("to_user_id");
        let dialled_by = meta.text("from_user_id");
        let (parties, agent, body) = match self.kind {
            Kind::IncomingExternalCall => {
                let parties =
                    self.parties(Direction::Inbound, &["caller_id_number"], &["caller_id_name"], &["dnis"], contacts)?;
                let body = format!("Incoming call from {}", label(&parties.customer()));
                (parties, None, body)
            }
            Kind::UserAnswer => {
                let parties =
                    CallMemory { agent: agent_id.clone(), ..self.caller(memory, "caller_id_number", contacts)? };
                let body = user("to_user_id").map_or("Call answered".to_string(), |u| format!("Answered by {u}"));
                (parties, agent_id, body)
            }
            Kind::UserDial => {
                let parties = CallMemory {
                    agent: dialled_by,
                    ..self.parties(Direction::Outbound, &["dialed_number"], &[], &[], contacts)?
                };
                let body =
                    user("from_user_id").map_or("Outbound call".to_string(), |u| format!("Outbound call by {u}"));
                (parties, None, body)
            }
            Kind::UserHangup => {
                let parties = CallMemory {
                    agent: dialled_by,
                    ..self.parties(Direction::Outbound, &["dialed_number"], &[], &[], contacts)?
                };
                let body = outbound_end(user("from_user_id"), &parties.customer(), meta.seconds("duration")?);
                (parties, None, body)
            }
            _ => return self.call_ended(memory, settings, contacts),
        };
        Ok(self.call_message(memory, parties, &agent_ids(&agent), body, settings))
    }

    /// A call's way through a queue: entered, agents rung, answered, left,
    /// or missed.
    pub(super) fn queue_event(
        &self,
        memory: &CallMemory,
        settings: &Settings,
        contacts: Lookup,
    ) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let agent_id = meta.text("to_user_id");
        let agent = agent_ids(&agent_id);
        let who = meta.text("to_user_id").map(|id| agent_name(settings, &id));
        let wait = || -> Result<String, TranslateError> { Ok(waited(meta.seconds("wait_time")?)) };
        Ok(match self.kind {
            Kind::QueueEnter => {
                let parties = self.parties(
                    Direction::Inbound,
                    &["callerid_number", "caller_id_number"],
                    &["callerid_name", "caller_id_name"],
                    &["dnis"],
                    contacts,
                )?;
                let body = format!("{} is waiting in queue {}", label(&parties.customer()), self.queue());
                self.call_message(memory, parties, &[], body, settings)
            }
            Kind::QueueMemberDial => {
                let body = who.map_or("Queue is ringing an agent".into(), |who| format!("Queue is ringing {who}"));
                self.call_message(memory, self.caller(memory, "caller_id_number", contacts)?, &agent, body, settings)
            }
            Kind::QueueMemberAnswer => {
                let parties =
                    CallMemory { agent: agent_id.clone(), ..self.caller(memory, "caller_id_number", contacts)? };
                let body =
                    who.map_or("Answered from the queue".into(), |who| format!("Answered by {who} from the queue"));
                self.call_message(memory, parties, &agent, body, settings)
            }
            Kind::QueueMemberDialHangup => {
                let body = ring_end(&who.unwrap_or_else(|| "an agent".into()), meta.seconds("duration")?);
                self.call_message(memory, self.caller(memory, "caller_id_number", contacts)?, &agent, body, settings)
            }
            Kind::QueueHangup => {
                let body = match meta.seconds("duration")? {
                    Some(d) => format!("Left queue {} after {}", self.queue(), time::duration(d)),
                    None => format!("Left queue {}", self.queue()),
                };
                self.call_message(memory, self.caller(memory, "caller_id_number", contacts)?, &[], body, settings)
            }
            Kind::QueueNoAnswer => {
                self.queue_miss(settings, format!("Missed call: nobody in {} answered{}", self.queue(), wait()?))?
            }
            Kind::QueueHangupTimeout => {
                self.queue_miss(settings, format!("Missed call: timed out waiting in {}{}", self.queue(), wait()?))?
            }
            _ => self.queue_miss(
                settings,
                format!("Missed call: the caller hung up while waiting in {}{}", self.queue(), wait()?),
            )?,
        })
    }

    /// The parties this event names: the customer from the first of
    /// `customer_keys` present (required), their name (from `name_keys`,
    /// else the contact book), the channel number.
    fn parties(
        &self,
        direction: Direction,
        customer_keys: &[&str],
        name_keys: &[&str],
        channel_keys: &[&str],
        contacts: Lookup,
    ) -> Result<CallMemory, TranslateError> {
        let meta = self.meta();
        let customer = meta.who_of(customer_keys)?;
        let given = meta.text_of(name_keys);
        let customer_name = customer.name(given.or_else(|| contact_name(contacts, customer.number()?)));
        Ok(CallMemory {
            direction: Some(direction),
            customer_phone: Some(customer.into_phone()),
            customer_name,
            channel_phone: meta.channel_phone(channel_keys)?,
            agent: None,
        })
    }

    /// The caller of an inbound event that may omit the number when the
    /// call is already known (withheld when neither says); named by the
    /// contact book when the call's memory names nobody (a name the call's
    /// events gave wins).
    fn caller(&self, memory: &CallMemory, key: &str, contacts: Lookup) -> Result<CallMemory, TranslateError> {
        let meta = self.meta();
        let phone = match meta.who(key)? {
            Who::Withheld => memory.customer_phone.clone().unwrap_or_else(|| Who::Withheld.phone()),
            who => who.phone(),
        };
        let customer_name = memory.customer_name.is_none().then(|| contact_name(contacts, &phone)).flatten();
        Ok(CallMemory {
            direction: Some(memory.direction.unwrap_or(Direction::Inbound)),
            customer_phone: Some(phone),
            customer_name,
            channel_phone: meta.channel_phone(&["dnis"])?,
            agent: None,
        })
    }

    fn call_ended(
        &self,
        memory: &CallMemory,
        settings: &Settings,
        contacts: Lookup,
    ) -> Result<Translation, TranslateError> {
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
        // The call's agent: who answered it, or who dialled it.
        let agent_key = match direction {
            Direction::Inbound => "to_user_id",
            Direction::Outbound => "from_user_id",
        };
        let parties = CallMemory {
            agent: meta.text(agent_key),
            ..self.parties(direction, &[customer_key], &[], &[channel_key], contacts)?
        };
        let duration = meta.seconds("duration")?;
        let call = memory.merged(parties.clone());
        let body = match direction {
            Direction::Outbound => {
                outbound_end(meta.text("from_user_id").map(|id| agent_name(settings, &id)), &call.customer(), duration)
            }
            Direction::Inbound => match &call.agent {
                Some(user) => match duration {
                    Some(d) => {
                        format!("Call ended after {}, answered by {}", time::duration(d), agent_name(settings, user))
                    }
                    None => format!("Call ended, answered by {}", agent_name(settings, user)),
                },
                // Unanswered, the call's duration is the caller's wait.
                None => format!("Missed call{}: nobody answered{}", to(&call.channel(settings)), waited(duration)),
            },
        };
        Ok(self.call_message(memory, parties, &[], body, settings))
    }

    /// QUEUE_NO_ANSWER and its kin carry no call id: the message id takes
    /// the caller and the timestamp (a withheld caller, the event's digest),
    /// and the message is a conversation of its own (`providers::settle`).
    fn queue_miss(&self, settings: &Settings, body: String) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let customer = meta.who_of(&["caller_id_number", "callerid_number"])?;
        let caller = self.id_part_of(&customer);
        let id = self.id(&[&caller, meta.text("queue_id").as_deref().unwrap_or(""), &self.timestamp.to_string()]);
        let message = Message::between(
            id,
            Direction::Inbound,
            Party::named(customer.name(None), Some(customer.phone())),
            channel_party(meta.channel_phone(&["dnis"])?, settings.voice_channel_number.as_deref()),
            body,
        )
        .at(self.at(0));
        Ok(Translation::messages(vec![Outgoing { channel: Channel::Voice, message }]))
    }

    fn queue(&self) -> String {
        self.meta().text_of(&["queue_name", "queuename", "queue_id"]).unwrap_or_else(|| "the queue".to_string())
    }

    /// A voice message in this call's thread, its parties completed from
    /// memory, and the memory updated with what this event told.
    fn call_message(
        &self,
        memory: &CallMemory,
        seen: CallMemory,
        extra_id: &[&str],
        body: String,
        settings: &Settings,
    ) -> Translation {
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
            merged.channel(settings),
            body,
        )
        .thread(uniqueid.as_ref().map(|u| format!("{PROVIDER}:{u}")))
        .at(self.at(0))
        .assigned(merged.assignee(settings));
        let remember = (merged != *memory).then(|| self.call_key()).flatten().map(|key| Entry {
            key,
            value: serde_json::to_string(&merged).unwrap_or_default(),
            ttl_seconds: ttl::CALL,
        });
        Translation::messages(vec![Outgoing { channel: Channel::Voice, message }]).remembering(remember)
    }
}

/// The agent an answer or a queue leg concerns, as a part of those
/// messages' ids: several agents may be rung for one call.
fn agent_ids(agent: &Option<String>) -> Vec<&str> {
    vec![agent.as_deref().unwrap_or("")]
}

/// How one agent's ring of a queue call ended.
fn ring_end(who: &str, duration: Option<f64>) -> String {
    match duration {
        Some(d) if d > 0.0 => format!("Queue call with {who} ended after {}", time::duration(d)),
        Some(_) => format!("{} did not pick up", capitalize(who)),
        None => format!("Queue call with {who} ended"),
    }
}

fn outbound_end(user: Option<String>, customer: &Party, duration: Option<f64>) -> String {
    let call = match user {
        Some(user) => format!("Outbound call by {user}"),
        None => "Outbound call".to_string(),
    };
    match duration {
        Some(d) if d > 0.0 => format!("{call} ended after {}", time::duration(d)),
        Some(_) => format!("{call}{} was not answered", to(customer)),
        None => format!("{call} ended"),
    }
}

/// ` to <who was called>`, when their number is known.
fn to(called: &Party) -> String {
    called.phone.as_ref().map(|_| format!(" to {}", label(called))).unwrap_or_default()
}

/// ` (waited H:MM:SS)`, when the wait is known and not nothing.
fn waited(seconds: Option<f64>) -> String {
    seconds.filter(|s| *s > 0.0).map(|s| format!(" (waited {})", time::duration(s))).unwrap_or_default()
}
