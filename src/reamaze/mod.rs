//! Re:amaze's side: the custom-channel message model and its endpoints, and
//! the staff-reply webhook turned into SMS sends.

mod message_json;
mod staff_reply;

use serde::Serialize;

use crate::json::{required, JsonError, Object};
use crate::signature::{Encoding, Scheme};

pub use staff_reply::{reply_to_sms, same_number, split_sms, ReplyError, SmsPart, StaffReply};

/// How Re:amaze signs the staff replies it sends, and how the bridge signs
/// what it posts: base64 of the HMAC of the body.
pub static SCHEME: Scheme = Scheme {
    name: "reamaze",
    title: "Re:amaze",
    header: "X-Reamaze-Hmac-SHA256",
    encoding: Encoding::Base64,
    prefix: None,
    stamp: None,
};

/// The longest SMS part sent, in UTF-16 code units. The SMS API documents "max
/// 160 chars" without saying how it counts; 160 UTF-16 units is within 160
/// however it counts (bytes aside), and so bounds the code points too.
pub const SMS_PART_UNITS: usize = 160;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Voice,
    Sms,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Sms => "sms",
        }
    }

    /// `{base}/incoming/voice` or `{base}/incoming/sms`.
    pub fn endpoint(self, base_url: &str) -> String {
        format!("{}/incoming/{}", base_url.trim_end_matches('/'), self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `from` is the customer, `to` the channel's number.
    Inbound,
    /// `from` is the channel's number, `to` the customer.
    Outbound,
}

/// One side of a message. `phone` is absent only for the channel's own side
/// when the event does not say which number it was (Re:amaze identifies the
/// customer from the other side).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Party {
    pub fn phone(phone: impl Into<String>) -> Self {
        Party { name: None, phone: Some(phone.into()) }
    }

    pub fn named(name: Option<String>, phone: Option<String>) -> Self {
        Party { name: name.filter(|n| !n.trim().is_empty()), phone: phone.filter(|p| !p.trim().is_empty()) }
    }
}

/// A message for a custom Voice or SMS channel, as posted to Re:amaze.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: String,
    pub direction: Direction,
    pub from: Party,
    pub to: Party,
    pub body: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The staff member the conversation is assigned to, by the e-mail of
    /// their Re:amaze account. Absent, an assignment is left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignee {
    pub email: String,
}

impl Message {
    /// Builds a message oriented the way Re:amaze wants it: the customer is
    /// `from` on inbound messages and `to` on outbound ones.
    pub fn between(id: String, direction: Direction, customer: Party, channel: Party, body: String) -> Self {
        let (from, to) = match direction {
            Direction::Inbound => (customer, channel),
            Direction::Outbound => (channel, customer),
        };
        Message {
            id,
            direction,
            from,
            to,
            body,
            attachments: Vec::new(),
            thread_id: None,
            created_at: None,
            assignee: None,
        }
    }

    pub fn thread(mut self, thread_id: Option<String>) -> Self {
        self.thread_id = thread_id;
        self
    }

    pub fn at(mut self, created_at: Option<String>) -> Self {
        self.created_at = created_at;
        self
    }

    /// Assigns the conversation to the staff member with this e-mail.
    pub fn assigned(mut self, email: Option<String>) -> Self {
        self.assignee = email.map(|email| Assignee { email });
        self
    }
}

