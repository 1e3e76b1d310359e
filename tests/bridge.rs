//! The bridge plan's behaviour: what the sender is answered and what is
//! delivered, for good and bad requests and for every upstream outcome.

mod common;

use std::collections::HashMap;

use reamaze_bridge::bridge::{drive, with_store, Bridge, Deliver, Step};
use reamaze_bridge::http::{Delivery, DeliveryResult, Headers, Request, Response, Target, Verdict};
use reamaze_bridge::signature::{self, Signed};
use reamaze_bridge::store::Store;
use reamaze_bridge::{MemoryStore, Settings};
use serde_json::{json, Value};

const NOW: i64 = 1_704_067_200;
const WEBHOOK_SECRET: &[u8] = b"v360-secret";

fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut values: HashMap<&str, &str> = HashMap::from([
        ("REAMAZE_BASE_URL", "https://reamaze.test"),
        ("REAMAZE_VOICE_SECRET", "voice-secret"),
        ("REAMAZE_SMS_SECRET", "sms-secret"),
        ("VOICE360_WEBHOOK_SECRETS", "old-secret,v360-secret"),
        ("VOICE360_API_KEY", "api-key-123"),
        ("VOICE360_ACCOUNT_ID", "61"),
        ("VOICE360_API_BASE", "https://voice360.test/v3/voice"),
        ("SMS_CHANNEL_NUMBER", "+15559876543"),
        ("BIRD_SIGNING_KEYS", "bird-key"),
        ("VOLUBILE_WEBHOOK_SECRETS", "vol-secret"),
    ]);
    values.extend(extra.iter().copied());
    Settings::from_lookup(|name| values.get(name).map(|v| v.to_string()).filter(|v| !v.is_empty())).unwrap()
}

/// A bridge with its store, and a record of what it delivered.
struct Harness {
    bridge: Bridge,
    store: MemoryStore,
    delivered: Vec<Delivery>,
}

impl Harness {
    fn new(extra: &[(&str, &str)]) -> Self {
        Harness { bridge: Bridge::new(settings(extra)), store: MemoryStore::new(), delivered: Vec::new() }
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
        mut answer: impl FnMut(&Delivery) -> DeliveryResult,
    ) -> Response {
        let map: Headers = headers.iter().map(|(k, v)| (*k, v.clone())).collect();
        let url = format!("https://bridge.test{path}");
        let request = Request { method, path, url: &url, headers: &map, body };
        let delivered = &mut self.delivered;
        drive(self.bridge.exchange(&request, NOW), &mut self.store, NOW, |d| {
            delivered.push(d.clone());
            answer(d)
        })
    }

    /// A Voice360 webhook signed with the second configured secret.
    fn voice360(&mut self, body: &Value, answer: impl FnMut(&Delivery) -> DeliveryResult) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        let sig = signature::sign(&reamaze_bridge::providers::voice360::SCHEME, WEBHOOK_SECRET, &Signed::body(&body))
            .unwrap();
        self.request("POST", "/webhooks/voice360", &[("X-Voice360-Signature", sig)], &body, answer)
    }

    fn staff_reply(&mut self, body: &Value, answer: impl FnMut(&Delivery) -> DeliveryResult) -> Response {
        let body = serde_json::to_vec(body).unwrap();
        let sig = signature::sign_reamaze(b"sms-secret", &body);
        self.request("POST", "/webhooks/reamaze/sms", &[("X-Reamaze-Hmac-SHA256", sig)], &body, answer)
    }
}

fn accepted() -> DeliveryResult {
    DeliveryResult::answered(200, r#"{"error":false,"message":"Success"}"#)
}

fn ok(_: &Delivery) -> DeliveryResult {
    accepted()
}

fn never(d: &Delivery) -> DeliveryResult {
    panic!("nothing should be delivered, but {} was", d.url)
}

fn incoming_call(uniqueid: &str) -> Value {
    json!({"event_name": "INCOMING_EXTERNAL_CALL", "account_id": "12345", "timestamp": NOW,
           "metadata": {"caller_id_number": "+15551234567", "caller_id_name": "John Doe",
                        "dnis": "+15559876543", "uniqueid": uniqueid}})
}

fn sms_sent(to: &[&str], text: &str) -> Value {
    json!({"event_name": "SMS_SENT", "account_id": "12345", "timestamp": NOW,
           "metadata": {"from_number": "+15559876543", "to_number": to, "body": text, "message_id": "m1"}})
}

#[test]
fn delivers_a_signed_message_once() {
    let mut h = Harness::new(&[]);
    let first = h.voice360(&incoming_call("1.1"), ok);
    assert_eq!(first.status, 200, "{:?}", first.body_json());
    assert_eq!(first.body_json()["status"], "delivered");
    assert_eq!(h.delivered.len(), 1);
    let d = &h.delivered[0];
    assert_eq!(d.url, "https://reamaze.test/incoming/voice");
    let sig = d.headers.iter().find(|(k, _)| k == "X-Reamaze-Hmac-SHA256").unwrap();
    assert_eq!(sig.1, signature::sign_reamaze(b"voice-secret", &d.body));

    let again = h.voice360(&incoming_call("1.1"), never);
    assert_eq!(again.status, 200);
    assert_eq!(again.body_json()["status"], "duplicate");
    assert_eq!(h.delivered.len(), 1);
}

#[test]
fn routes_methods_and_size() {
    let mut h = Harness::new(&[("MAX_BODY_BYTES", "64")]);
    let r = h.request("POST", "/webhooks/twilio", &[], b"{}", never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (404, json!("not_found")));
    let r = h.request("GET", "/webhooks/voice360", &[], b"", never);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("POST"));
    let r = h.request("POST", "/webhooks/voice360", &[], &[b' '; 65], never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (413, json!("body_too_large")));
    let r = h.request("GET", "/healthz/", &[], b"", never);
    assert_eq!(r.status, 200);
}

