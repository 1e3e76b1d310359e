//! The providers' events, parsed leniently (unknown fields are fine, numbers
//! may come as strings) but strictly about what a message needs, naming
//! what is missing; and their translation into Re:amaze messages.
//!
//! Translation is two steps so that stores may be async: `Event::reads`
//! names the store keys the translation consults (remembered call parties,
//! echo markers), then `Event::translate` runs on their values.

pub mod bird;
mod clean;
mod settle;
pub mod voice360;
pub mod volubile;

use std::fmt;
use std::str::FromStr;

use crate::identity::Who;
use crate::json::{self, JsonError, Node, Object};
use crate::reamaze::Outgoing;
use crate::settings::{names, Secret, Settings};
use crate::signature::Scheme;
use crate::store::Entry;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    Voice360,
    Bird,
    Volubile,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Voice360, Provider::Bird, Provider::Volubile];

    pub fn name(self) -> &'static str {
        match self {
            Provider::Voice360 => "voice360",
            Provider::Bird => "bird",
            Provider::Volubile => "volubile",
        }
    }

    /// The provider's name as people write it.
    pub fn title(self) -> &'static str {
        match self {
            Provider::Voice360 => "Voice360",
            Provider::Bird => "Bird",
            Provider::Volubile => "Volubile",
        }
    }
}

impl Provider {
    /// How this provider's webhooks are signed: its scheme, the secrets to
    /// try, and the setting that holds them (named when none is set).
    pub fn auth(self, settings: &Settings) -> (Scheme, &[Secret], &'static str) {
        match self {
            Provider::Voice360 => {
                (Scheme::Voice360, &settings.voice360_webhook_secrets, names::VOICE360_WEBHOOK_SECRETS)
            }
            Provider::Bird => (Scheme::Bird, &settings.bird_signing_keys, names::BIRD_SIGNING_KEYS),
            Provider::Volubile => {
                (Scheme::Volubile, &settings.volubile_webhook_secrets, names::VOLUBILE_WEBHOOK_SECRETS)
            }
        }
    }

    /// The settings this provider's webhooks depend on: one that cannot be
    /// used turns them off.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            Provider::Voice360 => &[names::VOICE360_WEBHOOK_SECRETS],
            Provider::Bird => &[names::BIRD_SIGNING_KEYS, names::BIRD_MAX_AGE_SECONDS, names::BIRD_MAX_FUTURE_SECONDS],
            Provider::Volubile => &[names::VOLUBILE_WEBHOOK_SECRETS],
        }
    }

    /// Whether this provider's webhooks can be verified.
    pub fn ready(self, settings: &Settings) -> bool {
        !self.auth(settings).1.is_empty() && settings.blocking(self.settings()).is_none()
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown provider {s:?}: expected voice360, bird or volubile"))
    }
}

/// Why a payload cannot be translated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// Not JSON at all, not a JSON object, or JSON the bridge refuses
    /// (too deep, a duplicate key).
    NotJson(JsonError),
    /// A field the message needs is absent, empty or of the wrong type.
    Missing(String),
    /// A field is there but unusable; says what was expected.
    Invalid { field: String, expected: &'static str },
}

impl TranslateError {
    pub fn code(&self) -> &'static str {
        match self {
            TranslateError::NotJson(e) => e.code(),
            TranslateError::Missing(_) => "missing_field",
            TranslateError::Invalid { .. } => "invalid_field",
        }
    }

    /// The field concerned, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            TranslateError::Missing(field) | TranslateError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::NotJson(e) => e.fmt(f),
            TranslateError::Missing(field) => write!(f, "required field {field} is missing, empty or not text"),
            TranslateError::Invalid { field, expected } => write!(f, "field {field} is invalid: expected {expected}"),
        }
    }
}

impl std::error::Error for TranslateError {}

/// What an event becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Messages to post, in order.
    Messages(Vec<Outgoing>),
    /// Nothing for an agent; acknowledged, with the reason.
    Ignored(String),
    /// Kept until it can be placed (a transcription of a call not seen
    /// yet): acknowledged with 202, with the reason.
    Held(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub outcome: Outcome,
    /// Store entries to write whatever happens to the messages (the parties
    /// of a call, for later events of the same call).
    pub remember: Vec<Entry>,
}

impl Translation {
    fn messages(messages: Vec<Outgoing>) -> Self {
        Translation { outcome: Outcome::Messages(messages), remember: Vec::new() }
    }

    fn ignored(reason: impl Into<String>) -> Self {
        Translation { outcome: Outcome::Ignored(reason.into()), remember: Vec::new() }
    }