/// Reading what the bridge wrote (queued messages and dead letters), member
/// by member (`json`'s typed readers say why not by serde's derive).
impl Message {
    pub fn read(object: &Object, path: &str) -> Result<Message, JsonError> {
        let at = |key: &str| format!("{path}.{key}");
        let text = |key: &str| object.string(key, &at(key)).map(|s| s.map(String::from));
        let party = |key: &str| required(Party::read(object, key, &at(key))?, &at(key));
        let direction = match object.string("direction", &at("direction"))? {
            Some("inbound") => Direction::Inbound,
            Some("outbound") => Direction::Outbound,
            _ => return Err(JsonError::Shape(format!("{} is neither inbound nor outbound", at("direction")))),
        };
        let assignee = object.object("assignee", &at("assignee"))?;
        let email = assignee.map(|a| a.string("email", &at("assignee.email"))).transpose()?.flatten();
        Ok(Message {
            id: required(text("id")?, &at("id"))?,
            direction,
            from: party("from")?,
            to: party("to")?,
            body: required(text("body")?, &at("body"))?,
            attachments: object.strings("attachments", &at("attachments"))?.unwrap_or_default(),
            thread_id: text("thread_id")?,
            created_at: text("created_at")?,
            assignee: email.map(|email| Assignee { email: email.to_string() }),
        })
    }
}

impl Party {
    /// The party at `key` of `object`: an object of an optional `name` and
    /// `phone`; absent or null is `None`.
    pub fn read(object: &Object, key: &str, path: &str) -> Result<Option<Party>, JsonError> {
        let Some(party) = object.object(key, path)? else { return Ok(None) };
        let text = |member: &str| party.string(member, &format!("{path}.{member}")).map(|s| s.map(String::from));
        Ok(Some(Party { name: text("name")?, phone: text("phone")? }))
    }
}

impl Channel {
    /// The channel `name` names.
    pub fn of(name: &str) -> Option<Channel> {
        [Channel::Voice, Channel::Sms].into_iter().find(|c| c.name() == name)
    }
}

/// A message together with the channel it goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outgoing {
    pub channel: Channel,
    pub message: Message,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message model writes exactly the fields of Re:amaze's documented
    /// "Creating the SMS in Re:amaze" example (less `assignee`, which the
    /// bridge does not set).
    #[test]
    fn message_has_the_documented_shape() {
        let documented = serde_json::json!({
            "id": "sms-message-id",
            "direction": "inbound",
            "to": { "name": "Support", "phone": "+16501234567" },
            "from": { "name": "Customer name", "phone": "+15105559999" },
            "body": "This is the SMS message body",
            "attachments": ["https://www.example.com/image1.png"],
            "thread_id": "sms-conversation-id-123",
            "created_at": "2019-08-06T23:21:15+0000"
        });
        let object = crate::json::parse_object(documented.to_string().as_bytes(), 8).unwrap();
        let message = Message::read(&object, "message").unwrap();
        assert_eq!(serde_json::to_value(&message).unwrap(), documented);
    }

    #[test]
    fn endpoints() {
        assert_eq!(Channel::Voice.endpoint("https://www.reamaze.io/"), "https://www.reamaze.io/incoming/voice");
        assert_eq!(Channel::Sms.endpoint("https://acme.reamaze.io"), "https://acme.reamaze.io/incoming/sms");
    }

    #[test]
    fn split_at_words() {
        let words = "word ".repeat(40); // 200 characters
        let parts = split_sms(&words, 160);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 160));
        assert_eq!(parts[0], "word ".repeat(32).trim_end());
        assert_eq!(parts.join(" "), words.trim_end());
    }

    #[test]
    fn split_exact_boundary_and_long_words() {
        let exact = "a".repeat(160);
        assert_eq!(split_sms(&exact, 160), vec![exact.clone()]);
        // The 161st character is a space: the first part is all 160.
        assert_eq!(split_sms(&format!("{exact} b"), 160), vec![exact.clone(), "b".into()]);
        let url = "x".repeat(350);
        let parts = split_sms(&url, 160);
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![160, 160, 30]);
        // Multi-byte characters count once each.
        let accents = "é".repeat(161);
        assert_eq!(split_sms(&accents, 160).iter().map(|p| p.chars().count()).collect::<Vec<_>>(), vec![160, 1]);
    }

    #[test]
    fn numbers_compare_by_digits() {
        assert!(same_number("+1 (650) 123-4567", "+16501234567"));
        assert!(!same_number("", ""));
        assert!(!same_number("+16501234567", "+16501234568"));
    }
}
