//! Runs the shared test vectors (tests/vectors/) against the core. The same
//! files serve the Node, Worker and browser tests.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use reamaze_bridge::bridge::{drive, Bridge};
use reamaze_bridge::http::{DeliveryResult, Headers, Request, Target};
use reamaze_bridge::mistakes::{self, Checked};
use reamaze_bridge::providers::{self, translate_payload, Outcome, Provider};
use reamaze_bridge::reamaze::{reply_to_sms, StaffReply};
use reamaze_bridge::signature::{self, Scheme, Signed, Window};
use reamaze_bridge::{MemoryStore, Settings};
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn body_of(v: &Value) -> Vec<u8> {
    match (v.get("body"), v.get("body_base64")) {
        (Some(Value::String(text)), _) => text.as_bytes().to_vec(),
        (_, Some(Value::String(b64))) => base64::engine::general_purpose::STANDARD.decode(b64).unwrap(),
        _ => panic!("vector without a body: {v}"),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Every difference between two JSON values, by path: "field by field".
fn differences(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let p = format!("{path}.{key}");
                match a.get(key) {
                    Some(av) => differences(ev, av, &p, out),
                    None => out.push(format!("{p}: expected {ev}, missing")),
                }
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{key}: unexpected {}", a[key]));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{path}: expected {} items, got {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}

fn assert_same(case: &str, expected: &Value, actual: &Value) {
    let mut diffs = Vec::new();
    differences(expected, actual, "", &mut diffs);
    assert!(diffs.is_empty(), "{case}:\n  {}", diffs.join("\n  "));
}

#[test]
fn signatures_computed_outside_match() {
    let file = load(&vectors_dir().join("signatures.json"));
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 40, "the vector file looks truncated");
    for v in vectors {
        let name = str_of(v, "name").unwrap();
        let scheme: &'static Scheme = str_of(v, "scheme").unwrap().parse().unwrap();
        let secret = str_of(v, "secret").unwrap();
        let body = body_of(v);
        let signed = Signed { body: &body, timestamp: str_of(v, "timestamp"), url: str_of(v, "url") };
        let expected = str_of(v, "signature").unwrap();
        assert_eq!(signature::sign(scheme, secret.as_bytes(), &signed).unwrap(), expected, "{name}");
        let now = str_of(v, "timestamp").map_or(0, |t| t.parse().unwrap());
        assert!(
            signature::verify(scheme, &[secret], &signed, Some(expected), Window::at(now)).is_ok(),
            "{name}: does not verify"
        );
    }
    // Every scheme the core reads has values computed outside it.
    for scheme in providers::schemes() {
        let covered = vectors.iter().filter(|v| str_of(v, "scheme") == Some(scheme.name)).count();
        assert!(covered >= 5, "{scheme}: {covered} signature vectors (tests/vectors/generate_signatures.py)");
    }
}

#[test]
fn verify_cases() {
    let file = load(&vectors_dir().join("verify-cases.json"));
    for case in file["cases"].as_array().unwrap() {
        let name = str_of(case, "name").unwrap();
        let scheme: &'static Scheme = str_of(case, "scheme").unwrap().parse().unwrap();
        let secrets: Vec<&str> = case["secrets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        let body = body_of(case);
        // Header names as senders write them; looked up case-insensitively.
        let headers: HashMap<String, &str> = case["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap()))
            .collect();
        let get = |name: &str| headers.get(&name.to_ascii_lowercase()).copied();
        let signed = Signed {
            body: &body,
            timestamp: get(reamaze_bridge::providers::bird::SCHEME.timestamp_header().unwrap()),
            url: str_of(case, "url"),
        };
        let window = Window::at(case["now"].as_i64().unwrap());
        let got = signature::verify(scheme, &secrets, &signed, get(scheme.header()), window);
        let expect = &case["expect"];
        match (got, expect.get("error").and_then(Value::as_str)) {
            (Ok(verified), None) => {
                assert_eq!(Some(verified.secret_index as u64), expect["secret_index"].as_u64(), "{name}")
            }
            (Err(e), Some(code)) => assert_eq!(e.code(), code, "{name}: {e}"),
            (got, _) => panic!("{name}: expected {expect}, got {got:?}"),
        }
        let owned: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        let checked = Checked { scheme, secrets: &owned, signed, received: get(scheme.header()), window };
        let causes = mistakes::diagnose(&checked, mistakes::DEFAULT_BUDGET).causes;
        let first = causes.first().map(|cause| cause.title.as_str());
        assert_eq!(first, expect.get("cause").and_then(Value::as_str), "{name}: the likely cause ({causes:?})");
        if let Some(count) = expect.get("cause_count").and_then(Value::as_u64) {
            assert_eq!(causes.len() as u64, count, "{name}: one cause for the same bytes ({causes:?})");
        }
    }
}

fn settings_for(case: &Value) -> Settings {
    let mut values: HashMap<String, String> = HashMap::new();
    if let Some(map) = case.get("settings").and_then(Value::as_object) {
        values.extend(map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())));
    }
    Settings::from_lookup(|name| values.get(name).cloned()).unwrap()
}

fn payload_bytes(case: &Value) -> Vec<u8> {
    match (case.get("payload_text"), case.get("payload")) {
        (Some(Value::String(text)), _) => text.as_bytes().to_vec(),
        (_, Some(payload)) => serde_json::to_vec(payload).unwrap(),
        _ => panic!("case without payload: {case}"),
    }
}

fn translation_cases() -> Vec<(String, Value)> {
    let dir = vectors_dir().join("translations");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some("json".as_ref()))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        for case in load(&file)["cases"].as_array().unwrap() {
            cases.push((format!("{stem}: {}", str_of(case, "name").unwrap()), case.clone()));
        }
    }
    cases
}

