//! Voice360's SMS events: one conversation per channel number and
//! customer number.

use super::{agent_email, channel_party, Event, PROVIDER};
use crate::json::Node;
use crate::providers::{Fields, Lookup, TranslateError, Translation};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::time;

impl Event {
    pub(super) fn sms_received(&self, settings: &Settings) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let customer = meta.need_phone("from_number")?;
        // The number texted, else the SMS channel's: the same conversation
        // either way.
        let channel = meta.phone("to_number")?.or_else(|| settings.sms_channel_number.clone());
        let id = match meta.text("message_id") {
            Some(m) => self.id(&[&m]),
            None => self.id(&[&customer, &self.timestamp.to_string()]),
        };
        let message = Message::between(
            id,
            Direction::Inbound,
            Party::phone(customer.clone()),
            channel_party(channel.clone(), None),
            sms_text(&meta),
        )
        .thread(Some(sms_thread(channel.as_deref(), &customer)))
        .at(time::unix_to_iso(self.timestamp));
        Ok(Translation::messages(vec![Outgoing { channel: Channel::Sms, message }]))
    }

    /// One message per recipient, except the provider's echo of an SMS the
    /// bridge itself sent for an agent (Re:amaze already shows that reply).
    pub(super) fn sms_sent(&self, lookup: Lookup, settings: &Settings) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let channel = meta.need_phone("from_number")?;
        let recipients = meta.phones("to_number")?;
        if recipients.is_empty() {
            return Err(TranslateError::Missing("metadata.to_number".into()));
        }
        let sent_by = meta.text("sms_sent_by_user_id");
        let named = |id: &str| settings.agent(id).and_then(|agent| agent.name.clone());
        let sender = sent_by.as_deref().map(|id| named(id).unwrap_or_else(|| format!("User {id}")));
        let assignee = agent_email(settings, sent_by.as_deref());
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
                .at(time::unix_to_iso(self.timestamp))
                .assigned(assignee.clone()),
            })
            .collect();
        Ok(if messages.is_empty() {
            Translation::ignored("SMS_SENT echoes a reply the bridge sent for an agent: Re:amaze already shows it")
        } else {
            Translation::messages(messages)
        })
    }
}

/// One SMS conversation per channel number and customer number:
/// `voice360:sms:<channel digits>:<customer digits>`.
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
    meta.value("body").and_then(Node::as_str).filter(|b| !b.trim().is_empty()).unwrap_or("(empty message)").to_string()
}
