//! Re:amaze's side: the custom-channel message model and its endpoints, and
//! the staff-reply webhook turned into SMS sends.

use serde::{Deserialize, Serialize};

/// The longest SMS part sent, in UTF-16 code units. Voice360 documents "max
/// 160 chars" without saying how it counts; 160 UTF-16 units is within 160
/// however it counts (bytes aside), and so bounds the code points too.
pub const SMS_PART_UNITS: usize = 160;

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
    /// Which party is the customer cannot be told: neither or both are the
    /// channel's number. Nothing is sent, since a guess can text the wrong
    /// person.
    RecipientUnclear(&'static str),
}

impl ReplyError {
    /// The HTTP status the bridge answers Re:amaze with.
    pub fn status(&self) -> u16 {
        match self {
            ReplyError::Missing(_) | ReplyError::Empty => 400,
            ReplyError::RecipientUnclear(_) => 422,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReplyError::Missing(_) => "missing_field",
            ReplyError::Empty => "empty_reply",
            ReplyError::RecipientUnclear(_) => "recipient_unclear",
        }
    }

    /// The JSON field at fault, where one is.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ReplyError::Missing(field) => Some(field),
            _ => None,
        }
    }
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::Missing(field) => write!(f, "required field {field} is missing"),
            ReplyError::Empty => f.write_str("the reply has neither text nor attachments"),
            ReplyError::RecipientUnclear(why) => write!(f, "no SMS was sent: {why}"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Turns a staff reply into the SMS parts to send, in order, from the
/// channel's number to the customer.
///
/// The customer is the party whose phone is not the channel's own number,
/// compared as numbers (`same_number`). Re:amaze's documented example
/// orients the reply like an inbound message, which may be a copy-paste, so
/// neither side is trusted by position. When neither or both parties are the
/// channel, nothing is sent: the error says why.
///
/// The parts are sent from the channel's number as the reply writes it
/// (Re:amaze's own form, usually E.164), so the provider's echo of them
/// matches what Re:amaze knows.
pub fn reply_to_sms(reply: &StaffReply, channel_number: &str) -> Result<Vec<SmsPart>, ReplyError> {
    let (from, to) = (reply_phone(&reply.from), reply_phone(&reply.to));
    if from.is_none() && to.is_none() {
        return Err(ReplyError::Missing("to.phone"));
    }
    let is_channel = |phone: &Option<String>| phone.as_deref().is_some_and(|p| same_number(p, channel_number));
    let (channel, customer) = match (is_channel(&from), is_channel(&to)) {
        (true, false) => (from, to.ok_or(ReplyError::Missing("to.phone"))?),
        (false, true) => (to, from.ok_or(ReplyError::Missing("from.phone"))?),
        (true, true) => {
            return Err(ReplyError::RecipientUnclear("both parties of the reply are SMS_CHANNEL_NUMBER"));
        }
        (false, false) => {
            return Err(ReplyError::RecipientUnclear(
                "neither party of the reply is SMS_CHANNEL_NUMBER, so the customer cannot be told from the channel \
                 (check that the setting is the number behind the Re:amaze SMS channel)",
            ));
        }
    };
    let sender = channel.unwrap_or_else(|| channel_number.to_string());
    let text = reply_text(reply).ok_or(ReplyError::Empty)?;
    Ok(split_sms(&text, SMS_PART_UNITS)
        .into_iter()
        .map(|message| SmsPart { from: sender.clone(), to: customer.clone(), message })
        .collect())
}

fn reply_phone(party: &Option<Party>) -> Option<String> {
    party.as_ref().and_then(|p| p.phone.as_deref()).map(str::trim).filter(|p| !p.is_empty()).map(String::from)
}

/// The body, with attachment URLs on their own lines (the SMS API takes no
/// media); `None` when there is nothing to send.
fn reply_text(reply: &StaffReply) -> Option<String> {
    let mut text = reply.body.as_deref().unwrap_or("").trim_end().to_string();
    for url in reply.attachments.iter().flatten().filter(|u| !u.trim().is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(url.trim());
    }
    Some(text).filter(|t| !t.trim().is_empty())
}

/// Whether two phone numbers are the same number. The rule:
///
/// - only digits count, and an international number is one written with a
///   leading `+` or `00`;
/// - two numbers written alike (both international, or both national) are
///   the same when their digits are: `+1 (650) 123-4567` is `+16501234567`;
/// - a national number is the same as an international one when the
///   international digits are a country code of one to three digits
///   followed by the national digits, less one leading trunk `0`:
///   `555-987-6543` is `+15559876543`, `07700 900123` is `+447700900123`.
///   At least six national digits must match, so a short extension never
///   matches a whole number.
///
/// This needs no numbering-plan tables (libphonenumber's would add hundreds
/// of KB to every wasm build), and it never calls two different numbers of
/// one country the same.
pub fn same_number(a: &str, b: &str) -> bool {
    let (a, b) = (PhoneDigits::of(a), PhoneDigits::of(b));
    if a.digits.is_empty() || b.digits.is_empty() {
        return false;
    }
    if a.international == b.international {
        return a.digits == b.digits;
    }
    let (international, national) = if a.international { (a, b) } else { (b, a) };
    if international.digits == national.digits {
        return true;
    }
    let national = national.digits.strip_prefix('0').unwrap_or(&national.digits);
    let country_code = international.digits.len().saturating_sub(national.len());
    national.len() >= 6 && (1..=3).contains(&country_code) && international.digits.ends_with(national)
}

struct PhoneDigits {
    international: bool,
    digits: String,
}

impl PhoneDigits {
    fn of(number: &str) -> Self {
        let number = number.trim();
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        if number.starts_with('+') {
            PhoneDigits { international: true, digits }
        } else if let Some(rest) = digits.strip_prefix("00") {
            PhoneDigits { international: true, digits: rest.to_string() }
        } else {
            PhoneDigits { international: false, digits }
        }
    }
}

/// Splits `text` into parts of at most `limit` UTF-16 code units, cutting
/// at the last whitespace that fits and dropping that whitespace; a word
/// longer than `limit` (a long URL) is cut where it must be. A grapheme
/// cluster (👍🏽, 🇺🇸, é written as e and a combining accent) is never cut in
/// two: halves of one would re-pair into characters nobody typed. Only a
/// single cluster longer than `limit` itself is cut, between code points.
pub fn split_sms(text: &str, limit: usize) -> Vec<String> {
    assert!(limit > 1, "an SMS part holds at least one character of any kind");
    let text = text.trim();
    let mut clusters = Clusters::of(text);
    let mut parts = Vec::new();
    let mut first = clusters.skip_spaces(0);
    while first < clusters.len() {
        let next = match clusters.part_from(first, limit) {
            Cut::Before(next) => next,
            Cut::Inside(i, at) => clusters.split(i, at),
        };
        let end = clusters.start(next);
        parts.push(text[clusters.start(first)..end].trim_end().to_string());
        first = clusters.skip_spaces(next);
    }
    parts
}

/// Where a part ends.
enum Cut {
    /// Before this cluster (the text's end when past the last).
    Before(usize),
    /// Inside this cluster, longer than a whole part, at this byte.
    Inside(usize, usize),
}

/// A text's grapheme clusters, by their byte spans.
struct Clusters<'a> {
    text: &'a str,
    ends: Vec<usize>,
}