#[test]
fn bad_signatures_are_401_and_deliver_nothing() {
    let mut h = Harness::new(&[]);
    let body = serde_json::to_vec(&incoming_call("2.1")).unwrap();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "missing_signature"),
        (vec![("X-Voice360-Signature", "sha256=zz".into())], "malformed_signature"),
        (
            vec![(
                "X-Voice360-Signature",
                signature::sign(&reamaze_bridge::providers::voice360::SCHEME, b"wrong", &Signed::body(&body)).unwrap(),
            )],
            "signature_mismatch",
        ),
        // Another route's secret: a Re:amaze signature on a provider route.
        (
            vec![("X-Voice360-Signature", format!("sha256={}", signature::sign_reamaze(b"voice-secret", &body)))],
            "malformed_signature",
        ),
    ];
    for (headers, code) in cases {
        let r = h.request("POST", "/webhooks/voice360", &headers, &body, never);
        assert_eq!(r.status, 401, "{code}");
        let json = r.body_json();
        assert_eq!(json["error"], code);
        let text = String::from_utf8(r.body.clone()).unwrap();
        assert!(!text.contains("v360-secret") && !text.contains("old-secret"), "a secret leaked: {text}");
    }
}

#[test]
fn malformed_json_is_400_after_a_valid_signature() {
    let mut h = Harness::new(&[]);
    let body = b"{\"event_name\": ";
    let sig =
        signature::sign(&reamaze_bridge::providers::voice360::SCHEME, WEBHOOK_SECRET, &Signed::body(body)).unwrap();
    let r = h.request("POST", "/webhooks/voice360", &[("X-Voice360-Signature", sig)], body, never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (400, json!("invalid_json")));
}

#[test]
fn the_limits_follow_their_settings() {
    // An ordinary call nests two levels (the payload, its metadata).
    let body = serde_json::to_vec(&incoming_call("limits.1")).unwrap();
    let sig =
        signature::sign(&reamaze_bridge::providers::voice360::SCHEME, WEBHOOK_SECRET, &Signed::body(&body)).unwrap();
    let signed = [("X-Voice360-Signature", sig.clone())];
    let mut shallow = Harness::new(&[("MAX_JSON_DEPTH", "1")]);
    let r = shallow.request("POST", "/webhooks/voice360", &signed, &body, never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (400, json!("json_too_deep")));
    assert!(r.body_json()["message"].as_str().unwrap().contains("more than 1 deep"));
    let mut two = Harness::new(&[("MAX_JSON_DEPTH", "2")]);
    assert_eq!(two.request("POST", "/webhooks/voice360", &signed, &body, ok).status, 200);

    // The real signature is 71 bytes.
    let mut tight = Harness::new(&[("MAX_HEADER_BYTES", "70")]);
    let r = tight.request("POST", "/webhooks/voice360", &signed, &body, never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (431, json!("header_too_large")));
    let mut fits = Harness::new(&[("MAX_HEADER_BYTES", "71")]);
    assert_eq!(fits.request("POST", "/webhooks/voice360", &signed, &body, ok).status, 200);
    assert!(tight.delivered.is_empty() && shallow.delivered.is_empty());
}

#[test]
fn unconfigured_parts_answer_503_and_name_the_setting() {
    let mut h = Harness::new(&[("VOICE360_WEBHOOK_SECRETS", "")]);
    let r = h.request("POST", "/webhooks/voice360", &[], b"{}", never);
    assert_eq!(r.status, 503);
    assert!(r.body_json()["message"].as_str().unwrap().contains("VOICE360_WEBHOOK_SECRETS"));

    let mut h = Harness::new(&[("REAMAZE_VOICE_SECRET", "")]);
    let r = h.voice360(&incoming_call("3.1"), never);
    assert_eq!(r.status, 503);
    assert!(r.body_json()["message"].as_str().unwrap().contains("REAMAZE_VOICE_SECRET"));
}

