//! Voice360's SMS events: one conversation per channel number and
//! customer number.

use super::{agent_email, channel_party, Event, PROVIDER};
use crate::identity::Who;
use crate::json::Node;
use crate::providers::{Fields, Lookup, TranslateError, Translation};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;

impl Event {
    pub(super) fn sms_received(&self, settings: &Settings) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let customer = meta.who("from_number")?;
        // The number texted, else the SMS channel's: the same conversation
        // either way.
        let channel = meta.channel_phone(&["to_number"])?.or_else(|| settings.sms_channel_number.clone());
        let id = match meta.text("message_id") {
            Some(m) => self.id(&[&m]),
            None => self.id(&[&self.id_part_of(&customer), &self.timestamp.to_string()]),
        };
        let thread = sms_thread(channel.as_deref(), &customer);
        let message = Message::between(
            id,
            Direction::Inbound,
            Party::named(customer.name(None), Some(customer.into_phone())),
            channel_party(channel, None),
            sms_text(&meta),
        )
        .thread(thread)
        .at(self.at(0));
        Ok(Translation::messages(vec![Outgoing { channel: Channel::Sms, message }]))
    }

    /// One message per recipient, except the provider's echo of an SMS the
    /// bridge itself sent for an agent (Re:amaze already shows that reply).
    pub(super) fn sms_sent(&self, lookup: Lookup, settings: &Settings) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let channel = meta.channel_phone(&["from_number"])?.or_else(|| settings.sms_channel_number.clone());
        let sent_by = meta.text("sms_sent_by_user_id");
        let named = |id: &str| super::agents::named(settings, id).and_then(|agent| agent.name.clone());
        let sender = sent_by.as_deref().map(|id| named(id).unwrap_or_else(|| format!("User {id}")));
        let assignee = agent_email(settings, sent_by.as_deref());
        let message_id = meta.text("message_id").unwrap_or_else(|| self.timestamp.to_string());
        let echo_keys = self.sms_sent_echo_keys();
        let recipients = self.recipients();
        let messages: Vec<Outgoing> = recipients
            .iter()
            .zip(&echo_keys)
            .enumerate()
            .filter(|(_, (_, echo_key))| lookup(echo_key).is_none())
            .map(|(index, (to, _))| Outgoing {
                channel: Channel::Sms,
                message: Message::between(
                    self.id(&[&message_id, &self.recipient_id_part(to, index)]),
                    Direction::Outbound,
                    Party::named(to.name(None), Some(to.phone())),
                    Party::named(
                        sender.clone().or_else(|| channel.is_none().then(|| "Voice360".into())),
                        channel.clone(),
                    ),
                    sms_text(&meta),
                )
                .thread(sms_thread(channel.as_deref(), to))
                .at(self.at(0))
                .assigned(assignee.clone()),
            })
            .collect();
        Ok(if messages.is_empty() {
            Translation::ignored("SMS_SENT echoes a reply the bridge sent for an agent: Re:amaze already shows it")
        } else {
            Translation::messages(messages)
        })
    }

    /// A recipient's part of an SMS_SENT message's id: its number or name;
    /// a withheld one, its place in the list.
    fn recipient_id_part(&self, to: &Who, index: usize) -> String {
        match to {
            Who::Withheld => format!("withheld-{index}"),
            other => other.phone(),
        }
    }
}

/// One SMS conversation per channel number and customer:
/// `voice360:sms:<channel digits>:<customer digits>`, or the sender's name
/// for an alphanumeric sender. A withheld party has none here: its message
/// is a conversation of its own (`providers::settle`).
fn sms_thread(channel: Option<&str>, customer: &Who) -> Option<String> {
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
    match customer {
        Who::Number(number) => thread.extend(digits(number)),
        Who::Sender(name) => thread.push_str(name),
        Who::Withheld => return None,
    }
    Some(thread)
}

fn sms_text(meta: &Fields) -> String {
    meta.value("body").and_then(Node::as_str).filter(|b| !b.trim().is_empty()).unwrap_or("(empty message)").to_string()
}
