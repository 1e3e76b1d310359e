//! Settings, read by name from any key/value source: the process
//! environment (CLI), Worker vars and secrets, a JS object. The names are the
//! HTTP contract's (the README's "Settings" table), the same everywhere.

use std::fmt;

use crate::signature::{Stamp, Window};

mod declared;
#[cfg(feature = "cli")]
pub use declared::Flag;
use declared::Value;
pub use declared::{Declared, Kind, Parsed};

/// A secret value. Its `Debug` never shows it, so a settings dump or a
/// panic message cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub mod names;

pub const DEFAULT_REAMAZE_BASE_URL: &str = "https://www.reamaze.io";
/// The largest body accepted. Sized on the largest payload providers send:
/// a call's transcript with its word items (the AWS Call Analytics shape)
/// is about 1.3 MB an hour of call, so 8 MiB holds a call of six hours.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The longest message text posted to Re:amaze. A longer transcript is
/// posted in numbered parts of at most this; any other longer text is
/// shortened, with a note saying so.
pub const DEFAULT_MAX_MESSAGE_CHARS: u32 = 20_000;
/// The providers' payloads nest four or five levels; 32 leaves room for any
/// of their extensions and none for a nesting attack.
pub const DEFAULT_MAX_JSON_DEPTH: u32 = 32;
/// The longest signature, timestamp or Authorization header read. The real
/// ones are under 100 bytes.
pub const DEFAULT_MAX_HEADER_BYTES: u32 = 1_024;
/// The most secrets one provider's list may hold. A forged request costs
/// one HMAC over its body per secret, so the list is bounded; 40 covers
/// the largest documented setup, one webhook and so one secret for each
/// of 20 event types, with an old and a new secret for each during a
/// rotation.
pub const DEFAULT_MAX_SECRETS: u32 = 40;
/// How long a shell waits for Re:amaze or the SMS API before treating the
/// delivery as a temporary failure. Re:amaze's staff-reply webhook is
/// synchronous, so the whole reply path must stay well inside its patience.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 10_000;
/// Queue mode: attempts per message before it becomes a dead letter, and
/// the backoff between them (30 s doubling up to an hour: about 4.5 hours
/// of retries in all, beyond the longest Re:amaze incident worth riding out).
pub const DEFAULT_QUEUE_MAX_ATTEMPTS: u32 = 10;
pub const DEFAULT_QUEUE_RETRY_BASE_SECONDS: u32 = 30;
pub const DEFAULT_QUEUE_RETRY_MAX_SECONDS: u32 = 3_600;
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub reamaze_base_url: String,
    pub reamaze_voice_secret: Option<Secret>,
    pub reamaze_sms_secret: Option<Secret>,
    /// The settings the providers declare (`Declared`), by name, read
    /// through `secrets`, `text`, `number`, `words` and `parsed`.
    declared: Vec<(&'static str, Value)>,
    pub sms_channel_number: Option<String>,
    /// The number behind the Re:amaze Voice channel: the channel's side of
    /// a voice message whose event does not name it.
    pub voice_channel_number: Option<String>,
    /// Card numbers masked in everything posted (`cards`); on by default.
    pub redact_card_numbers: bool,
    pub max_body_bytes: usize,
    pub upstream_timeout_ms: u64,
    pub queue_max_attempts: u32,
    pub queue_retry_base_seconds: u32,
    pub queue_retry_max_seconds: u32,
    /// Bearer token of the admin routes; none means they are off.
    pub admin_token: Option<Secret>,
    pub max_message_chars: u32,
    pub max_json_depth: u32,
    pub max_header_bytes: u32,
    /// The refused webhooks kept for operators (`GET /admin/rejected`);
    /// 0 keeps none.
    pub rejected_keep: u32,
    /// Where operational alerts are posted, signed with the secret below
    /// (Standard Webhooks); alerts are off without both.
    pub alert_webhook_url: Option<String>,
    /// A `whsec_` secret, as Standard Webhooks writes one.
    pub alert_webhook_secret: Option<Secret>,
    pub alert_rejected_threshold: u32,
    /// The deployment's name, which its alerts carry (several bridges may
    /// post to one channel).
    pub bridge_name: Option<String>,
    /// A call from a number that starts within this many minutes of that
    /// number's previous call joins its conversation; 0, one conversation
    /// per call.
    pub voice_thread_minutes: u32,
    /// The most secrets one setting may hold.
    pub max_secrets: usize,
    /// The settings whose values could not be used. Each disables only what
    /// depends on it (see `blocking`); a limit falls back to its default.
    pub invalid: Vec<SettingsError>,
}