const NOW: i64 = 1_704_067_200;

/// What translation gives, in the vector files' `expect` form.
fn translate_case(case: &Value) -> Value {
    let settings = settings_for(case);
    let provider = str_of(case, "provider").unwrap();
    if provider == "reamaze-reply" {
        let reply: StaffReply = StaffReply::parse(&payload_bytes(case), 32).unwrap();
        return match reply_to_sms(&reply, settings.sms_channel_number.as_deref().unwrap()) {
            Ok(parts) => json!({ "sms": parts }),
            Err(e) => {
                let mut error = json!({ "code": e.code(), "status": e.status() });
                if let Some(field) = e.field() {
                    error["field"] = json!(field);
                }
                json!({ "error": error })
            }
        };
    }
    let provider: Provider = provider.parse().unwrap();
    let mut store = MemoryStore::new();
    for before in case.get("before").and_then(Value::as_array).into_iter().flatten() {
        translate_payload(provider, &serde_json::to_vec(before).unwrap(), &settings, &mut store, NOW).unwrap();
    }
    match translate_payload(provider, &payload_bytes(case), &settings, &mut store, NOW) {
        Ok((_, translation)) => match translation.outcome {
            Outcome::Messages(messages) => json!({ "messages": messages }),
            Outcome::Ignored(reason) => json!({ "ignored": reason }),
            Outcome::Held(reason) => json!({ "held": reason }),
        },
        Err(e) => {
            let mut error = json!({ "code": e.code(), "status": 400 });
            if let Some(field) = e.field() {
                error["field"] = json!(field);
            }
            json!({ "error": error })
        }
    }
}

#[test]
fn translations_match_the_vectors_field_by_field() {
    let cases = translation_cases();
    assert!(cases.len() >= 50, "only {} translation cases found", cases.len());
    for (name, case) in &cases {
        assert_same(name, &case["expect"], &translate_case(case));
    }
}

