//! What follows an answer (`Bridge::aftermath`): refused webhooks kept with
//! their likely cause, the count of a route's refusals, and the alerts,
//! signed as Standard Webhooks sign them. The signatures are checked here
//! with the `hmac` crate over the bytes the specification names; the
//! Worker's tests check them with Node's crypto.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reamaze_bridge::admin::rejected;
use reamaze_bridge::bridge::{with_store, Bridge, Finished, Step};
use reamaze_bridge::http::{Delivery, DeliveryResult, Headers, Request};
use reamaze_bridge::queue::{DeadLetter, Queued};
use reamaze_bridge::reamaze::{Channel, Direction, Message, Outgoing, Party};
use reamaze_bridge::store::{keys, Entry, MemoryStore, Store};
use reamaze_bridge::Settings;
use serde_json::Value;

const NOW: i64 = 1_704_067_200;
/// `whsec_` then base64 of the key's bytes, as Standard Webhooks writes it.
const ALERT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ALERT_URL: &str = "https://alerts.example/hook";

fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut values: HashMap<&str, &str> = HashMap::from([
        ("REAMAZE_VOICE_SECRET", "voice-secret"),
        ("VOLUBILE_WEBHOOK_SECRETS", "vol-secret"),
        ("ADMIN_TOKEN", "admin-token"),
        ("ALERT_WEBHOOK_URL", ALERT_URL),
        ("ALERT_WEBHOOK_SECRET", ALERT_SECRET),
        ("ALERT_REJECTED_THRESHOLD", "3"),
    ]);
    values.extend(extra.iter().copied());
    Settings::read(|n| values.get(n).map(|v| v.to_string()))
}

const VOLUBILE: &[u8] = br#"{"id":"v1","phone":"+33612345678","type":"INBOUND","status":"COMPLETED","duration":60}"#;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A Volubile webhook signed with `signature`, answered, then its aftermath
/// run against `store` and `send`.
fn refused(
    bridge: &Bridge,
    signature: &str,
    store: &mut Kept,
    now: i64,
    send: &mut dyn FnMut(&Delivery) -> DeliveryResult,
) -> (Finished, Option<Finished>) {
    let headers: Headers = [("X-Webhook-Signature", signature)].into_iter().collect();
    let request = Request {
        method: "POST",
        path: "/webhooks/volubile",
        url: "https://b.test/webhooks/volubile",
        headers: &headers,
        body: VOLUBILE,
    };
    let Step::Respond(finished) = with_store(bridge.exchange(&request, now), store, now) else {
        panic!("a refusal delivers nothing")
    };
    let after = bridge.aftermath(&request, &finished, now).map(|step| run(step, store, now, send));
    (finished, after)
}

fn run(mut step: Step, store: &mut Kept, now: i64, send: &mut dyn FnMut(&Delivery) -> DeliveryResult) -> Finished {
    loop {
        step = match with_store(step, store, now) {
            Step::Deliver(deliver) => {
                let result = send(deliver.delivery());
                deliver.answer(result)
            }
            Step::Respond(finished) => return finished,
            other => panic!("an aftermath asked for {other:?}"),
        }
    }
}

fn listed(bridge: &Bridge, store: &Kept) -> Value {
    let mut kept: Vec<(String, Option<String>)> = store_keys(store, keys::REJECTED_PREFIX)
        .into_iter()
        .map(|key| {
            let value = store.get(&key, NOW);
            (key, value)
        })
        .collect();
    kept.sort();
    serde_json::from_slice(&rejected::listing(bridge.settings(), &kept).0.body).unwrap()
}

/// A memory store that also says what it holds and until when: the
/// listing a Worker does over KV, for these tests.
#[derive(Default)]
struct Kept {
    store: MemoryStore,
    expiries: std::collections::BTreeMap<String, i64>,
}

impl Store for Kept {
    fn get(&self, key: &str, now: i64) -> Option<String> {
        self.store.get(key, now)
    }
    fn put(&mut self, entry: &Entry, now: i64) {
        self.expiries.insert(entry.key.clone(), now + entry.ttl_seconds as i64);
        self.store.put(entry, now);
    }
    fn claim(&mut self, entry: &Entry, now: i64) -> Option<String> {
        let held = self.store.claim(entry, now);
        if held.is_none() {
            self.expiries.insert(entry.key.clone(), now + entry.ttl_seconds as i64);
        }
        held
    }
    fn delete(&mut self, key: &str) {
        self.expiries.remove(key);
        self.store.delete(key);
    }
}