/// How many refused webhooks are kept for operators (each for 7 days).
pub const DEFAULT_REJECTED_KEEP: u32 = 100;
/// Refusals on one route within 10 minutes that raise an alert.
pub const DEFAULT_ALERT_REJECTED_THRESHOLD: u32 = 20;

/// A setting whose value cannot be used. Carries the name and what was
/// expected, never the value (it may be a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub name: &'static str,
    pub expected: &'static str,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {} is invalid: expected {}", self.name, self.expected)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Reads the bridge's own settings, and `declared` (the providers'),
    /// through `get`, as a long-running bridge must: a setting that cannot
    /// be used is recorded in `invalid` and disables only what depends on
    /// it (a provider's secrets that provider, a URL what posts there); a
    /// limit that cannot be used keeps its default. (`Settings::read`, in
    /// the providers' registry, passes every provider's.)
    pub fn read_with(get: impl Fn(&str) -> Option<String>, declared: &[&'static [Declared]]) -> Self {
        let reader = Reader { get: &get, invalid: std::cell::RefCell::new(Vec::new()) };
        let mut settings = reader.settings();
        let max_secrets = settings.max_secrets;
        // In plain loops: iterator adapters over the lists cost the wasm
        // builds more code than the loops do.
        for list in declared {
            for setting in list.iter() {
                settings.declared.push((setting.name, reader.declared(setting, max_secrets)));
            }
        }
        // The bridge's own settings first, then the providers', each in
        // the order it is documented, whatever order they were read in
        // (picked out by name: a sort would bring its code into the wasm
        // builds).
        let mut invalid = reader.invalid.into_inner();
        let mut ordered = Vec::with_capacity(invalid.len());
        let order = names::ALL.iter().copied().chain(settings.declared.iter().map(|(name, _)| *name));
        for name in order {
            if let Some(i) = invalid.iter().position(|e| e.name == name) {
                ordered.push(invalid.remove(i));
            }
        }
        ordered.append(&mut invalid);
        settings.invalid = ordered;
        settings
    }

    /// The first invalid setting among `names`: what stops a feature that
    /// depends on them.
    pub fn blocking(&self, names: &[&str]) -> Option<&SettingsError> {
        self.invalid.iter().find(|e| names.contains(&e.name))
    }

    /// The freshness window of a stamped scheme's timestamps, at `now`
    /// (the defaults for a scheme without one).
    pub fn stamp_window(&self, stamp: Option<&Stamp>, now: i64) -> Window {
        let mut window = Window::at(now);
        if let Some(stamp) = stamp {
            window.max_age = self.number(stamp.max_age_setting).unwrap_or(window.max_age);
            window.max_future = self.number(stamp.max_future_setting).unwrap_or(window.max_future);
        }
        window
    }

    /// The value of the declared setting `name`.
    fn value(&self, name: &str) -> &Value {
        self.declared.iter().find(|(setting, _)| *setting == name).map_or(&Value::Absent, |(_, value)| value)
    }

    /// The secrets the setting `name` holds (none for a name that holds
    /// no secrets): the one place a secrets' setting is read by its name.
    pub fn secrets(&self, name: &str) -> &[Secret] {
        match name {
            names::REAMAZE_VOICE_SECRET => self.reamaze_voice_secret.as_slice(),
            names::REAMAZE_SMS_SECRET => self.reamaze_sms_secret.as_slice(),
            _ => match self.value(name) {
                Value::Secrets(secrets) => secrets,
                _ => &[],
            },
        }
    }

    /// The text setting `name`, where it is set (and, for a URL, usable).
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The number setting `name`: its value, or its default (`None` for a
    /// name no provider declares as a number).
    pub fn number(&self, name: &str) -> Option<u64> {
        match self.value(name) {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The words setting `name`: its words, or its default's (none for a
    /// name no provider declares as words).
    pub fn words(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::Words(words) => words,
            _ => &[],
        }
    }

    /// What a provider read from the setting `name`, where it is set and
    /// could be read.
    pub fn parsed<T: std::any::Any>(&self, name: &str) -> Option<&T> {
        match self.value(name) {
            Value::Parsed(parsed) => parsed.get(),
            _ => None,
        }
    }
}

/// Reads settings by name, recording each that cannot be used and giving
/// what depends on it nothing (or the default, for a limit).
struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    invalid: std::cell::RefCell<Vec<SettingsError>>,
}

impl Reader<'_> {
    fn settings(&self) -> Settings {
        use names::*;
        Settings {
            reamaze_base_url: self.url(REAMAZE_BASE_URL, DEFAULT_REAMAZE_BASE_URL),
            reamaze_voice_secret: self.secret(REAMAZE_VOICE_SECRET),
            reamaze_sms_secret: self.secret(REAMAZE_SMS_SECRET),
            declared: Vec::new(),
            max_secrets: self.small(MAX_SECRETS, DEFAULT_MAX_SECRETS) as usize,
            sms_channel_number: self.text(SMS_CHANNEL_NUMBER),
            voice_channel_number: self.text(VOICE_CHANNEL_NUMBER),
            redact_card_numbers: self.flag(REDACT_CARD_NUMBERS, true),
            max_body_bytes: self.size(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
            upstream_timeout_ms: self.number(UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS),
            queue_max_attempts: self.small(QUEUE_MAX_ATTEMPTS, DEFAULT_QUEUE_MAX_ATTEMPTS).max(1),
            queue_retry_base_seconds: self.small(QUEUE_RETRY_BASE_SECONDS, DEFAULT_QUEUE_RETRY_BASE_SECONDS),
            queue_retry_max_seconds: self.small(QUEUE_RETRY_MAX_SECONDS, DEFAULT_QUEUE_RETRY_MAX_SECONDS),
            admin_token: self.secret(ADMIN_TOKEN),
            // Room for at least the note that says the text was shortened.
            max_message_chars: self.small(MAX_MESSAGE_CHARS, DEFAULT_MAX_MESSAGE_CHARS).max(200),
            max_json_depth: self.json_depth(),
            max_header_bytes: self.small(MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES).max(64),
            rejected_keep: self.small(REJECTED_KEEP, DEFAULT_REJECTED_KEEP),
            alert_webhook_url: self.optional_url(ALERT_WEBHOOK_URL),
            alert_webhook_secret: self.alert_secret(),
            alert_rejected_threshold: self.small(ALERT_REJECTED_THRESHOLD, DEFAULT_ALERT_REJECTED_THRESHOLD).max(1),
            voice_thread_minutes: self.minutes(VOICE_THREAD_MINUTES),
            bridge_name: self.text(BRIDGE_NAME),
            invalid: Vec::new(),
        }
    }

    fn refuse(&self, name: &'static str, expected: &'static str) {
        self.invalid.borrow_mut().push(SettingsError { name, expected });
    }

    fn text(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.text(name).map(Secret::new)
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    /// A list of secrets; more than `max` disables them all.
    fn secrets(&self, name: &'static str, max: usize) -> Vec<Secret> {
        let secrets: Vec<Secret> = self.list(name).into_iter().map(Secret::new).collect();
        if secrets.len() > max {
            self.refuse(name, "no more secrets than MAX_SECRETS allows (default 40)");
            return Vec::new();
        }
        secrets
    }

    fn number(&self, name: &'static str, default: u64) -> u64 {
        match self.text(name).map(|v| v.parse::<u64>()) {
            None => default,
            Some(Ok(value)) => value,
            Some(Err(_)) => {
                self.refuse(name, "a whole number");
                default
            }
        }
    }

    fn small(&self, name: &'static str, default: u32) -> u32 {
        let value = self.number(name, u64::from(default));
        u32::try_from(value).unwrap_or_else(|_| {
            self.refuse(name, "a whole number below 4294967296");
            default
        })
    }

    /// Minutes, at most a week (joining calls further apart would join
    /// strangers' calls to a reused number); beyond, 0 and refused by name.
    fn minutes(&self, name: &'static str) -> u32 {
        let minutes = self.small(name, 0);
        if minutes > 7 * 24 * 60 {
            self.refuse(name, "minutes, at most 10080 (a week)");
            return 0;
        }
        minutes
    }

    fn size(&self, name: &'static str, default: usize) -> usize {
        usize::try_from(self.number(name, default as u64)).unwrap_or_else(|_| {
            self.refuse(name, "a size this machine can hold");
            default
        })
    }

    /// An http(s) URL without its trailing slash; an unusable one is empty,
    /// so nothing is ever sent to it.
    fn url(&self, name: &'static str, default: &str) -> String {
        let value = self.text(name).unwrap_or_else(|| default.to_string());
        if value.starts_with("https://") || value.starts_with("http://") {
            value.trim_end_matches('/').to_string()
        } else {
            self.refuse(name, "an http:// or https:// URL");
            String::new()
        }
    }

    /// An http(s) URL with no default: absent, or unusable, is none.
    fn optional_url(&self, name: &'static str) -> Option<String> {
        self.text(name)?;
        Some(self.url(name, "")).filter(|url| !url.is_empty())
    }

    /// `true`/`false` (or `1`/`0`, `yes`/`no`, `on`/`off`).
    fn flag(&self, name: &'static str, default: bool) -> bool {
        match self.text(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(_) => {
                self.refuse(name, "true or false");
                default
            }
        }
    }

    /// A provider's declared setting.
    fn declared(&self, setting: &Declared, max_secrets: usize) -> Value {
        let name = setting.name;
        match setting.kind {
            Kind::Secrets => Value::Secrets(self.secrets(name, max_secrets)),
            Kind::Secret => Value::Secrets(self.secret(name).into_iter().collect()),
            Kind::Text => self.text(name).map_or(Value::Absent, Value::Text),
            Kind::Url { default } => {
                Some(self.url(name, default)).filter(|u| !u.is_empty()).map_or(Value::Absent, Value::Text)
            }
            Kind::Number { default } => Value::Number(self.number(name, default)),
            Kind::Words { default, upper } => {
                let words = self.list(name);
                let words = if words.is_empty() { default.iter().map(|w| w.to_string()).collect() } else { words };
                let cased = |w: String| if upper { w.to_ascii_uppercase() } else { w.to_ascii_lowercase() };
                Value::Words(words.into_iter().map(cased).collect())
            }
            Kind::Parsed { parse, expected } => match self.text(name) {
                None => Value::Absent,
                Some(text) => parse(&text).map_or_else(
                    || {
                        self.refuse(name, expected);
                        Value::Absent
                    },
                    Value::Parsed,
                ),
            },
        }
    }

    /// `whsec_` then the secret's bytes in base64; one that is not cannot
    /// sign, and alerts are off.
    fn alert_secret(&self) -> Option<Secret> {
        let secret = self.text(names::ALERT_WEBHOOK_SECRET)?;
        let bytes = secret.strip_prefix("whsec_").and_then(crate::signature::decode_base64);
        if bytes.is_none_or(|bytes| bytes.is_empty()) {
            self.refuse(
                names::ALERT_WEBHOOK_SECRET,
                "a whsec_ secret: whsec_ then base64, as Standard Webhooks writes it",
            );
            return None;
        }
        Some(Secret::new(secret))
    }

    fn json_depth(&self) -> u32 {
        match self.small(names::MAX_JSON_DEPTH, DEFAULT_MAX_JSON_DEPTH) {
            depth @ 1..=crate::json::PARSER_MAX_DEPTH => depth,
            _ => {
                self.refuse(names::MAX_JSON_DEPTH, "a whole number from 1 to 100");
                DEFAULT_MAX_JSON_DEPTH
            }
        }
    }
}