#[test]
fn reamaze_failures_map_to_the_senders_status() {
    type Answer = fn(&Delivery) -> DeliveryResult;
    let cases: [(Answer, u16, Option<&str>); 5] = [
        (
            |_| DeliveryResult { status: Some(503), retry_after: Some("30".into()), body: "down".into() },
            503,
            Some("30"),
        ),
        (
            |_| DeliveryResult { status: Some(429), retry_after: Some("7".into()), body: "slow down".into() },
            503,
            Some("7"),
        ),
        (|_| DeliveryResult::answered(400, r#"{"error":"bad phone"}"#), 502, None),
        (|_| DeliveryResult::unanswered("timed out after 10 s"), 503, None),
        (|_| DeliveryResult::unanswered("connection refused"), 503, None),
    ];
    for (i, (answer, status, retry_after)) in cases.into_iter().enumerate() {
        let mut h = Harness::new(&[]);
        let r = h.voice360(&incoming_call(&format!("4.{i}")), answer);
        assert_eq!(r.status, status, "case {i}: {:?}", r.body_json());
        assert_eq!(r.header("Retry-After"), retry_after, "case {i}");
        let upstream = &r.body_json()["upstream"];
        assert!(upstream["body"].as_str().is_some_and(|b| !b.is_empty()), "case {i}: says what upstream said");
        // Nothing was marked as delivered: the sender's retry posts it.
        let retry = h.voice360(&incoming_call(&format!("4.{i}")), ok);
        assert_eq!((retry.status, retry.body_json()["status"].clone()), (200, json!("delivered")), "case {i}");
    }
}

#[test]
fn a_retry_posts_only_what_did_not_get_through() {
    let mut h = Harness::new(&[]);
    let event = sms_sent(&["+15551234567", "+15550001111"], "Closed today");
    let mut calls = 0;
    let r = h.voice360(&event, |_| {
        calls += 1;
        if calls == 1 {
            accepted()
        } else {
            DeliveryResult::answered(502, "bad gateway")
        }
    });
    assert_eq!(r.status, 503);
    assert_eq!(h.delivered.len(), 2);
    let retry = h.voice360(&event, ok);
    assert_eq!(retry.status, 200);
    assert_eq!(h.delivered.len(), 3);
    let last: Value = serde_json::from_slice(&h.delivered[2].body).unwrap();
    assert_eq!(last["to"]["phone"], "+15550001111");
    let results: Vec<String> = retry.body_json()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["result"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(results, ["duplicate", "delivered"]);
}

#[test]
fn staff_reply_is_sent_through_voice360() {
    let mut h = Harness::new(&[]);
    let reply = json!({"to": {"name": "Support", "phone": "+15559876543"}, "from": {"name": "Customer", "phone": "+15551234567"},
                       "body": "Your parcel left today", "attachments": ["https://cdn.test/label.pdf"], "thread_id": "t1"});
    let r = h.staff_reply(&reply, ok);
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    assert_eq!(h.delivered.len(), 1);
    let d = &h.delivered[0];
    assert_eq!(d.url, "https://voice360.test/v3/voice/61/sms/send");
    assert!(d.headers.contains(&("X-API-Key".into(), "api-key-123".into())));
    assert!(!format!("{d:?}").contains("api-key-123"), "Debug output hides the API key");
    let sent: Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(
        sent,
        json!({"from": "+15559876543", "to": "+15551234567", "message": "Your parcel left today\nhttps://cdn.test/label.pdf"})
    );

    // Voice360's own SMS_SENT echo of that reply is not posted back...
    let echo = sms_sent(&["+15551234567"], "Your parcel left today\nhttps://cdn.test/label.pdf");
    let r = h.voice360(&echo, never);
    assert_eq!((r.status, r.body_json()["status"].clone()), (200, json!("ignored")));
    // ...but an SMS an agent sent from Voice360's own app is.
    let r = h.voice360(&sms_sent(&["+15551234567"], "Sent from the desk phone"), ok);
    assert_eq!((r.status, r.body_json()["status"].clone()), (200, json!("delivered")));
}

#[test]
fn staff_reply_is_200_only_when_every_part_went_out() {
    let long = "word ".repeat(70); // 349 characters: parts of 159, 159 and 29
    let reply = json!({"to": {"phone": "+15551234567"}, "from": {"phone": "+15559876543"}, "body": long});

    let mut h = Harness::new(&[]);
    let r = h.staff_reply(&reply, |_| {
        DeliveryResult::answered(200, r#"{"result":null,"error":true,"message":"Invalid number"}"#)
    });
    assert_eq!(r.status, 502, "a 2xx with error:true is a refusal");
    assert!(r.body_json()["message"].as_str().unwrap().contains("Invalid number"));

    let mut h = Harness::new(&[]);
    let mut n = 0;
    let r = h.staff_reply(&reply, |_| {
        n += 1;
        if n == 2 {
            DeliveryResult { status: Some(429), retry_after: Some("60".into()), body: "RATE_LIMITED".into() }
        } else {
            accepted()
        }
    });
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Retry-After"), Some("60"));
    assert_eq!(r.body_json()["parts_sent"], 1);
    assert_eq!(h.delivered.len(), 2, "stops at the failed part, keeping the order");
    // Re:amaze's retry of the same reply sends the remaining parts only.
    let r = h.staff_reply(&reply, ok);
    assert_eq!(r.status, 200);
    let sent: Vec<Value> = h.delivered.iter().map(|d| serde_json::from_slice(&d.body).unwrap()).collect();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[1], sent[2], "part 2 retried");
    assert_ne!(sent[3], sent[0]);

    let mut h = Harness::new(&[]);
    let r = h.staff_reply(&reply, |_| DeliveryResult::unanswered("connection refused"));
    assert_eq!(r.status, 503);
}

#[test]
fn staff_reply_needs_its_settings_and_signature() {
    let reply = json!({"to": {"phone": "+15551234567"}, "body": "hi"});
    let mut h = Harness::new(&[("VOICE360_API_KEY", "")]);
    let r = h.staff_reply(&reply, never);
    assert_eq!(r.status, 503);
    assert!(r.body_json()["message"].as_str().unwrap().contains("VOICE360_API_KEY"));

    let mut h = Harness::new(&[]);
    let body = serde_json::to_vec(&reply).unwrap();
    // Signed with the voice channel's secret instead of the SMS channel's.
    let sig = signature::sign_reamaze(b"voice-secret", &body);
    let r = h.request("POST", "/webhooks/reamaze/sms", &[("X-Reamaze-Hmac-SHA256", sig)], &body, never);
    assert_eq!((r.status, r.body_json()["error"].clone()), (401, json!("signature_mismatch")));
}

#[test]
fn bird_uses_the_configured_public_url_and_its_window() {
    let mut h = Harness::new(&[("BIRD_WEBHOOK_URL", "https://public.example.com/hooks/bird")]);
    let body = serde_json::to_vec(&json!({"service": "channels", "event": "voice.inbound",
        "payload": {"id": "c1", "direction": "incoming", "status": "completed", "from": "+31612345678", "to": "+31201234567", "duration": 5}}))
    .unwrap();
    let sign = |ts: &str, url: &str| {
        signature::sign(&reamaze_bridge::providers::bird::SCHEME, b"bird-key", &Signed::stamped(&body, ts, url))
            .unwrap()
    };
    let headers = |ts: i64, url: &str| {
        vec![("messagebird-signature", sign(&ts.to_string(), url)), ("messagebird-request-timestamp", ts.to_string())]
    };

    let r = h.request("POST", "/webhooks/bird", &headers(NOW, "https://bridge.test/webhooks/bird"), &body, never);
    assert_eq!(r.status, 401, "signed for the internal URL, not the public one");
    let r = h.request(
        "POST",
        "/webhooks/bird",
        &headers(NOW - 90_000, "https://public.example.com/hooks/bird"),
        &body,
        never,
    );
    assert_eq!((r.status, r.body_json()["error"].clone()), (401, json!("timestamp_too_old")));
    let r =
        h.request("POST", "/webhooks/bird", &headers(NOW - 3_600, "https://public.example.com/hooks/bird"), &body, ok);
    assert_eq!(r.status, 200, "{:?}", r.body_json());
}

#[test]
fn health_tells_what_is_configured_and_no_secret() {
    let mut h = Harness::new(&[("BIRD_SIGNING_KEYS", "")]);
    let r = h.request("GET", "/healthz", &[], b"", never);
    let json = r.body_json();
    let listed: Vec<&String> = json["providers"].as_object().unwrap().keys().collect();
    let registry: Vec<&str> = reamaze_bridge::providers::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(listed, registry, "every provider, in the registry's order");
    for (name, ready) in [("voice360", true), ("bird", false), ("volubile", true)] {
        assert_eq!(json["providers"][name], ready, "{name}");
    }
    assert_eq!(json["staff_replies"], true);
    let text = String::from_utf8(r.body).unwrap();
    for secret in ["voice-secret", "sms-secret", "v360-secret", "api-key-123", "vol-secret"] {
        assert!(!text.contains(secret));
    }
}

/// The steps of a webhook, in order, each answered through its handle
/// (which the answer consumes, so no step is answered twice or with
/// another step's answer).
#[test]
fn the_steps_of_a_webhook_come_in_order() {
    let h = Harness::new(&[]);
    let body = serde_json::to_vec(&incoming_call("5.1")).unwrap();
    let first = common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW);
    let Step::Read(read) = first else { panic!("expected a read") };
    let reads = ["call:voice360:5.1", "held:voice360:5.1", "contact:voice360:+15551234567"];
    assert_eq!(read.keys(), reads, "the call, a transcription held for it, and the caller's contact");
    let Step::Write(write) = read.answer(vec![None, None, None]) else { panic!("expected a write") };
    assert_eq!(write.entries()[0].key, "call:voice360:5.1");
    let Step::DeliverOnce(once) = write.done() else { panic!("expected a claimed delivery") };
    assert!(once.claim().key.starts_with("seen:") && once.claim().value == "pending");
    assert_eq!((&once.mark().key, once.mark().value.as_str()), (&once.claim().key, "1"));
    assert_eq!(once.delivery().url, "https://reamaze.test/incoming/voice");
    let Step::Respond(finished) = once.answer(DeliveryResult::answered(201, "")) else {
        panic!("expected the response")
    };
    assert_eq!(finished.response.status, 200);
    assert_eq!((finished.summary.provider, finished.summary.result), (Some("voice360"), "delivered"));
    assert_eq!(finished.summary.upstream_status, Some(201));
}

/// A claimed delivery, asked for as separate steps (`unfused`, as a shell
/// whose store cannot do it in one round trip answers it): the claim, the
/// delivery, then the mark where Re:amaze took the message, or the claim's
/// release where it did not.
#[test]
fn a_claimed_delivery_unfused_is_a_claim_a_delivery_and_a_settling() {
    let h = Harness::new(&[]);
    let body = serde_json::to_vec(&incoming_call("5.2")).unwrap();
    let once = || {
        let Step::Read(read) = common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW) else { panic!() };
        let Step::Write(write) = read.answer(vec![None, None, None]) else { panic!("expected a write") };
        let Step::DeliverOnce(once) = write.done() else { panic!("expected a claimed delivery") };
        once
    };
    let delivered = |status| {
        let Step::Claim(claim) = once().unfused() else { panic!("expected a claim") };
        assert!(claim.entries()[0].key.starts_with("seen:"));
        let Step::Deliver(deliver) = claim.answer(vec![None]) else { panic!("expected a delivery") };
        deliver.answer(DeliveryResult::answered(status, ""))
    };
    let Step::Write(write) = delivered(201) else { panic!("expected the mark") };
    assert_eq!(write.entries()[0].value, "1");
    let Step::Respond(finished) = write.done() else { panic!("expected the response") };
    assert_eq!(finished.response.status, 200);
    let Step::Release(release) = delivered(503) else { panic!("expected the claim's release") };
    assert!(release.keys()[0].starts_with("seen:"));
    let Step::Respond(finished) = release.done() else { panic!("expected the response") };
    assert_eq!(finished.summary.result, "reamaze_unavailable");

    let Step::Claim(claim) = once().unfused() else { panic!("expected a claim") };
    let Step::Respond(finished) = claim.answer(vec![Some("1".into())]) else { panic!("a held claim sends nothing") };
    assert_eq!(finished.summary.result, "duplicate");
}

/// The rule a claim is settled by is Re:amaze's acceptance, for every
/// status and for no answer.
#[test]
fn a_claim_is_marked_exactly_when_reamaze_accepts() {
    let target = Target::Reamaze { channel: "voice", message_id: "m".into() };
    let results =
        (100..600).map(|status| DeliveryResult::answered(status, "")).chain([DeliveryResult::unanswered("x")]);
    for result in results {
        assert_eq!(result.marks_delivered(), result.verdict(&target) == Verdict::Accepted, "{:?}", result.status);
    }
}

/// A two-hour call's transcript (about 2.6 MB) at the defaults: accepted,
/// and posted whole, the recap first, then numbered parts within
/// MAX_MESSAGE_CHARS that cut between turns. A redelivery posts nothing.
#[test]
fn a_two_hour_transcript_reaches_reamaze_whole() {
    let mut h = Harness::new(&[]);
    assert_eq!(h.voice360(&incoming_call("long.1"), ok).status, 200);
    let (event, turns) = common::long_transcription("long.1", 120, NOW + 7_300);
    let size = serde_json::to_vec(&event).unwrap().len();
    assert!((2_400_000..2_900_000).contains(&size), "{size} bytes");
    let r = h.voice360(&event, ok);
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    let posted: Vec<Value> = h.delivered[1..].iter().map(|d| serde_json::from_slice(&d.body).unwrap()).collect();
    let bodies: Vec<&str> = posted.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert!(
        bodies[0].starts_with("Call transcript (2:00:00)\nSummary: A long call about an invoice."),
        "{}",
        bodies[0]
    );
    let parts = bodies.len() - 1;
    assert!(parts >= 4, "{parts} parts");
    let mut lines = Vec::new();
    for (k, body) in bodies[1..].iter().enumerate() {
        assert!(body.chars().count() <= 20_000, "part {} has {} characters", k + 1, body.chars().count());
        let mut part_lines = body.lines();
        assert_eq!(part_lines.next(), Some(format!("Call transcript, part {} of {parts}", k + 1).as_str()));
        lines.extend(part_lines.filter(|l| !l.is_empty()).map(String::from));
    }
    assert_eq!(lines, turns, "every turn, whole and in order");
    let ids: std::collections::HashSet<&str> = posted.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), posted.len(), "each part has its own id");
    assert!(posted.iter().all(|m| m["thread_id"] == "voice360:long.1"));

    let again = h.voice360(&event, never);
    assert_eq!(again.body_json()["status"], "duplicate", "the same ids again: a duplicate");
}

