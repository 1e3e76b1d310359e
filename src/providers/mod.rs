//! The providers' events, parsed leniently (unknown fields are fine, numbers
//! may come as strings) but strictly about what a message needs, naming
//! what is missing; and their translation into Re:amaze messages.
//!
//! Translation is two steps so that stores may be async: `Event::reads`
//! names the store keys the translation consults (remembered call parties,
//! echo markers), then `Event::translate` runs on their values.

/// A provider's samples for the debugger page, each `(key, label, json)`.
/// The Worker serves the page built with the package, and carries none of
/// them itself.
#[cfg(not(feature = "worker"))]
macro_rules! samples {
    ($(($key:expr, $label:expr, $json:expr)),* $(,)?) => {
        &[$($crate::providers::Sample { key: $key, label: $label, json: $json }),*]
    };
}
#[cfg(feature = "worker")]
macro_rules! samples {
    ($(($key:expr, $label:expr, $json:expr)),* $(,)?) => {
        &[]
    };
}

pub mod bird;
mod clean;
mod fields;
mod settle;
pub mod voice360;
pub mod volubile;

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::json::{self, JsonError, Object};
use crate::reamaze::Outgoing;
use crate::settings::{names, Declared, Secret, Settings, SettingsError};
use crate::signature::Scheme;
use crate::store::Entry;
pub(crate) use fields::{value_text, Fields};

/// A provider, as data: everything the bridge's layers ask of one. Each
/// provider's module holds its own `DESCRIPTION`; [`ALL`] lists them, and
/// the routes, `/healthz`, the contract, the refused-webhook records, the
/// mistake-finder, the CLI, the npm package and the page all read that
/// list (the last two through `contract()`), so no other code names one.
#[derive(Debug)]
pub struct Description {
    /// The name in routes (`/webhooks/<name>`), settings' docs, test
    /// vectors' folders, JS and the CLI.
    pub name: &'static str,
    /// The name as people write it.
    pub title: &'static str,
    /// How its webhooks are signed.
    pub scheme: &'static Scheme,
    /// The setting that holds its webhooks' secrets.
    pub secrets: &'static str,
    /// The settings its webhooks depend on, its secrets' first: one that
    /// cannot be used turns them off.
    pub settings: &'static [&'static str],
    /// Its own settings, and how each is read: the settings layer reads
    /// them with the bridge's (`Settings::read`).
    pub declares: &'static [Declared],
    /// Reads a payload (the object parsed from `body`) into its event.
    pub parse: Parse,
    /// For a provider whose payloads may be held until their call is known
    /// (`store::keys::held`): reads the call's id, and when the payload was
    /// made, from a payload held.
    pub read_held: Option<fn(held: &str) -> HeldPayload>,
    /// Payloads for the debugger's "Generate", each with its label.
    pub samples: &'static [Sample],
}

/// What a held payload says of itself: its call, and when it was made
/// (Unix seconds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldPayload {
    pub call_id: Option<String>,
    pub at: Option<i64>,
}

/// Reads a payload (the object parsed from `body`) into its event.
pub type Parse = fn(object: Object, body: &[u8]) -> Result<Box<dyn Happening>, TranslateError>;

/// A payload a provider sends, to try the bridge with.
#[derive(Debug)]
pub struct Sample {
    /// Names the sample in the page's list (`<provider>` or `<provider>-<what>`).
    pub key: &'static str,
    pub label: &'static str,
    /// The payload's JSON, compact.
    pub json: &'static str,
}

/// The API agents' SMS replies go out through: one provider's.
pub use voice360::{SmsApi, SmsSetup};

/// Every provider, in the order the docs and `/healthz` list them.
pub static ALL: [Provider; 3] =
    [Provider(&voice360::DESCRIPTION), Provider(&bird::DESCRIPTION), Provider(&volubile::DESCRIPTION)];

/// A provider: a handle on its [`Description`], compared by name.
#[derive(Clone, Copy, Debug)]
pub struct Provider(&'static Description);

impl Deref for Provider {
    type Target = Description;
    fn deref(&self) -> &Description {
        self.0
    }
}

impl PartialEq for Provider {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Provider {}

impl std::hash::Hash for Provider {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl Provider {
    /// The provider called `name` (without regard to case).
    pub fn named(name: &str) -> Option<Provider> {
        ALL.into_iter().find(|p| p.name.eq_ignore_ascii_case(name.trim()))
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The provider's name as people write it.
    pub fn title(self) -> &'static str {
        self.0.title
    }

    /// How this provider's webhooks are signed: its scheme, the secrets to
    /// try, and the setting that holds them (named when none is set).
    pub fn auth(self, settings: &Settings) -> (&'static Scheme, &[Secret], &'static str) {
        (self.0.scheme, settings.secrets(self.0.secrets), self.0.secrets)
    }

    /// The settings this provider's webhooks depend on: one that cannot be
    /// used turns them off.
    pub fn settings(self) -> &'static [&'static str] {
        self.0.settings
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
        Provider::named(s)
            .ok_or_else(|| format!("unknown provider {s:?}: expected {}", names_of(ALL.map(|p| p.name).to_vec())))
    }
}

/// Every scheme the bridge reads: Re:amaze's, then each provider's.
pub fn schemes() -> impl Iterator<Item = &'static Scheme> {
    std::iter::once(&crate::reamaze::SCHEME).chain(ALL.iter().map(|p| p.0.scheme))
}

/// The scheme called exactly `name`, as the core writes it.
pub fn scheme(name: &str) -> Option<&'static Scheme> {
    schemes().find(|scheme| scheme.name == name)
}