    fn held(reason: impl Into<String>) -> Self {
        Translation { outcome: Outcome::Held(reason.into()), remember: Vec::new() }
    }

    fn remembering(mut self, entry: Option<Entry>) -> Self {
        self.remember.extend(entry);
        self
    }
}

/// A parsed provider event.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Voice360(voice360::Event),
    Bird(bird::Event),
    Volubile(volubile::Call),
}

/// Read access to the store values an event asked for.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Event {
    /// Parses a provider's payload; `max_json_depth` is the deployment's
    /// `MAX_JSON_DEPTH`.
    pub fn parse(provider: Provider, body: &[u8], max_json_depth: u32) -> Result<Event, TranslateError> {
        let object = json::parse_object(body, max_json_depth).map_err(TranslateError::NotJson)?;
        Ok(match provider {
            Provider::Voice360 => Event::Voice360(voice360::Event::parse(object, body)?),
            Provider::Bird => Event::Bird(bird::Event::parse(object)?),
            Provider::Volubile => Event::Volubile(volubile::Call::parse(object)?),
        })
    }

    pub fn provider(&self) -> Provider {
        match self {
            Event::Voice360(_) => Provider::Voice360,
            Event::Bird(_) => Provider::Bird,
            Event::Volubile(_) => Provider::Volubile,
        }
    }

    /// The event's name for responses and logs (Voice360's `event_name`,
    /// Bird's event and status, Volubile's status).
    pub fn name(&self) -> String {
        match self {
            Event::Voice360(e) => e.name.clone(),
            Event::Bird(e) => format!("{}:{}", e.event, e.status),
            Event::Volubile(c) => c.status.clone(),
        }
    }

    /// The store keys `translate` will consult.
    pub fn reads(&self, settings: &Settings) -> Vec<String> {
        let mut reads = match self {
            Event::Voice360(e) => e.reads(),
            Event::Bird(_) | Event::Volubile(_) => Vec::new(),
        };
        if settings.voice_thread_minutes > 0 {
            reads.extend(settle::reads(self.provider().name(), self.voice_call()));
        }
        reads
    }

    /// The voice call the event is of, for joining a caller's calls
    /// (`VOICE_THREAD_MINUTES`); `None` for SMS and contacts.
    fn voice_call(&self) -> Option<settle::Call> {
        match self {
            Event::Voice360(e) => e.voice_call(),
            Event::Bird(e) => Some(e.voice_call()),
            Event::Volubile(c) => Some(c.voice_call()),
        }
    }

    pub fn translate(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        let mut translation = match self {
            Event::Voice360(e) => e.translate(settings, lookup)?,
            Event::Bird(e) => e.translate(settings),
            Event::Volubile(c) => c.translate(settings),
        };
        if let Outcome::Messages(messages) = &mut translation.outcome {
            messages.iter_mut().for_each(|outgoing| clean::clean(&mut outgoing.message, settings));
            settle::settle(self.provider().name(), messages, &mut translation.remember, settings, lookup);
        }
        Ok(translation)
    }
}