#[test]
fn a_transcriptions_inner_json_is_read_as_strictly_as_a_body() {
    let mut h = Harness::new(&[("MAX_JSON_DEPTH", "8")]);
    assert_eq!(h.voice360(&incoming_call("inner.1"), ok).status, 200);
    let posted = h.delivered.len();
    let transcription = |text: String| {
        json!({"event_name": "TRANSCRIPTION_FINISHED", "account_id": "1", "timestamp": NOW + 60,
               "metadata": {"uniqueid": "inner.1", "success": true, "transcription": text}})
    };
    let deep = format!(r#"{{"CallRecap": {{"summary": "x"}}, "Transcript": {}{}}}"#, "[".repeat(20), "]".repeat(20));
    let twice = r#"{"CallRecap": {"summary": "paid"}, "CallRecap": {"summary": "refunded"}}"#.to_string();
    for (what, text) in [("nested 20 deep", deep), ("a key twice", twice)] {
        let r = h.voice360(&transcription(text), ok);
        let body = r.body_json();
        assert_eq!((r.status, body["error"].as_str()), (400, Some("invalid_field")), "{what}: {body}");
        assert_eq!(body["field"], "metadata.transcription", "{what}");
        assert!(body["message"].as_str().unwrap().contains("MAX_JSON_DEPTH"), "{what}: {body}");
    }
    assert_eq!(h.delivered.len(), posted, "nothing posted");
    let fine = r#"{"CallRecap": {"summary": "Asked about an invoice."}}"#.to_string();
    assert_eq!(h.voice360(&transcription(fine), ok).status, 200, "the same call's well-formed transcription");
}

#[test]
fn headers_read_names_every_signature_header() {
    let read: Vec<&str> = reamaze_bridge::bridge::headers_read().collect();
    for scheme in reamaze_bridge::providers::schemes() {
        assert!(read.contains(&scheme.header()), "{scheme}");
        assert!(scheme.timestamp_header().is_none_or(|name| read.contains(&name)), "{scheme}");
    }
    assert!(read.contains(&"messagebird-request-timestamp"));
}

/// Voice360's documented setup: one webhook, so one secret, per event type
/// (20 in the reference), all in VOICE360_WEBHOOK_SECRETS, at the defaults.
#[test]
fn twenty_voice360_secrets_work_at_the_defaults() {
    let secrets: Vec<String> = (1..=20).map(|i| format!("whsec-event-{i:02}")).collect();
    let mut h = Harness::new(&[("VOICE360_WEBHOOK_SECRETS", &secrets.join(","))]);
    for (i, secret) in secrets.iter().enumerate() {
        let body = serde_json::to_vec(&incoming_call(&format!("20.{i}"))).unwrap();
        let sig =
            signature::sign(&reamaze_bridge::providers::voice360::SCHEME, secret.as_bytes(), &Signed::body(&body))
                .unwrap();
        let r = h.request("POST", "/webhooks/voice360", &[("X-Voice360-Signature", sig)], &body, ok);
        assert_eq!(r.status, 200, "secret {i}: {:?}", r.body_json());
    }
    assert_eq!(h.delivered.len(), 20);
}

/// A setting that cannot be used turns off what depends on it, says so by
/// name, and leaves the rest working.
#[test]
fn an_unusable_setting_turns_off_only_its_provider() {
    let too_many: Vec<String> = (1..=41).map(|i| format!("k{i}")).collect();
    let values: HashMap<&str, String> = [
        ("REAMAZE_BASE_URL", "https://reamaze.test".to_string()),
        ("REAMAZE_VOICE_SECRET", "voice-secret".into()),
        ("VOICE360_WEBHOOK_SECRETS", too_many.join(",")),
        ("VOLUBILE_WEBHOOK_SECRETS", "vol-secret".into()),
    ]
    .into_iter()
    .collect();
    let settings = Settings::read(|name| values.get(name).cloned());
    let mut h = Harness { bridge: Bridge::new(settings), store: MemoryStore::new(), delivered: Vec::new() };

    let health = h.request("GET", "/healthz", &[], b"", never);
    assert_eq!(health.status, 200);
    let json = health.body_json();
    assert_eq!(json["providers"]["voice360"], false);
    assert_eq!(json["providers"]["volubile"], true);
    assert_eq!(json["invalid_settings"][0]["setting"], "VOICE360_WEBHOOK_SECRETS");
    assert!(!String::from_utf8(health.body).unwrap().contains("k41"), "no secret is echoed");

    let refused = h.voice360(&incoming_call("9.9"), never);
    assert_eq!(refused.status, 503);
    assert_eq!(
        (refused.body_json()["error"].clone(), refused.body_json()["setting"].clone()),
        (json!("invalid_setting"), json!("VOICE360_WEBHOOK_SECRETS"))
    );

    let call = br#"{"id":"c1","type":"INBOUND","status":"COMPLETED","phone":"+15551234567","duration":30}"#;
    let sig =
        signature::sign(&reamaze_bridge::providers::volubile::SCHEME, b"vol-secret", &Signed::body(call)).unwrap();
    let r = h.request("POST", "/webhooks/volubile", &[("X-Webhook-Signature", sig)], call, ok);
    assert_eq!(r.status, 200, "Volubile keeps working: {:?}", r.body_json());
}

/// The first step of a staff reply with `body`, signed with the SMS
/// channel's secret as Re:amaze signs it.
fn staff_reply_exchange(bridge: &Bridge, body: &[u8], now: i64) -> Step {
    let sig = signature::sign_reamaze(b"sms-secret", body);
    let headers: Headers = [("X-Reamaze-Hmac-SHA256", sig)].into_iter().collect();
    let request =
        Request { method: "POST", path: "/webhooks/reamaze/sms", url: "https://b.test/x", headers: &headers, body };
    bridge.exchange(&request, now)
}

/// Runs an exchange from `step` against `store` until it asks to deliver
/// (returned, not answered) or responds.
fn until_delivery(step: Step, store: &mut MemoryStore) -> Result<Deliver, Response> {
    match with_store(step, store, NOW) {
        Step::Deliver(deliver) => Ok(deliver),
        Step::Respond(finished) => Err(finished.response),
        other => panic!("sync mode asks for a store, a delivery or the end, not {other:?}"),
    }
}

/// Twenty copies of one event overlap: the provider retries while the first
/// attempt is still posting. One post; the others are told to come back,
/// and their retries, after it, are duplicates.
#[test]
fn overlapping_copies_of_an_event_post_once() {
    let mut h = Harness::new(&[]);
    let body = serde_json::to_vec(&incoming_call("overlap.1")).unwrap();
    let copies: Vec<_> = (0..20).map(|_| common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW)).collect();
    let mut in_flight = Vec::new();
    for copy in copies {
        match until_delivery(copy, &mut h.store) {
            Ok(delivery) => in_flight.push(delivery),
            Err(response) => {
                assert_eq!(response.status, 503, "{:?}", response.body_json());
                assert_eq!(response.body_json()["error"], "in_progress");
                assert!(response.header("Retry-After").is_some());
            }
        }
    }
    assert_eq!(in_flight.len(), 1, "one copy posts");
    let posting = in_flight.pop().unwrap();
    assert_eq!(until_delivery(posting.answer(accepted()), &mut h.store).unwrap_err().status, 200);
    let retry = h.voice360(&incoming_call("overlap.1"), never);
    assert_eq!(retry.body_json()["status"], "duplicate");
}

