//! Hostile and broken requests (`tests/vectors/hostile.json`) through the
//! whole sans-IO bridge: each gets its status, error code and message, and
//! nothing is delivered or stored. SECURITY.md's table must show each case
//! with the same answer.

use std::collections::HashMap;

use reamaze_bridge::bridge::{drive, Bridge};
use reamaze_bridge::http::{Headers, Request};
use reamaze_bridge::signature::{sign, Scheme, Signed};
use reamaze_bridge::store::{Entry, Store};
use reamaze_bridge::{MemoryStore, Settings};
use serde_json::Value;

const NOW: i64 = 1_704_067_200;
const BRIDGE: &str = "https://bridge.test";

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/hostile.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

const SECRET_SETTINGS: [&str; 6] = [
    "REAMAZE_VOICE_SECRET",
    "REAMAZE_SMS_SECRET",
    "VOICE360_WEBHOOK_SECRETS",
    "VOICE360_API_KEY",
    "BIRD_SIGNING_KEYS",
    "VOLUBILE_WEBHOOK_SECRETS",
];

/// This layer's settings: its own secrets, then the file's settings.
fn settings(file: &Value) -> HashMap<String, String> {
    let mut values: HashMap<String, String> = [
        ("REAMAZE_BASE_URL", "https://reamaze.test"),
        ("REAMAZE_VOICE_SECRET", "voice-channel-secret"),
        ("REAMAZE_SMS_SECRET", "sms-channel-secret"),
        ("VOICE360_WEBHOOK_SECRETS", "v360-old,v360-current"),
        ("VOICE360_API_KEY", "v360-api-key"),
        ("VOICE360_ACCOUNT_ID", "61"),
        ("VOICE360_API_BASE", "https://voice360.test/v3/voice"),
        ("SMS_CHANNEL_NUMBER", "+15559876543"),
        ("BIRD_SIGNING_KEYS", "bird-signing-key"),
        ("VOLUBILE_WEBHOOK_SECRETS", "volubile-secret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (name, value) in file["settings"].as_object().unwrap() {
        values.insert(name.clone(), value.as_str().unwrap().to_string());
    }
    values
}

/// `{repeat:T:N}` written out.
fn expand(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{repeat:") {
        out.push_str(&rest[..start]);
        let spec = &rest[start + "{repeat:".len()..];
        let end = spec.find('}').unwrap();
        let (unit, times) = spec[..end].split_once(':').unwrap();
        out.push_str(&unit.repeat(times.parse().unwrap()));
        rest = &spec[end + 1..];
    }
    out.push_str(rest);
    out
}

fn body_of(case: &Value) -> Vec<u8> {
    match (&case["body"], &case["body_hex"]) {
        (Value::String(text), _) => expand(text).into_bytes(),
        (_, Value::String(hex)) => {
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
        }
        _ => panic!("case {} has no body", case["name"]),
    }
}

/// The request's headers: the signature as the case asks for it.
fn headers_of(case: &Value, settings: &HashMap<String, String>, body: &[u8], url: &str) -> Headers {
    let mut filled: Vec<(&str, String)> = Vec::new();
    let spec = &case["sign"];
    if let Some(scheme_name) = spec["scheme"].as_str() {
        let scheme: &'static Scheme = scheme_name.parse().unwrap();
        let secret = settings[spec["secret"].as_str().unwrap()].rsplit(',').next().unwrap().to_string();
        let offset = spec["timestamp_offset"].as_i64().unwrap_or(0);
        let timestamp = match spec["timestamp_unit"].as_str() {
            Some("ms") => ((NOW + offset) * 1000).to_string(),
            _ => (NOW + offset).to_string(),
        };
        let signed = Signed { body, timestamp: Some(&timestamp), url: Some(url) };
        let signature = sign(scheme, secret.as_bytes(), &signed).unwrap();
        filled.push(("{signature}", signature.clone()));
        filled.push(("{timestamp}", timestamp.clone()));
        if case["headers"].is_null() {
            let mut headers: Headers = [(scheme.header(), signature)].into_iter().collect();
            if let Some(name) = scheme.timestamp_header() {
                headers.append(name, timestamp);
            }
            return headers;
        }
    }
    let fill =
        |value: &str| filled.iter().fold(expand(value), |value, (placeholder, with)| value.replace(placeholder, with));
    case["headers"]
        .as_array()
        .unwrap_or_else(|| panic!("case {}: neither sign nor headers", case["name"]))
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), fill(pair[1].as_str().unwrap())))
        .collect()
}

