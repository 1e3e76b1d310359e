//! Who a party of a call or an SMS is, decided here once for every provider,
//! every event and every shell.
//!
//! Re:amaze knows a customer by the phone of a message's customer side, and
//! puts a message in a conversation by its `thread_id`. A wrong identity
//! therefore reaches people: strangers merged into one customer, a reply
//! texted to the wrong person. So every party a provider names is one of:
//!
//! - a **phone number**: digits (at most 15, E.164's limit) with an optional
//!   leading `+` and the separators people write, kept as written; short
//!   codes (3 to 8 digits) are numbers too, since they can be answered;
//! - **withheld**: an empty or missing number, or one of the markers
//!   carriers put in its place (`anonymous`, `restricted`, `+0`, a SIP URI
//!   of `anonymous`…, in any case). It is posted, never refused, and given an
//!   identity of its own per conversation (`withheld_identity`), so two
//!   withheld callers never share a customer;
//! - an **SMS sender name** (alphanumeric sender ID, `ACME`): up to 11
//!   characters with at least one letter. Its messages are posted in a
//!   conversation of that sender, named by it. It cannot be replied to;
//! - **junk**: anything else (3,000 digits, `+1555CALLME`, `<script>`), which
//!   no network routes: the webhook is refused with 400 naming the field,
//!   before any store is consulted.

use sha2::{Digest, Sha256};

/// A party, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A phone number as the provider wrote it (trimmed).
    Number(String),
    /// The number was withheld, or not given.
    Withheld,
    /// An alphanumeric SMS sender ID, as sent (trimmed).
    Sender(String),
}

/// What a party field must hold, for the error that refuses junk.
pub const EXPECTED: &str =
    "a phone number (at most 15 digits), a withheld-number marker, or an SMS sender name (at most 11 characters)";

/// The longest phone number any network routes (E.164), in digits.
pub const MAX_DIGITS: usize = 15;
/// The longest alphanumeric sender ID (GSM 03.38), in characters.
pub const MAX_SENDER_CHARS: usize = 11;

/// How a withheld party is stood in for while a message is built: the
/// message's last step (`providers::settle`) replaces it with an identity of
/// the message's own conversation (`withheld_identity`).
pub const WITHHELD: &str = "withheld";

/// The prefix of a withheld party's identity as posted.
const WITHHELD_PREFIX: &str = "withheld:";

/// How a withheld party is named in Re:amaze and in sentences.
pub const WITHHELD_NAME: &str = "Withheld number";
pub const WITHHELD_LABEL: &str = "a withheld number";

/// The longest of `MARKERS`, in bytes.
const LONGEST_MARKER: usize = 14;

/// The words carriers and CPaaS put where a withheld number would be.
const MARKERS: [&str; 10] = [
    "anonymous",
    "restricted",
    "private",
    "unknown",
    "unavailable",
    "withheld",
    "private number",
    "unknown number",
    "no caller id",
    "blocked",
];

/// "ANONYMOUS" typed on a keypad (Twilio), with or without a `+`.
const KEYPAD_MARKER: &str = "266696687";

/// The class of a party's text, without its text: what `Who::read` and
/// a check that builds nothing (`class`) share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Number,
    Withheld,
    Sender,
}

/// Classifies a party field's text (trimmed); `Err` is junk, with what was
/// expected. One pass over a number's bytes: it runs for every party of
/// every event.
pub fn class(text: &str) -> Result<Class, &'static str> {
    let rest = text.strip_prefix('+').unwrap_or(text);
    let (mut digits, mut zeros, mut number) = (0, true, !text.is_empty());
    for b in rest.bytes() {
        match b {
            b'0' => digits += 1,
            b'1'..=b'9' => (digits, zeros) = (digits + 1, false),
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => {
                number = false;
                break;
            }
        }
    }
    // A lone `+` is a number with nothing after it; `()` is no number.
    if number && (digits > 0 || text == "+") {
        // `00` is the international prefix some write in place of `+`.
        let limit = MAX_DIGITS + if rest.starts_with("00") { 2 } else { 0 };
        return match digits {
            // All zeros (`+0`, `000`, a lone `+`) is some systems' "no number".
            _ if zeros || rest == KEYPAD_MARKER => Ok(Class::Withheld),
            n if n > limit => Err(EXPECTED),
            _ => Ok(Class::Number),
        };
    }
    if withheld_word(text) {
        return Ok(Class::Withheld);
    }
    if is_sender(text) {
        return Ok(Class::Sender);
    }
    Err(EXPECTED)
}