/// A copy of a many-message event (a transcript in parts) comes while the
/// first copy posts its first part: the copy posts nothing, not even the
/// parts not yet claimed, so Re:amaze gets them in order from the first.
#[test]
fn a_copy_of_a_many_message_event_leaves_every_part_to_the_first() {
    let mut h = Harness::new(&[]);
    assert_eq!(h.voice360(&incoming_call("parts.1"), ok).status, 200);
    let (event, _) = common::long_transcription("parts.1", 60, NOW + 3_700);
    let body = serde_json::to_vec(&event).unwrap();
    let first = common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW);
    let mut posting = until_delivery(first, &mut h.store).expect("the first copy posts its recap");
    let copy = until_delivery(common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW), &mut h.store);
    let answer = copy.expect_err("the copy posts nothing");
    assert_eq!((answer.status, answer.body_json()["error"].clone()), (503, json!("in_progress")));
    let mut posts = 1;
    loop {
        match until_delivery(posting.answer(accepted()), &mut h.store) {
            Ok(next) => (posting, posts) = (next, posts + 1),
            Err(response) => break assert_eq!(response.status, 200),
        }
    }
    assert!(posts >= 3, "{posts} posts");
    let retry = h.voice360(&event, never);
    assert_eq!(retry.body_json()["status"], "duplicate", "the retry posts nothing again");
}