impl Kept {
    fn expiry(&self, key: &str) -> Option<i64> {
        self.expiries.get(key).copied()
    }
}

/// The keys with `prefix`.
fn store_keys(store: &Kept, prefix: &str) -> Vec<String> {
    store.expiries.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
}

fn never(_: &Delivery) -> DeliveryResult {
    panic!("no alert was expected")
}

#[test]
fn a_refused_webhook_is_kept_with_its_likely_cause() {
    let bridge = Bridge::new(settings(&[("ALERT_WEBHOOK_URL", "")])).keeps_records(true);
    let mut store = Kept::default();
    // The right MAC, in base64: Volubile takes hex.
    let base64_mac = base64::engine::general_purpose::STANDARD.encode(hmac(b"vol-secret", VOLUBILE));
    let (finished, after) = refused(&bridge, &base64_mac, &mut store, NOW, &mut never);
    assert_eq!(finished.response.status, 401);
    assert_eq!(after.map(|f| f.summary.result), Some("done"));
    let listing = listed(&bridge, &store);
    assert_eq!(listing["count"], 1);
    let record = &listing["rejected"][0];
    assert_eq!(record["route"], "/webhooks/volubile");
    assert_eq!((record["status"].as_u64(), record["code"].as_str()), (Some(401), Some("malformed_signature")));
    assert_eq!(record["headers"][0][0], "X-Webhook-Signature");
    assert_eq!(record["body"].as_str().unwrap().as_bytes(), VOLUBILE);
    assert_eq!(record["causes"][0]["title"], "Base64 where hex was expected");
    assert_eq!((record["event"].as_str(), record["call"].as_str()), (Some("COMPLETED"), Some("v1")), "named");
    let ttl = store.expiry(&keys::rejected(NOW, record["id"].as_str().unwrap()));
    assert_eq!(ttl, Some(NOW + 7 * 86_400), "kept for 7 days");
}

#[test]
fn only_the_last_rejected_keep_are_listed_and_the_older_are_given_back_to_delete() {
    let bridge = Bridge::new(settings(&[("ALERT_WEBHOOK_URL", ""), ("REJECTED_KEEP", "2")])).keeps_records(true);
    let mut store = Kept::default();
    for i in 0..4 {
        refused(&bridge, "bad", &mut store, NOW + i, &mut never);
    }
    let mut kept: Vec<(String, Option<String>)> =
        store_keys(&store, keys::REJECTED_PREFIX).into_iter().map(|k| (k.clone(), store.get(&k, NOW + 10))).collect();
    kept.sort();
    let (answer, older) = rejected::listing(bridge.settings(), &kept);
    let listing: Value = serde_json::from_slice(&answer.body).unwrap();
    let ats: Vec<i64> = listing["rejected"].as_array().unwrap().iter().map(|r| r["at"].as_i64().unwrap()).collect();
    assert_eq!(ats, [NOW + 3, NOW + 2], "the newest first");
    assert_eq!(older.len(), 2);
    assert!(listing["rejected"][0]["causes"][0]["title"].as_str().unwrap().contains("not a signature of this scheme"));
}

#[test]
fn nothing_is_kept_without_an_admin_token_or_where_the_shell_cannot_list() {
    for bridge in [
        Bridge::new(settings(&[("ALERT_WEBHOOK_URL", ""), ("ADMIN_TOKEN", "")])).keeps_records(true),
        Bridge::new(settings(&[("ALERT_WEBHOOK_URL", "")])),
    ] {
        let mut store = Kept::default();
        let (_, after) = refused(&bridge, "bad", &mut store, NOW, &mut never);
        assert!(after.is_none(), "nothing follows");
        assert!(store_keys(&store, "").is_empty());
    }
}

/// A Standard Webhooks signature, checked over `id.timestamp.body` with the
/// secret's bytes.
fn assert_signed(delivery: &Delivery) -> Value {
    let header = |name: &str| delivery.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let key = base64::engine::general_purpose::STANDARD.decode(ALERT_SECRET.strip_prefix("whsec_").unwrap()).unwrap();
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", &delivery.body].concat();
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(hmac(&key, &signed)));
    assert_eq!(header("webhook-signature"), expected);
    assert!(id.starts_with("msg_"));
    assert_eq!(delivery.url, ALERT_URL);
    serde_json::from_slice(&delivery.body).unwrap()
}