/// A store that records every write, to show that a refused request wrote
/// nothing.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    writes: usize,
}

impl Store for Recording {
    fn get(&self, key: &str, now: i64) -> Option<String> {
        self.inner.get(key, now)
    }
    fn put(&mut self, entry: &Entry, now: i64) {
        self.writes += 1;
        self.inner.put(entry, now);
    }
    fn claim(&mut self, entry: &Entry, now: i64) -> Option<String> {
        self.writes += 1;
        self.inner.claim(entry, now)
    }
    fn delete(&mut self, key: &str) {
        self.writes += 1;
        self.inner.delete(key);
    }
}

#[test]
fn every_hostile_request_gets_its_answer_and_changes_nothing() {
    let file = vectors();
    let values = settings(&file);
    let bridge = Bridge::new(Settings::from_lookup(|name| values.get(name).cloned()).unwrap());
    let cases = file["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let path = case["path"].as_str().unwrap();
        let url = format!("{BRIDGE}{path}");
        let body = body_of(case);
        let headers = headers_of(case, &values, &body, &url);
        let request = Request { method: "POST", path, url: &url, headers: &headers, body: &body };
        let mut store = Recording::default();
        let mut deliveries = 0;
        let response = drive(bridge.exchange(&request, NOW), &mut store, NOW, |_| {
            deliveries += 1;
            reamaze_bridge::DeliveryResult::answered(200, "")
        });

        let expect = &case["expect"];
        let answer = response.body_json();
        assert_eq!(u64::from(response.status), expect["status"].as_u64().unwrap(), "{name}: {answer}");
        match expect["error"].as_str() {
            Some(code) => assert_eq!(answer["error"], code, "{name}: {answer}"),
            None => assert_eq!(answer["status"], expect["outcome"], "{name}: {answer}"),
        }
        let message = answer["message"].as_str().or(answer["reason"].as_str()).unwrap_or_default();
        let part = expect["message"].as_str().unwrap();
        assert!(message.contains(part), "{name}: {message:?} does not contain {part:?}");
        if let Some(field) = expect["field"].as_str() {
            assert_eq!(answer["field"], field, "{name}: {answer}");
        }
        assert_eq!(deliveries, 0, "{name}: nothing may be delivered");
        let text = String::from_utf8_lossy(&response.body);
        for secret in SECRET_SETTINGS.iter().flat_map(|name| values[*name].split(',')) {
            assert!(!text.contains(secret), "{name}: the answer shows a secret");
        }
        if response.status >= 300 {
            assert_eq!(store.writes, 0, "{name}: a refused request stores nothing");
        }
    }
    assert!(cases.len() >= 25, "the file lost cases: {}", cases.len());
}

/// SECURITY.md's table shows what each case gets: a row with its name,
/// status and error code (or outcome).
#[test]
fn security_md_shows_every_case() {
    let security = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SECURITY.md")).unwrap();
    let rows: Vec<&str> = security.lines().filter(|l| l.starts_with('|')).collect();
    for case in vectors()["cases"].as_array().unwrap() {
        let expect = &case["expect"];
        let code = expect["error"].as_str().or(expect["outcome"].as_str()).unwrap();
        let row = format!("| {} | {} | `{code}` |", case["name"].as_str().unwrap(), expect["status"]);
        assert!(rows.iter().any(|r| r.starts_with(&row)), "SECURITY.md has no row starting {row:?}");
    }
}