/// The first copy's post fails: its claim is released, so the sender's
/// retry posts.
#[test]
fn a_claim_whose_post_fails_is_released() {
    let mut h = Harness::new(&[]);
    let failed = h.voice360(&incoming_call("release.1"), |_| DeliveryResult::unanswered("timeout"));
    assert_eq!(failed.status, 503);
    let retry = h.voice360(&incoming_call("release.1"), ok);
    assert_eq!(retry.body_json()["status"], "delivered");
    let refused = h.voice360(&incoming_call("release.2"), |_| DeliveryResult::answered(400, "bad"));
    assert_eq!(refused.status, 502);
    assert_eq!(h.voice360(&incoming_call("release.2"), ok).body_json()["status"], "delivered");
}

/// Five copies of one signed staff reply overlap (Re:amaze retries a reply
/// whose answer is slow): each part is sent once.
#[test]
fn overlapping_copies_of_a_staff_reply_send_each_part_once() {
    let mut h = Harness::new(&[]);
    let reply = json!({"to": {"phone": "+15559876543"}, "from": {"phone": "+15551234567"},
                       "body": "Your order has shipped. ".repeat(10)});
    let body = serde_json::to_vec(&reply).unwrap();
    let copies: Vec<_> = (0..5).map(|_| staff_reply_exchange(&h.bridge, &body, NOW)).collect();
    let mut sending = Vec::new();
    for copy in copies {
        match until_delivery(copy, &mut h.store) {
            Ok(first_part) => sending.push(first_part),
            Err(response) => assert_eq!(response.body_json()["error"], "in_progress"),
        }
    }
    assert_eq!(sending.len(), 1);
    let first_part = sending.pop().unwrap();
    let second_part = until_delivery(first_part.answer(accepted()), &mut h.store).expect("the second part");
    assert!(String::from_utf8_lossy(&second_part.delivery().body).contains("shipped"));
    assert_eq!(until_delivery(second_part.answer(accepted()), &mut h.store).unwrap_err().status, 200);
    let retry = h.staff_reply(&reply, never);
    assert_eq!((retry.status, retry.body_json()["status"].clone()), (200, json!("sent")), "nothing is sent again");
}