#[test]
fn a_spike_of_refusals_alerts_once_an_hour_per_route() {
    let bridge = Bridge::new(settings(&[])).keeps_records(true);
    let mut store = Kept::default();
    let alerts = std::cell::RefCell::new(Vec::new());
    let mut send = |d: &Delivery| {
        alerts.borrow_mut().push(assert_signed(d));
        DeliveryResult::answered(204, "")
    };
    let results: Vec<&str> = (0..5)
        .map(|i| refused(&bridge, "bad", &mut store, NOW + i * 60, &mut send).1.unwrap().summary.result)
        .collect();
    assert_eq!(results, ["done", "done", "alerted", "done", "done"], "at the third refusal (ALERT_REJECTED_THRESHOLD)");
    assert_eq!(alerts.borrow().len(), 1);
    let alert = alerts.borrow()[0].clone();
    assert_eq!(alert["type"], "webhooks.rejected_spike");
    assert_eq!(
        (alert["data"]["route"].as_str(), alert["data"]["count"].as_u64()),
        (Some("/webhooks/volubile"), Some(3))
    );
    assert!(alert["text"].as_str().unwrap().starts_with("3 webhooks refused on /webhooks/volubile"));
    assert_eq!(alert["timestamp"], "2024-01-01T00:02:00+00:00");
    // An hour later, a spike alerts again.
    for i in 0..3 {
        refused(&bridge, "bad", &mut store, NOW + 3600 + i, &mut send);
    }
    assert_eq!(alerts.borrow().len(), 2);
}

#[test]
fn refusals_spread_over_more_than_ten_minutes_do_not_alert() {
    let bridge = Bridge::new(settings(&[])).keeps_records(true);
    let mut store = Kept::default();
    // Two early in one window, one late in the next: 19 minutes apart. The
    // last window counts only for the part still within ten minutes.
    for at in [NOW + 10, NOW + 20, NOW + 1190] {
        refused(&bridge, "bad", &mut store, at, &mut never);
    }
}

#[test]
fn an_alert_that_fails_is_tried_three_times_then_the_next_refusal_alerts() {
    let bridge = Bridge::new(settings(&[("ALERT_REJECTED_THRESHOLD", "1")])).keeps_records(true);
    let mut store = Kept::default();
    let mut attempts = 0;
    let (finished, after) = refused(&bridge, "bad", &mut store, NOW, &mut |_| {
        attempts += 1;
        DeliveryResult::answered(500, "down")
    });
    assert_eq!(finished.response.status, 401, "the answer is the refusal's, whatever the alert");
    assert_eq!((attempts, after.unwrap().summary.result), (3, "alert_failed"));
    let mut sent = 0;
    let (_, after) = refused(&bridge, "bad", &mut store, NOW + 1, &mut |_| {
        sent += 1;
        DeliveryResult::answered(200, "")
    });
    assert_eq!((sent, after.unwrap().summary.result), (1, "alerted"), "the claim was let go");
}

#[test]
fn a_setting_that_cannot_be_used_is_alerted_once_a_day() {
    let bridge = Bridge::new(settings(&[("VOICE360_AGENTS", "not an entry"), ("ALERT_REJECTED_THRESHOLD", "100")]));
    let mut store = Kept::default();
    let mut alerts = Vec::new();
    let mut send = |d: &Delivery| {
        alerts.push(assert_signed(d));
        DeliveryResult::answered(200, "")
    };
    for i in 0..3 {
        refused(&bridge, "bad", &mut store, NOW + i, &mut send);
    }
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["type"], "settings.invalid");
    assert_eq!(alerts[0]["data"]["settings"][0]["setting"], "VOICE360_AGENTS");
    assert!(alerts[0]["text"].as_str().unwrap().contains("VOICE360_AGENTS"));
    assert!(!alerts[0].to_string().contains("not an entry"), "never the value");
}

/// The dead letter `voice360:CALL_ENDED:9`, after `attempts`.
fn dead_letter(attempts: u32, last_error: &str, upstream_status: Option<u16>) -> DeadLetter {
    let message = Message::between(
        "voice360:CALL_ENDED:9".into(),
        Direction::Inbound,
        Party::phone("+15551234567"),
        Party::phone("+15559876543"),
        "Call ended".into(),
    );
    let outgoing = Outgoing { channel: Channel::Voice, message };
    let queued = Queued::new(&outgoing, "voice360", "CALL_ENDED", NOW);
    DeadLetter { queued, attempts, last_error: last_error.into(), upstream_status, dead_at: NOW }
}

