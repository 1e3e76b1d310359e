//! Re:amaze's side: the custom-channel message model and its endpoints, and
//! the staff-reply webhook turned into SMS sends.

use serde::{Deserialize, Serialize};

/// Re:amaze's largest SMS part the Voice360 API accepts.
pub const SMS_PART_CHARS: usize = 160;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Message {
    /// Builds a message oriented the way Re:amaze wants it: the customer is
    /// `from` on inbound messages and `to` on outbound ones.
    pub fn between(id: String, direction: Direction, customer: Party, channel: Party, body: String) -> Self {
        let (from, to) = match direction {
            Direction::Inbound => (customer, channel),
            Direction::Outbound => (channel, customer),
        };
        Message { id, direction, from, to, body, attachments: Vec::new(), thread_id: None, created_at: None }
    }

    pub fn thread(mut self, thread_id: Option<String>) -> Self {
        self.thread_id = thread_id;
        self
    }

    pub fn at(mut self, created_at: Option<String>) -> Self {
        self.created_at = created_at;
        self
    }

    /// The exact bytes to post (and sign): what `serde_json::to_vec` makes
    /// of this struct (a test holds them equal), written out directly. In
    /// the size-optimized wasm builds serde_json escapes a string through
    /// a call per byte; a message body is most of what every request signs.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.id.len() + self.body.len());
        out.extend_from_slice(b"{\"id\":");
        push_json_string(&mut out, &self.id);
        out.extend_from_slice(match self.direction {
            Direction::Inbound => b",\"direction\":\"inbound\"",
            Direction::Outbound => b",\"direction\":\"outbound\"",
        });
        out.extend_from_slice(b",\"from\":");
        self.from.push_json(&mut out);
        out.extend_from_slice(b",\"to\":");
        self.to.push_json(&mut out);
        out.extend_from_slice(b",\"body\":");
        push_json_string(&mut out, &self.body);
        if !self.attachments.is_empty() {
            out.extend_from_slice(b",\"attachments\":[");
            for (i, url) in self.attachments.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_string(&mut out, url);
            }
            out.push(b']');
        }
        for (key, value) in [(&b",\"thread_id\":"[..], &self.thread_id), (&b",\"created_at\":"[..], &self.created_at)] {
            if let Some(value) = value {
                out.extend_from_slice(key);
                push_json_string(&mut out, value);
            }
        }
        out.push(b'}');
        out
    }
}

impl Party {
    fn push_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(name) = &self.name {
            out.extend_from_slice(b"\"name\":");
            push_json_string(out, name);
        }
        if let Some(phone) = &self.phone {
            if self.name.is_some() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"phone\":");
            push_json_string(out, phone);
        }
        out.push(b'}');
    }
}

/// `text` as a JSON string, escaped as serde_json (and JSON.stringify)
/// escape it: `"` and `\\`, and control characters, as their short forms
/// or `\u00xx`. Runs of other bytes are copied whole.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping, as most do not.
        if let Some(word) = bytes.get(i..i + 8) {
            if !any_needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
                i += 8;
                continue;
            }
        }
        let byte = bytes[i];
        i += 1;
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            _ => 0,
        };
        out.extend_from_slice(&bytes[run..i - 1]);
        run = i;
        if short == 0 {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Whether any of the eight bytes in `word` is a control character, `"` or
/// `\\`: the classic test for a byte below a bound (`(x - n) & !x & 0x80`
/// in each lane) is exact for the question "any?".
fn any_needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |x: u64, bound: u8| x.wrapping_sub(ONES * u64::from(bound)) & !x & HIGH;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    control | quote | backslash != 0
}

/// A message together with the channel it goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outgoing {
    pub channel: Channel,
    pub message: Message,
}

/// What Re:amaze posts to the SMS channel's webhook when an agent replies.
#[derive(Clone, Debug, Deserialize)]
pub struct StaffReply {
    pub to: Option<Party>,
    pub from: Option<Party>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub attachments: Option<Vec<String>>,
    #[serde(default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One SMS to send through the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmsPart {
    pub from: String,
    pub to: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// A field the reply needs is absent (named as in the JSON).
    Missing(&'static str),
    /// Neither body text nor attachments: nothing to send.
    Empty,
}

/// Turns a staff reply into the SMS parts to send, in order, from
/// `channel_number` to the customer.
///
/// The customer is the party whose phone is not the channel's own number
/// (Re:amaze's documented example orients the reply like an inbound message,
/// which may be a copy-paste, so neither side is trusted blindly); when
/// neither or both match, `to` is used.
pub fn reply_to_sms(reply: &StaffReply, channel_number: &str) -> Result<Vec<SmsPart>, ReplyError> {
    let phone_of = |p: &Option<Party>| p.as_ref().and_then(|p| p.phone.clone()).filter(|p| !p.trim().is_empty());
    let to = phone_of(&reply.to);
    let from = phone_of(&reply.from);
    let is_channel = |phone: &Option<String>| phone.as_deref().is_some_and(|p| same_number(p, channel_number));
    let recipient = match (is_channel(&to), is_channel(&from)) {
        (true, false) => from,
        _ => to.or(from),
    }
    .ok_or(ReplyError::Missing("to.phone"))?;

    let mut text = reply.body.as_deref().unwrap_or("").trim_end().to_string();
    for url in reply.attachments.iter().flatten().filter(|u| !u.trim().is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(url.trim());
    }
    if text.trim().is_empty() {
        return Err(ReplyError::Empty);
    }
    Ok(split_sms(&text, SMS_PART_CHARS)
        .into_iter()
        .map(|message| SmsPart { from: channel_number.to_string(), to: recipient.clone(), message })
        .collect())
}

/// Two phone numbers are the same when their digits are: `+1 (650) 123-4567`
/// and `+16501234567` are one number.
pub fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(a), digits(b));
    !a.is_empty() && a == b
}

/// Splits `text` into parts of at most `limit` characters, cutting at the
/// last whitespace that fits and dropping that whitespace; a word longer than
/// `limit` (a long URL) is cut where it must be. Characters are Unicode
/// scalar values, as the provider counts them.
pub fn split_sms(text: &str, limit: usize) -> Vec<String> {
    assert!(limit > 0, "an SMS part holds at least one character");
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        // hard_end: the byte offset of the first character that does not fit.
        let Some((hard_end, first_over)) = rest.char_indices().nth(limit) else {
            parts.push(rest.to_string());
            break;
        };
        // Cut at the last whitespace that keeps the part within the limit;
        // the character just past the limit counts, since it is dropped.
        let cut = if first_over.is_whitespace() {
            Some(hard_end)
        } else {
            rest[..hard_end].rfind(char::is_whitespace).filter(|&i| i > 0)
        };
        let (part, next) = match cut {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (&rest[..hard_end], &rest[hard_end..]),
        };
        parts.push(part.trim_end().to_string());
        rest = next.trim_start();
    }
    parts
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
        let message: Message = serde_json::from_value(documented.clone()).unwrap();
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