/// The copy that claimed a message dies mid-post (its process killed): its
/// claim is a lease of about 30 seconds (`ttl::claim_lease`), so a retry
/// in the meantime is told to come back when the lease has lapsed at the
/// latest, and a retry after that posts. Over the upstream time limit, the
/// lease grows with it, so a live post never outlasts its claim.
#[test]
fn a_claim_left_by_a_process_that_died_is_taken_over_once_its_lease_lapses() {
    for (timeout_ms, lease) in [("10000", 30_u64), ("2000", 30), ("45000", 65)] {
        let mut h = Harness::new(&[("UPSTREAM_TIMEOUT_MS", timeout_ms)]);
        let body = serde_json::to_vec(&incoming_call("dead.1")).unwrap();
        let died = until_delivery(common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, NOW), &mut h.store);
        drop(died.expect("the first copy claims and posts"));
        let soon = NOW + 10;
        let retry = drive(common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, soon), &mut h.store, soon, never);
        assert_eq!((retry.status, retry.body_json()["error"].clone()), (503, json!("in_progress")));
        assert_eq!(retry.header("Retry-After"), Some(lease.to_string().as_str()), "timeout {timeout_ms} ms");
        let lapsed = NOW + lease as i64;
        let later =
            drive(common::voice360_exchange(&h.bridge, &body, WEBHOOK_SECRET, lapsed), &mut h.store, lapsed, ok);
        assert_eq!(later.body_json()["status"], "delivered", "timeout {timeout_ms} ms");
    }
}