/// A JSON object seen through lenient, typed accessors that know their own
/// path, so a missing field is named as `metadata.caller_id_number`.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    object: &'a Object,
    path: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Object, path: &'a str) -> Self {
        Fields { object, path }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn value(&self, key: &str) -> Option<&'a Node> {
        self.object.get(key)
    }

    /// Text, trimmed and non-empty; numbers count as text (ids and phone
    /// numbers are sometimes sent as numbers).
    pub fn text(&self, key: &str) -> Option<String> {
        value_text(self.object.get(key)?)
    }

    /// The first of `keys` that holds text (for fields spelt two ways).
    pub fn text_of(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.text(k))
    }

    /// Text that must be there, trimmed, borrowed rather than copied (for
    /// texts of megabytes).
    pub fn need_str(&self, key: &str) -> Result<&'a str, TranslateError> {
        let text = self.object.get(key).and_then(Node::as_str).map(str::trim).filter(|text| !text.is_empty());
        text.ok_or_else(|| TranslateError::Missing(self.field_path(key)))
    }

    pub fn need_text(&self, key: &str) -> Result<String, TranslateError> {
        self.text(key).ok_or_else(|| TranslateError::Missing(self.field_path(key)))
    }

    /// A number, or a string holding one. Absent or null is `None`; anything
    /// else is an error naming the field.
    pub fn number(&self, key: &str) -> Result<Option<f64>, TranslateError> {
        let invalid = || TranslateError::Invalid { field: self.field_path(key), expected: "a number" };
        match self.object.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Number(n)) => n.as_f64().map(Some).ok_or_else(invalid),
            Some(Node::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Node::String(s)) => number_in_text(s).map(Some).ok_or_else(invalid),
            Some(_) => Err(invalid()),
        }
    }

    /// The party at the first of `keys` that holds text (of a list, its
    /// first), classified (`identity::Who`); none is withheld. Junk is
    /// refused, naming the field.
    pub fn who_of(&self, keys: &[&str]) -> Result<Who, TranslateError> {
        let first = |key: &str| match self.object.get(key)? {
            Node::Array(items) => items.iter().find_map(value_text),
            other => value_text(other),
        };
        match keys.iter().find_map(|&k| Some((k, first(k)?))) {
            Some((key, text)) => self.classify(key, text),
            None => Ok(Who::Withheld),
        }
    }

    pub fn who(&self, key: &str) -> Result<Who, TranslateError> {
        self.who_of(&[key])
    }

    /// Each party of a list (Voice360's `to_number`), or of one.
    pub fn whos(&self, key: &str) -> Result<Vec<Who>, TranslateError> {
        self.texts(key).into_iter().map(|text| self.classify(key, text)).collect()
    }

    /// The channel's own number at the first of `keys`: `None` where it is
    /// absent or withheld (the deployment's setting stands in).
    pub fn channel_phone(&self, keys: &[&str]) -> Result<Option<String>, TranslateError> {
        Ok(match self.who_of(keys)? {
            Who::Withheld => None,
            who => Some(who.into_phone()),
        })
    }

    /// Refuses junk at `key` (text or a list of texts), building nothing.
    pub(crate) fn check_party(&self, key: &str) -> Result<(), TranslateError> {
        let junk = |expected| TranslateError::Invalid { field: self.field_path(key), expected };
        let check = |node: &Node| match node {
            Node::String(text) => crate::identity::class(text.trim()).map(drop).map_err(junk),
            _ => value_text(node).map_or(Ok(()), |text| crate::identity::class(&text).map(drop).map_err(junk)),
        };
        match self.object.get(key) {
            Some(Node::Array(items)) => items.iter().try_for_each(check),
            Some(node) => check(node),
            None => Ok(()),
        }
    }

    /// `text` (trimmed, as `value_text` gives it) classified; junk refused.
    pub(crate) fn classify(&self, key: &str, text: String) -> Result<Who, TranslateError> {
        Who::of(text).map_err(|expected| TranslateError::Invalid { field: self.field_path(key), expected })
    }

    /// A length of time in seconds, at most a month: anything longer is no
    /// call's length, and would read as nonsense in a message. A negative
    /// number (some systems' "unknown") is as good as absent.
    pub fn seconds(&self, key: &str) -> Result<Option<f64>, TranslateError> {
        const MONTH: f64 = 31.0 * 86_400.0;
        match self.number(key)? {
            Some(s) if s > MONTH => {
                Err(TranslateError::Invalid { field: self.field_path(key), expected: "seconds, at most a month" })
            }
            Some(s) if s < 0.0 => Ok(None),
            seconds => Ok(seconds),
        }
    }

    /// Text or a list of texts, as a list.
    pub fn texts(&self, key: &str) -> Vec<String> {
        match self.object.get(key) {
            Some(Node::Array(items)) => items.iter().filter_map(value_text).collect(),
            Some(other) => value_text(other).into_iter().collect(),
            None => Vec::new(),
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.object.get(key)? {
            Node::Bool(b) => Some(*b),
            Node::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn object(&self, key: &str) -> Option<&'a Object> {
        self.object.get(key)?.as_object()
    }
}

/// A number sent as text (`"1704067200"`, `" 35.5 "`, `"+12"`), read as
/// serde_json reads the payload's own numbers: JSON's number syntax, after
/// an optional `+`. Not with `str::parse::<f64>`, whose exact reader brings
/// a table of powers of five into the wasm builds (its weight against the
/// npm package's budget is in BENCHMARKS.md); it would also take
/// `.5`, `5.` and `007`, which no JSON writer makes.
fn number_in_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let json = match text.strip_prefix('+') {
        Some(signed) if signed.starts_with(['+', '-']) => return None,
        Some(unsigned) => unsigned,
        None => text,
    };
    json::parse(json.as_bytes(), 1).ok()?.as_f64().filter(|n| n.is_finite())
}