impl Who {
    /// Classifies a party field's text; `None` (missing) is withheld.
    /// `Err` is junk, with what was expected.
    pub fn read(text: Option<&str>) -> Result<Who, &'static str> {
        Who::of(text.map(str::trim).unwrap_or("").to_string())
    }

    /// `read` of a text already trimmed, kept rather than copied.
    pub fn of(text: String) -> Result<Who, &'static str> {
        Ok(match class(&text)? {
            Class::Number => Who::Number(text),
            Class::Withheld => Who::Withheld,
            Class::Sender => Who::Sender(text),
        })
    }

    /// The phone number, for the contact book and for joining calls.
    pub fn number(&self) -> Option<&str> {
        match self {
            Who::Number(number) => Some(number),
            _ => None,
        }
    }

    /// What goes in a message's `phone` while it is built: the number, the
    /// sender's name, or the withheld stand-in.
    pub fn phone(&self) -> String {
        match self {
            Who::Number(text) | Who::Sender(text) => text.clone(),
            Who::Withheld => WITHHELD.to_string(),
        }
    }

    /// `phone`, without a copy.
    pub fn into_phone(self) -> String {
        match self {
            Who::Number(text) | Who::Sender(text) => text,
            Who::Withheld => WITHHELD.to_string(),
        }
    }

    /// The `name` a message gives this party: `name` where the provider or
    /// the contact book gives one; a sender is named by itself.
    pub fn name(&self, name: Option<String>) -> Option<String> {
        let name = name.filter(|n| !n.trim().is_empty() && !is_withheld(n.trim()));
        match self {
            Who::Sender(sender) => name.or_else(|| Some(sender.clone())),
            _ => name,
        }
    }
}

/// Whether `text` says the number was withheld (empty included), or is
/// the identity a withheld party was posted with.
pub fn is_withheld(text: &str) -> bool {
    class(text) == Ok(Class::Withheld)
}

/// The words that say the number was withheld: none, a marker, the
/// identity a withheld party was posted with, a SIP URI of anonymous.
fn withheld_word(text: &str) -> bool {
    if text.is_empty() || text.starts_with(WITHHELD_PREFIX) {
        return true;
    }
    if text.len() <= LONGEST_MARKER && MARKERS.iter().any(|m| m.eq_ignore_ascii_case(text)) {
        return true;
    }
    // RFC 3323's `sip:anonymous@anonymous.invalid`, and its kin.
    ["sip:anonymous@", "sips:anonymous@", "tel:anonymous"]
        .iter()
        .any(|uri| text.get(..uri.len()).is_some_and(|head| head.eq_ignore_ascii_case(uri)))
}

/// An alphanumeric sender ID: 1 to 11 characters, at least one a letter,
/// of letters, digits, spaces and the few marks senders use.
fn is_sender(text: &str) -> bool {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, ' ' | '-' | '.' | '_' | '&' | '\'' | '!')
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
    };
    let letter = |c: char| c.is_ascii_alphabetic() || !c.is_ascii();
    let count = text.chars().count();
    (1..=MAX_SENDER_CHARS).contains(&count) && text.chars().all(allowed) && text.chars().any(letter)
}

/// The identity a withheld party is posted with in the conversation
/// `thread_id`: its own, so two withheld callers never share a customer,
/// and the same for every message of that conversation.
pub fn withheld_identity(thread_id: &str) -> String {
    let digest = Sha256::digest(thread_id.as_bytes());
    format!("{WITHHELD_PREFIX}{}", hex::encode(&digest[..8]))
}

/// How a party is named in a sentence: its name, else its number; a
/// withheld one as such.
pub fn label(name: Option<&str>, phone: Option<&str>) -> String {
    match (name, phone) {
        (Some(name), _) => name.to_string(),
        (None, Some(phone)) if is_withheld(phone) => WITHHELD_LABEL.to_string(),
        (None, Some(phone)) => phone.to_string(),
        (None, None) => WITHHELD_LABEL.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class() {
        for number in [
            "+15551234567",
            "+1 (555) 123-4567",
            "555.123.4567",
            "1001",
            "12345",
            "+999999999999999",
            "00999999999999999",
        ] {
            assert_eq!(Who::read(Some(number)), Ok(Who::Number(number.into())), "{number}");
        }
        for withheld in [
            "",
            " ",
            "anonymous",
            "Anonymous",
            "RESTRICTED",
            "Private",
            "unknown",
            "Unavailable",
            "withheld",
            "+0",
            "0",
            "000",
            "+",
            "+266696687",
            "sip:anonymous@anonymous.invalid",
            "withheld:0011aabb",
        ] {
            assert_eq!(Who::read(Some(withheld)), Ok(Who::Withheld), "{withheld:?}");
        }
        assert_eq!(Who::read(None), Ok(Who::Withheld));
        for sender in ["ACME", "Bank 24", "Amazon.com", "Müller"] {
            assert_eq!(Who::read(Some(sender)), Ok(Who::Sender(sender.into())), "{sender}");
        }
        for junk in [
            "+1555CALLME",
            "1-800-FLOWERS",
            "<script>",
            "++1555",
            "sip:1001@pbx",
            "5551234567x12",
            "+1234567890123456",
            "ACME Corporation",
            "()",
        ] {
            assert_eq!(Who::read(Some(junk)), Err(EXPECTED), "{junk}");
        }
        assert_eq!(Who::read(Some(&"1".repeat(3000))), Err(EXPECTED));
    }

    #[test]
    fn the_longest_marker_is_counted() {
        assert_eq!(MARKERS.iter().map(|m| m.len()).max(), Some(LONGEST_MARKER));
    }

    #[test]
    fn withheld_identities_are_per_conversation() {
        assert_ne!(withheld_identity("provider:1"), withheld_identity("provider:2"));
        assert_eq!(withheld_identity("other:x"), withheld_identity("other:x"));
        assert!(is_withheld(&withheld_identity("other:x")));
    }
}