/// A staff reply's parts are claimed together, before the first is sent:
/// each part's claim lasts a lease and the time the parts before it may
/// take, so none lapses while a live copy is still sending, and a copy that
/// meets them is told when the last has lapsed, if their sender died.
#[test]
fn a_staff_reply_s_claims_last_as_long_as_its_parts_may_take() {
    let mut h = Harness::new(&[]);
    let reply = json!({"to": {"phone": "+15559876543"}, "from": {"phone": "+15551234567"},
                       "body": "Your order has shipped. ".repeat(17)});
    let body = serde_json::to_vec(&reply).unwrap();
    let Step::Claim(claim) = staff_reply_exchange(&h.bridge, &body, NOW) else {
        panic!("a reply claims its parts first")
    };
    let leases: Vec<u64> = claim.entries().iter().map(|e| e.ttl_seconds).collect();
    assert_eq!(leases, [30, 40, 50], "three parts, UPSTREAM_TIMEOUT_MS of 10 s");
    let held = claim.entries().iter().map(|e| h.store.claim(e, NOW)).collect();
    drop(claim.answer(held));
    let copy = drive(staff_reply_exchange(&h.bridge, &body, NOW + 1), &mut h.store, NOW + 1, never);
    assert_eq!((copy.status, copy.header("Retry-After")), (503, Some("50")));
    let lapsed = drive(staff_reply_exchange(&h.bridge, &body, NOW + 50), &mut h.store, NOW + 50, ok);
    assert_eq!(lapsed.body_json()["status"], "sent", "{:?}", lapsed.body_json());
}