/// The alerts `dead` raises, announced twice.
fn announced(bridge: &Bridge, dead: &DeadLetter) -> Vec<Value> {
    let mut store = Kept::default();
    let mut alerts = Vec::new();
    for _ in 0..2 {
        let step = bridge.dead_letter_aftermath(dead, NOW).unwrap();
        run(step, &mut store, NOW, &mut |d| {
            alerts.push(assert_signed(d));
            DeliveryResult::answered(200, "")
        });
    }
    alerts
}

#[test]
fn a_dead_letter_is_announced_once() {
    let bridge = Bridge::new(settings(&[]));
    let alerts = announced(&bridge, &dead_letter(10, "timed out after 10000 ms", Some(400)));
    assert_eq!(alerts.len(), 1, "a redelivered dead letter is announced once");
    assert_eq!(alerts[0]["type"], "dead_letter.created");
    assert_eq!(alerts[0]["data"]["message_id"], "voice360:CALL_ENDED:9");
    assert!(alerts[0]["text"].as_str().unwrap().contains("after 10 attempts (Re:amaze answered 400): timed out"));
    assert_eq!(alerts[0].get("bridge"), None, "no name unless BRIDGE_NAME is set");
}

/// The line a person reads: the deployment first, "1 attempt", and
/// Re:amaze's answer said once.
#[test]
fn an_alert_names_its_deployment_and_reads_cleanly() {
    let bridge = Bridge::new(settings(&[("BRIDGE_NAME", "support-eu")]));
    let alerts = announced(&bridge, &dead_letter(1, "Re:amaze answered 400: phone number is invalid", Some(400)));
    assert_eq!(alerts[0]["bridge"], "support-eu");
    assert_eq!(
        alerts[0]["text"],
        "[support-eu] Dead letter: voice360 CALL_ENDED message voice360:CALL_ENDED:9 was not delivered after 1 \
         attempt: Re:amaze answered 400: phone number is invalid. Replay it from the admin console."
    );
}

#[test]
fn an_unusable_alert_secret_turns_alerts_off_and_says_so() {
    let s = settings(&[("ALERT_WEBHOOK_SECRET", "not-whsec")]);
    assert_eq!(s.invalid.iter().map(|e| e.name).collect::<Vec<_>>(), ["ALERT_WEBHOOK_SECRET"]);
    let bridge = Bridge::new(s).keeps_records(true);
    let mut store = Kept::default();
    let (_, after) = refused(&bridge, "bad", &mut store, NOW, &mut never);
    assert_eq!(after.unwrap().summary.result, "done", "kept, not alerted");
}

#[test]
fn a_body_kept_in_part_is_not_analysed_and_one_not_utf8_is_kept_byte_exact() {
    let settings = settings(&[]);
    let record = |body: &[u8], signature: &str| {
        let headers: Headers = [("X-Webhook-Signature", signature)].into_iter().collect();
        let request = Request {
            method: "POST",
            path: "/webhooks/volubile",
            url: "https://b.test/webhooks/volubile",
            headers: &headers,
            body,
        };
        let answer = rejected::Answer { status: 401, code: "signature_mismatch", body: b"{}" };
        let record = rejected::Rejected::of(
            &request,
            &["X-Webhook-Signature"],
            request.url,
            Some(&reamaze_bridge::providers::volubile::SCHEME),
            answer,
            NOW,
        );
        rejected::Rejected::read(&record.entry().value).unwrap()
    };
    let cause = |record: &rejected::Rejected| record.causes(&settings)[0].title.clone();
    assert_eq!(cause(&record(&vec![b' '; rejected::BODY_KEPT + 1], "bad")), "The body is too long to analyse here");
    assert_eq!(cause(&record(VOLUBILE, "bad")), "The header is not a signature of this scheme");

    // Bytes that are not UTF-8, with a NUL and a CR, signed without the
    // final newline they arrive with: kept exactly, and explained.
    let sent = b"\xff\x00{\"a\":\r1}";
    let received = [sent.as_slice(), b"\n"].concat();
    let not_utf8 = record(&received, &hex::encode(hmac(b"vol-secret", sent)));
    let kept = base64::engine::general_purpose::STANDARD.decode(not_utf8.body_base64.as_deref().unwrap()).unwrap();
    assert_eq!(kept, received, "the bytes as received");
    assert_eq!(cause(&not_utf8), "The body was signed with its final newline removed");
    assert_eq!(record(VOLUBILE, "bad").body_base64, None, "UTF-8 text is kept as text alone");
}