/// The scheme called `name` (without regard to case), or why there is none.
pub fn scheme_named(name: &str) -> Result<&'static Scheme, String> {
    schemes().find(|scheme| scheme.name.eq_ignore_ascii_case(name.trim())).ok_or_else(|| {
        let known: Vec<&str> = schemes().map(|scheme| scheme.name).collect();
        format!("unknown scheme {name:?}: expected {}", names_of(known))
    })
}

impl FromStr for &'static Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        scheme_named(s)
    }
}

/// Every provider's settings, in the registry's order.
pub fn declared() -> impl Iterator<Item = &'static Declared> + Clone {
    ALL.iter().flat_map(|provider| provider.declares)
}

/// The settings are read here, above the settings layer, so that they
/// take in every provider's own (`Description::declares`) while the
/// settings layer names none.
impl Settings {
    /// Reads every setting through `get`, the bridge's and every
    /// provider's, as a long-running bridge must: a setting that cannot be
    /// used is recorded in `invalid` and disables only what depends on it;
    /// a limit that cannot be used keeps its default.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Settings {
        Settings::read_with(get, &ALL.map(|provider| provider.declares))
    }

    /// Reads every setting through `get`; absent or blank values take their
    /// defaults. The first setting that cannot be used is an error: for
    /// callers that must not run half set up (the CLI, a one-off translate).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let settings = Settings::read(get);
        match settings.invalid.first() {
            Some(error) => Err(error.clone()),
            None => Ok(settings),
        }
    }
}

/// Every setting at its default.
impl Default for Settings {
    fn default() -> Settings {
        Settings::read(|_| None)
    }
}

/// The settings that hold `scheme`'s secrets: Re:amaze's two channels', or
/// its provider's.
pub fn secret_settings(scheme: &Scheme) -> &'static [&'static str] {
    if *scheme == crate::reamaze::SCHEME {
        return &[names::REAMAZE_VOICE_SECRET, names::REAMAZE_SMS_SECRET];
    }
    ALL.iter().find(|p| p.scheme == scheme).map_or(&[], |p| std::slice::from_ref(&p.0.secrets))
}

/// The secrets tried for a request signed with `scheme`: a staff reply's
/// (Re:amaze's SMS channel), or its provider's.
pub fn secrets_for<'a>(settings: &'a Settings, scheme: &Scheme) -> &'a [Secret] {
    match secret_settings(scheme) {
        [one] => settings.secrets(one),
        _ => settings.secrets(names::REAMAZE_SMS_SECRET),
    }
}

/// `a, b or c`.
fn names_of(names: Vec<&str>) -> String {
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
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

/// What a provider's parsed event answers: each provider's module
/// implements it for its own event type.
pub trait Happening {
    /// The event's name for responses and logs.
    fn name(&self) -> String;

    /// The store keys its translation consults, besides those of joining a
    /// caller's calls.
    fn reads(&self) -> Vec<String> {
        Vec::new()
    }

    /// The voice call the event is of, for joining a caller's calls
    /// (`VOICE_THREAD_MINUTES`); `None` for SMS and contacts.
    fn voice_call(&self) -> Option<settle::Call>;

    fn translate(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError>;
}

/// A parsed provider event.
pub struct Event {
    provider: Provider,
    happening: Box<dyn Happening>,
}

/// The provider and the event's name: `Debug` of the event itself would
/// keep every provider's `Debug` code in the wasm builds.
impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event({}: {})", self.provider.name(), self.name())
    }
}

/// Read access to the store values an event asked for.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Event {
    /// Parses a provider's payload; `max_json_depth` is the deployment's
    /// `MAX_JSON_DEPTH`.
    pub fn parse(provider: Provider, body: &[u8], max_json_depth: u32) -> Result<Event, TranslateError> {
        let object = json::parse_object(body, max_json_depth).map_err(TranslateError::NotJson)?;
        Ok(Event { provider, happening: (provider.parse)(object, body)? })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The event's name for responses and logs.
    pub fn name(&self) -> String {
        self.happening.name()
    }

    /// The call the event is of, by the provider's own id for it; `None`
    /// for SMS and contacts.
    pub fn call_id(&self) -> Option<String> {
        let (thread, _) = self.happening.voice_call()?;
        let thread = thread?;
        let own = thread.strip_prefix(self.provider.name).and_then(|rest| rest.strip_prefix(':'));
        Some(own.map_or_else(|| thread.clone(), String::from))
    }

    /// The store keys `translate` will consult.
    pub fn reads(&self, settings: &Settings) -> Vec<String> {
        let mut reads = self.happening.reads();
        if settings.voice_thread_minutes > 0 {
            reads.extend(settle::reads(self.provider.name(), self.happening.voice_call()));
        }
        reads
    }

    pub fn translate(&self, settings: &Settings, lookup: Lookup) -> Result<Translation, TranslateError> {
        let mut translation = self.happening.translate(settings, lookup)?;
        if let Outcome::Messages(messages) = &mut translation.outcome {
            messages.iter_mut().for_each(|outgoing| clean::clean(&mut outgoing.message, settings));
            settle::settle(self.provider.name(), messages, &mut translation.remember, settings, lookup);
        }
        Ok(translation)
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
    use super::shorten;

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
