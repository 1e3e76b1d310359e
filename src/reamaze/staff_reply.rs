//! Re:amaze's staff reply, turned into the SMS parts to send: to the
//! customer (never the channel itself), from the channel's number, in parts
//! that never cut a character in two.

use serde::Serialize;

use super::{Party, SMS_PART_UNITS};
use crate::identity::Who;
use crate::json::{self, JsonError};

/// What Re:amaze posts to the SMS channel's webhook when an agent replies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaffReply {
    pub to: Option<Party>,
    pub from: Option<Party>,
    pub body: Option<String>,
    pub attachments: Option<Vec<String>>,
    pub thread_id: Option<String>,
    pub created_at: Option<String>,
}

impl StaffReply {
    /// Reads a reply's JSON: each member absent, null, or of its type;
    /// members the bridge does not use are let be.
    pub fn parse(bytes: &[u8], max_depth: u32) -> Result<StaffReply, JsonError> {
        let reply = json::parse_object(bytes, max_depth)?;
        let text = |key: &str| reply.string(key, key).map(|s| s.map(String::from));
        Ok(StaffReply {
            to: Party::read(&reply, "to", "to")?,
            from: Party::read(&reply, "from", "from")?,
            body: text("body")?,
            attachments: reply.strings("attachments", "attachments")?,
            thread_id: text("thread_id")?,
            created_at: text("created_at")?,
        })
    }
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
    /// The customer's number was withheld: there is nobody to text.
    CustomerWithheld,
    /// The customer is an SMS sender name (an alphanumeric sender ID),
    /// which cannot receive a text, or no number at all.
    CustomerNotTextable(String),
}

impl ReplyError {
    /// The HTTP status the bridge answers Re:amaze with.
    pub fn status(&self) -> u16 {
        match self {
            ReplyError::Missing(_) | ReplyError::Empty => 400,
            ReplyError::RecipientUnclear(_) | ReplyError::CustomerWithheld | ReplyError::CustomerNotTextable(_) => 422,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReplyError::Missing(_) => "missing_field",
            ReplyError::Empty => "empty_reply",
            ReplyError::RecipientUnclear(_) => "recipient_unclear",
            ReplyError::CustomerWithheld => "customer_withheld",
            ReplyError::CustomerNotTextable(_) => "customer_not_textable",
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
            ReplyError::CustomerWithheld => {
                f.write_str("no SMS was sent: the customer withheld their number, so there is no number to text")
            }
            ReplyError::CustomerNotTextable(who) => write!(
                f,
                "no SMS was sent: the customer \"{who}\" is not a phone number (an SMS sender name cannot receive a text)"
            ),
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
    let is_channel = |phone: &Option<String>| {
        phone
            .as_deref()
            .is_some_and(|p| matches!(Who::read(Some(p)), Ok(Who::Number(_))) && same_number(p, channel_number))
    };
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
    match Who::read(Some(&customer)) {
        Ok(Who::Number(_)) => {}
        Ok(Who::Withheld) => return Err(ReplyError::CustomerWithheld),
        Ok(Who::Sender(_)) | Err(_) => return Err(ReplyError::CustomerNotTextable(customer)),
    }
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
/// This needs no numbering-plan tables (libphonenumber's would outweigh the
/// rest of every wasm build), and it never calls two different numbers of
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

    #[test]
    fn a_reply_is_read_member_by_member() {
        let body = br#"{"body":"Hi","to":{"name":"Ann","phone":"+15550001111"},"from":null,"extra":[1]}"#;
        let reply = StaffReply::parse(body, 8).unwrap();
        assert_eq!(reply.body.as_deref(), Some("Hi"));
        assert_eq!(reply.to, Some(Party { name: Some("Ann".into()), phone: Some("+15550001111".into()) }));
        assert_eq!((reply.from, reply.attachments, reply.thread_id), (None, None, None));
    }

    #[test]
    fn a_member_of_the_wrong_kind_is_refused_by_its_path() {
        let refused = StaffReply::parse(br#"{"body":"Hi","to":{"phone":15550001111}}"#, 8).unwrap_err();
        assert_eq!(refused.code(), "invalid_json");
        assert!(refused.to_string().contains("to.phone is a number, where a string was expected"), "{refused}");
        assert!(StaffReply::parse(br#"{"attachments":"a.png"}"#, 8).is_err());
        assert!(StaffReply::parse(b"[]", 8).is_err());
    }
}