impl<'a> Clusters<'a> {
    fn of(text: &'a str) -> Self {
        Clusters { text, ends: crate::graphemes::ends(text) }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn start(&self, i: usize) -> usize {
        match i {
            0 => 0,
            i => self.ends[i - 1],
        }
    }

    fn get(&self, i: usize) -> &'a str {
        &self.text[self.start(i)..self.ends[i]]
    }

    fn is_space(&self, i: usize) -> bool {
        self.get(i).chars().all(char::is_whitespace)
    }

    /// The first cluster from `i` on that is not whitespace.
    fn skip_spaces(&self, mut i: usize) -> usize {
        while i < self.len() && self.is_space(i) {
            i += 1;
        }
        i
    }

    /// Where the part that starts at cluster `first` ends: at the last
    /// whitespace that fits, else before the first cluster that does not.
    fn part_from(&self, first: usize, limit: usize) -> Cut {
        let mut units = 0;
        let mut last_space = None;
        for i in first..self.len() {
            units += self.get(i).encode_utf16().count();
            if units <= limit {
                if self.is_space(i) && i > first {
                    last_space = Some(i);
                }
                continue;
            }
            return match last_space {
                _ if self.is_space(i) => Cut::Before(i),
                Some(space) => Cut::Before(space),
                None if i == first => Cut::Inside(i, self.start(i) + longest_prefix_in_units(self.get(i), limit)),
                None => Cut::Before(i),
            };
        }
        Cut::Before(self.len())
    }

    /// Splits cluster `i` in two at byte `at`: the second half is cluster
    /// `i + 1`, returned.
    fn split(&mut self, i: usize, at: usize) -> usize {
        self.ends.insert(i, at);
        i + 1
    }
}

/// The longest prefix of `text` (by whole code points) within `limit`
/// UTF-16 units; with `limit` over 1, at least one code point.
fn longest_prefix_in_units(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return at;
        }
    }
    text.len()
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