/// Every Voice360 event type the reference documents has a vector copied
/// from the reference's own example. The list of documented types is kept
/// in the repository (`tests/vectors/voice360-events.json`), so this test
/// runs in full wherever the repository is.
#[test]
fn every_voice360_reference_event_has_a_vector() {
    let file = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/voice360-events.json"))
        .expect("tests/vectors/voice360-events.json");
    let documented: Value = serde_json::from_str(&file).unwrap();
    let documented: Vec<&str> = documented["events"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(documented.len(), 20, "Voice360 documents 20 event types");
    let covered: Vec<String> = translation_cases()
        .iter()
        .filter(|(_, c)| str_of(c, "source").is_some_and(|s| s.starts_with("voice360-api-v3.txt")))
        .filter_map(|(_, c)| c["payload"]["event_name"].as_str().map(String::from))
        .collect();
    for event in documented {
        assert!(covered.iter().any(|c| c == event), "no vector for the reference example of {event}");
    }
}

fn header_map(pairs: &[(String, String)]) -> Headers {
    pairs.iter().cloned().collect()
}

/// The same cases through the whole bridge: signed as the provider would,
/// delivered to a recording stand-in; the posted bodies must be the
/// expected messages, signed with the right channel's secret.
#[test]
fn translations_through_the_bridge() {
    const BASE: &str = "https://reamaze.test";
    for (name, case) in translation_cases() {
        let provider = str_of(&case, "provider").unwrap();
        let mut pairs: Vec<(String, String)> = case
            .get("settings")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        pairs.extend(
            [
                ("REAMAZE_BASE_URL", BASE),
                ("REAMAZE_VOICE_SECRET", "voice-secret"),
                ("REAMAZE_SMS_SECRET", "sms-secret"),
                ("VOICE360_API_KEY", "api-key"),
                ("VOICE360_ACCOUNT_ID", "61"),
                ("VOICE360_API_BASE", "https://voice360.test/v3/voice"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        // Each provider's webhooks signed with a secret of its own.
        let secret_of = |p: Provider| format!("{}-secret", p.name());
        pairs.extend(providers::ALL.map(|p| (p.secrets.to_string(), secret_of(p))));
        if !pairs.iter().any(|(k, _)| k == "SMS_CHANNEL_NUMBER") {
            pairs.push(("SMS_CHANNEL_NUMBER".into(), "+16501234567".into()));
        }
        let values: HashMap<String, String> = pairs.into_iter().collect();
        let bridge = Bridge::new(Settings::from_lookup(|n| values.get(n).cloned()).unwrap());
        let mut store = MemoryStore::new();

        let signed_request = |body: &[u8]| -> (String, Vec<(String, String)>) {
            let url = format!("https://bridge.test/webhooks/{provider}");
            let headers = match Provider::named(provider) {
                // As its scheme signs: the body, or a stamp of now and the URL.
                Some(p) => {
                    let ts = NOW.to_string();
                    let signed = Signed::stamped(body, &ts, &url);
                    let sig = signature::sign(p.scheme, secret_of(p).as_bytes(), &signed).unwrap();
                    let stamp = p.scheme.timestamp_header().map(|name| (name.to_string(), ts));
                    std::iter::once((p.scheme.header.to_string(), sig)).chain(stamp).collect()
                }
                None if provider == "reamaze-reply" => {
                    vec![("X-Reamaze-Hmac-SHA256".into(), signature::sign_reamaze(b"sms-secret", body))]
                }
                None => panic!("{provider}"),
            };
            let url = if provider == "reamaze-reply" { "https://bridge.test/webhooks/reamaze/sms".into() } else { url };
            (url, headers)
        };
        type Sent = Vec<(Target, String, Vec<u8>, Vec<(String, String)>)>;
        let mut post = |body: &[u8], sent: &mut Sent| {
            let (url, headers) = signed_request(body);
            let headers = header_map(&headers);
            let path = url.trim_start_matches("https://bridge.test").to_string();
            let request = Request { method: "POST", path: &path, url: &url, headers: &headers, body };
            drive(bridge.exchange(&request, NOW), &mut store, NOW, |d| {
                sent.push((d.target.clone(), d.url.clone(), d.body.clone(), d.headers.clone()));
                DeliveryResult::answered(200, r#"{"error":false}"#)
            })
        };

        let mut ignored = Vec::new();
        for before in case.get("before").and_then(Value::as_array).into_iter().flatten() {
            post(&serde_json::to_vec(before).unwrap(), &mut ignored);
        }
        let mut sent = Vec::new();
        let response = post(&payload_bytes(&case), &mut sent);
        let expect = &case["expect"];
        if let Some(error) = expect.get("error") {
            assert_eq!(
                u64::from(response.status),
                error["status"].as_u64().unwrap(),
                "{name}: {:?}",
                response.body_json()
            );
            assert_eq!(response.body_json()["error"], error["code"], "{name}");
            assert!(sent.is_empty(), "{name}: delivered despite the error");
        } else if let Some(reason) = expect.get("ignored") {
            assert_eq!(response.status, 200, "{name}");
            assert_eq!(response.body_json()["reason"], *reason, "{name}");
            assert!(sent.is_empty(), "{name}: delivered an ignored event");
        } else if let Some(reason) = expect.get("held") {
            assert_eq!(response.status, 202, "{name}: {:?}", response.body_json());
            assert_eq!(response.body_json()["status"], "held", "{name}");
            assert_eq!(response.body_json()["reason"], *reason, "{name}");
            assert!(sent.is_empty(), "{name}: delivered a held event");
        } else if let Some(sms) = expect.get("sms") {
            assert_eq!(response.status, 200, "{name}: {:?}", response.body_json());
            let bodies: Vec<Value> = sent.iter().map(|(_, _, raw, _)| serde_json::from_slice(raw).unwrap()).collect();
            assert_same(&name, sms, &Value::Array(bodies));
            for (_, url, _, headers) in &sent {
                assert_eq!(url, "https://voice360.test/v3/voice/61/sms/send", "{name}");
                assert!(headers.contains(&("X-API-Key".into(), "api-key".into())), "{name}");
            }
        } else {
            assert_eq!(response.status, 200, "{name}: {:?}", response.body_json());
            let expected = expect["messages"].as_array().unwrap();
            assert_eq!(sent.len(), expected.len(), "{name}");
            for ((target, url, raw, headers), want) in sent.iter().zip(expected) {
                let channel = want["channel"].as_str().unwrap();
                assert_eq!(url, &format!("{BASE}/incoming/{channel}"), "{name}");
                assert!(matches!(target, Target::Reamaze { .. }), "{name}");
                assert_same(&name, &want["message"], &serde_json::from_slice(raw).unwrap());
                let secret: &[u8] = if channel == "voice" { b"voice-secret" } else { b"sms-secret" };
                let header = headers.iter().find(|(k, _)| k == "X-Reamaze-Hmac-SHA256").map(|(_, v)| v.as_str());
                // Over the exact bytes that were sent.
                assert!(
                    signature::verify(
                        &reamaze_bridge::reamaze::SCHEME,
                        &[secret],
                        &Signed::body(raw),
                        header,
                        Window::at(0)
                    )
                    .is_ok(),
                    "{name}: the delivery's signature does not verify with the {channel} channel's secret"
                );
            }
        }
    }
}
