//! Operational alerts: a dead letter created, a spike of refused webhooks,
//! a setting that cannot be used. Each is posted to `ALERT_WEBHOOK_URL`,
//! signed as Standard Webhooks sign (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed
//! with the bytes of the `whsec_` secret), with a JSON body of `type`,
//! `timestamp`, `data` and `text`: one line a person reads, so a Slack
//! incoming webhook can show it as is.
//!
//! Each alert comes with the claim that it was sent: the same alert (the
//! same dead letter, the same route's spike within the hour, the same
//! settings within the day) goes out once.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::http::{Delivery, Target};
use crate::queue::DeadLetter;
use crate::reamaze::Channel;
use crate::settings::Settings;
use crate::signature;
use crate::store::{keys, Entry, PENDING};
use crate::time;

/// How many times an alert is tried before it is given up.
pub const ALERT_ATTEMPTS: u32 = 3;
/// Refusals are counted over this window.
pub const SPIKE_WINDOW_SECONDS: i64 = 600;

pub const DEAD_LETTER_CREATED: &str = "dead_letter.created";
pub const REJECTED_SPIKE: &str = "webhooks.rejected_spike";
pub const SETTINGS_INVALID: &str = "settings.invalid";

/// An alert ready to send, and the claim that it is sent once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub claim: Entry,
    pub delivery: Delivery,
}

/// Whether alerts can be sent: a URL and a usable secret.
pub fn enabled(settings: &Settings) -> bool {
    settings.alert_webhook_url.is_some() && settings.alert_webhook_secret.is_some()
}

/// `dead_letter.created`, once per dead letter.
pub fn dead_letter_created(settings: &Settings, dead: &DeadLetter, now: i64) -> Option<Alert> {
    let message = &dead.queued.message;
    // The last error names Re:amaze's answer where it came from one.
    let status = dead
        .upstream_status
        .filter(|s| !dead.last_error.starts_with(&format!("Re:amaze answered {s}")))
        .map_or(String::new(), |s| format!(" (Re:amaze answered {s})"));
    let attempts = match dead.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    let text = format!(
        "Dead letter: {} {} message {} was not delivered after {attempts}{status}: {}. Replay it from the admin \
         console.",
        dead.queued.provider, dead.queued.event, message.id, dead.last_error
    );
    let data = DeadLetterData {
        message_id: &message.id,
        provider: &dead.queued.provider,
        event: &dead.queued.event,
        channel: dead.queued.channel,
        attempts: dead.attempts,
        last_error: &dead.last_error,
        upstream_status: dead.upstream_status,
    };
    signed(settings, DEAD_LETTER_CREATED, &message.id, 30 * 86_400, &data, text, now)
}

/// `webhooks.rejected_spike`: `route` refused about `count` requests in the
/// last ten minutes, the latest with `code`; once per route per hour.
pub fn rejected_spike(settings: &Settings, route: &str, count: u32, code: &str, now: i64) -> Option<Alert> {
    let text = format!(
        "{count} webhooks refused on {route} in the last 10 minutes (the latest: {code}). The admin console names \
         the likely cause of each."
    );
    let data = SpikeData {
        route,
        count,
        threshold: settings.alert_rejected_threshold,
        window_seconds: SPIKE_WINDOW_SECONDS,
        latest_code: code,
    };
    signed(settings, REJECTED_SPIKE, &format!("{route}:{}", now / 3600), 3600, &data, text, now)
}

/// `settings.invalid`: the settings that cannot be used, by name (never by
/// value); once a day for the same settings.
pub fn settings_invalid(settings: &Settings, now: i64) -> Option<Alert> {
    if settings.invalid.is_empty() {
        return None;
    }
    let names: Vec<&str> = settings.invalid.iter().map(|e| e.name).collect();
    let text = format!(
        "Settings that cannot be used, and turn off what depends on them: {}.",
        settings.invalid.iter().map(|e| format!("{} (expected {})", e.name, e.expected)).collect::<Vec<_>>().join("; ")
    );
    let listed = settings.invalid.iter().map(|e| InvalidSetting { setting: e.name, expected: e.expected }).collect();
    let data = InvalidData { settings: listed };
    signed(settings, SETTINGS_INVALID, &names.join(","), 86_400, &data, text, now)
}

/// `dead_letter.created`'s data.
#[derive(Serialize)]
struct DeadLetterData<'a> {
    message_id: &'a str,
    provider: &'a str,
    event: &'a str,
    channel: Channel,
    attempts: u32,
    last_error: &'a str,
    upstream_status: Option<u16>,
}

/// `webhooks.rejected_spike`'s data.
#[derive(Serialize)]
struct SpikeData<'a> {
    route: &'a str,
    count: u32,
    threshold: u32,
    window_seconds: i64,
    latest_code: &'a str,
}

/// `settings.invalid`'s data: each setting by name, never by value.
#[derive(Serialize)]
struct InvalidData {
    settings: Vec<InvalidSetting>,
}

#[derive(Serialize)]
struct InvalidSetting {
    setting: &'static str,
    expected: &'static str,
}

#[derive(Serialize)]
struct Body<'a, D> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    /// The deployment that sent it (`BRIDGE_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge: Option<&'a str>,
    data: &'a D,
    text: String,
}

/// The alert of `kind` about `about` (what makes it the same alert), claimed
/// for `claim_ttl` seconds, signed for now. Generic only in what it
/// serializes: the rest is `sealed`, once for every kind.
fn signed<D: Serialize>(
    settings: &Settings,
    kind: &'static str,
    about: &str,
    claim_ttl: u64,
    data: &D,
    text: String,
    now: i64,
) -> Option<Alert> {
    let bridge = settings.bridge_name.as_deref();
    // The line a person reads starts with the deployment's name.
    let text = match bridge {
        Some(name) => format!("[{name}] {text}"),
        None => text,
    };
    let body = Body { kind, timestamp: time::unix_to_iso(now).unwrap_or_default(), bridge, data, text };
    let body = serde_json::to_vec(&body).expect("an alert serializes");
    sealed(settings, kind, about, claim_ttl, body, now)
}

/// The alert whose JSON body is `body`, with its claim and its signature.
fn sealed(
    settings: &Settings,
    kind: &'static str,
    about: &str,
    claim_ttl: u64,
    body: Vec<u8>,
    now: i64,
) -> Option<Alert> {
    let url = settings.alert_webhook_url.clone()?;
    let secret = settings.alert_webhook_secret.as_ref()?;
    let key = signature::decode_base64(secret.expose().strip_prefix("whsec_")?)?;
    let claim = Entry { key: keys::alert(kind, about), value: PENDING.into(), ttl_seconds: claim_ttl };
    // The same alert keeps its id across attempts, as Standard Webhooks asks.
    let id = format!("msg_{}", hex::encode(&Sha256::digest(claim.key.as_bytes())[..16]));
    let timestamp = now.to_string();
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", &body].concat();
    let signature = format!("v1,{}", signature::encode_base64(&signature::hmac(&key, &signed)));
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("webhook-id".to_string(), id),
        ("webhook-timestamp".to_string(), timestamp),
        ("webhook-signature".to_string(), signature),
    ];
    let delivery = Delivery { target: Target::Alert { kind }, method: "POST", url, headers, body };
    Some(Alert { claim, delivery })
}