pub(crate) fn value_text(value: &Node) -> Option<String> {
    match value {
        Node::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Node::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Cuts `text` to at most `limit` characters, at a line or word boundary
/// where one is near, and says so at the end: an agent must never mistake a
/// shortened transcript for a whole one.
pub(crate) fn shorten(text: &mut String, limit: usize) {
    // No text has more characters than bytes: most need no count.
    if text.len() <= limit {
        return;
    }
    let total = text.chars().count();
    if total <= limit {
        return;
    }
    let note_for = |shown: usize| format!("\n\n[Shortened by the bridge: {shown} of {total} characters shown.]");
    // The note's length depends on the digits of `shown`, at most those of `total`.
    let room = limit.saturating_sub(note_for(total).chars().count());
    let hard = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let soft = text[..hard].rfind(['\n', ' ']).filter(|&i| i + 200 >= hard).unwrap_or(hard);
    text.truncate(soft);
    let kept = text.trim_end().len();
    text.truncate(kept);
    let shown = text.chars().count();
    text.push_str(&note_for(shown));
}

/// How a party is named in a sentence: its name, else its number; a
/// withheld one as such.
pub(crate) fn label(party: &crate::reamaze::Party) -> String {
    crate::identity::label(party.name.as_deref(), party.phone.as_deref())
}

/// Appends a line (none when empty).
pub(crate) fn push_line(body: &mut String, line: impl AsRef<str>) {
    let line = line.as_ref();
    if line.is_empty() {
        return;
    }
    if !body.is_empty() {
        body.push('\n');
    }
    body.push_str(line);
}

/// Translates one payload against a synchronous store: parse, the reads
/// the event asks for, the translation, and the entries it remembers.
/// (The bridge does the same through `Exchange` steps, plus deduplication
/// and delivery.)
pub fn translate_payload(
    provider: Provider,
    body: &[u8],
    settings: &Settings,
    store: &mut dyn crate::store::Store,
    now: i64,
) -> Result<(Event, Translation), TranslateError> {
    let event = Event::parse(provider, body, settings.max_json_depth)?;
    let translation = event.translate(settings, &|key| store.get(key, now))?;
    for entry in &translation.remember {
        store.put(entry, now);
    }
    Ok((event, translation))
}

/// What a payload becomes in Re:amaze, as the CLI's `translate` prints it
/// and the npm package's `translate` returns it: the messages with the
/// endpoint each is posted to, or why the event is ignored.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Preview {
    pub provider: &'static str,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<PreviewMessage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// Why the payload is kept until it can be placed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct PreviewMessage {
    pub channel: crate::reamaze::Channel,
    pub endpoint: String,
    pub message: crate::reamaze::Message,
}

impl Preview {
    /// Translates one payload against `store`, as `translate_payload`.
    pub fn of(
        provider: Provider,
        body: &[u8],
        settings: &Settings,
        store: &mut dyn crate::store::Store,
        now: i64,
    ) -> Result<Preview, TranslateError> {
        let (event, translation) = translate_payload(provider, body, settings, store, now)?;
        let (messages, ignored, held) = match translation.outcome {
            Outcome::Messages(messages) => (Some(messages), None, None),
            Outcome::Ignored(reason) => (None, Some(reason), None),
            Outcome::Held(reason) => (None, None, Some(reason)),
        };
        let messages = messages.map(|messages| {
            let endpoint = |m: &Outgoing| m.channel.endpoint(&settings.reamaze_base_url);
            messages
                .into_iter()
                .map(|m| PreviewMessage { endpoint: endpoint(&m), channel: m.channel, message: m.message })
                .collect()
        });
        Ok(Preview { provider: provider.name(), event: event.name(), messages, ignored, held })
    }
}

#[cfg(test)]
mod tests {
    use super::{number_in_text, shorten};

    #[test]
    fn numbers_in_text_are_json_numbers() {
        for (text, number) in
            [("1704067200", 1_704_067_200.0), (" 35.5 ", 35.5), ("+12", 12.0), ("-3", -3.0), ("1e3", 1e3)]
        {
            assert_eq!(number_in_text(text), Some(number), "{text}");
        }
        for bad in ["", "abc", "1,5", "12s", "inf", "NaN", "1e400", "+-1", "++1", "0x10", "1 2"] {
            assert_eq!(number_in_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn long_text_is_shortened_with_a_note() {
        let mut text = "word ".repeat(50_000);
        shorten(&mut text, 1_000);
        assert!(text.chars().count() <= 1_000, "{}", text.chars().count());
        assert!(text.ends_with("of 250000 characters shown.]"), "{}", &text[text.len() - 80..]);
        assert!(text.starts_with("word word"));
        let mut short = "fits".to_string();
        shorten(&mut short, 1_000);
        assert_eq!(short, "fits");
        let mut unbroken = "é".repeat(5_000);
        shorten(&mut unbroken, 300);
        assert!(unbroken.chars().count() <= 300 && unbroken.contains("Shortened by the bridge"));
    }
}
