//! Who a party is, over generated inputs: parties of every class (numbers,
//! withheld markers in any case, empty, missing, SMS sender names, short
//! codes, junk of any length) and ids of 1 to 2,000 characters, ASCII and
//! multibyte, in every provider's events, through the whole bridge with a
//! store that refuses keys as Workers KV does.
//!
//! The invariants: never a 5xx (nothing here fails for a while); junk is a
//! 400 naming the field, with no store touched; every other webhook is
//! accepted and its messages delivered; every post has a `thread_id`; no two
//! withheld parties of different calls share a customer or a conversation;
//! no answer speaks of the runtime.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use reamaze_bridge::bridge::{drive, Bridge};
use reamaze_bridge::http::{DeliveryResult, Headers, Request};
use reamaze_bridge::signature::{sign, Signed};
use reamaze_bridge::store::{Entry, MemoryStore, Store};
use reamaze_bridge::Settings;
use serde_json::{json, Value};

const NOW: i64 = 1_704_067_200;
const KV_KEY_LIMIT: usize = 512;

/// A party as a provider may send it.
#[derive(Clone, Debug)]
enum Party {
    Number(String),
    /// A marker, the empty string, or (`None`) a missing field.
    Withheld(Option<String>),
    Sender(String),
    ShortCode(String),
    Junk(String),
}

impl Party {
    fn text(&self) -> Option<&str> {
        match self {
            Party::Number(t) | Party::Sender(t) | Party::ShortCode(t) | Party::Junk(t) => Some(t),
            Party::Withheld(t) => t.as_deref(),
        }
    }

    fn is_junk(&self) -> bool {
        matches!(self, Party::Junk(_))
    }

    fn is_withheld(&self) -> bool {
        matches!(self, Party::Withheld(_))
    }
}

fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars().zip(upper).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c }).collect()
    })
}

fn party() -> impl Strategy<Value = Party> {
    const MARKERS: [&str; 12] = [
        "anonymous",
        "restricted",
        "private",
        "unknown",
        "unavailable",
        "withheld",
        "+0",
        "0",
        "",
        "  ",
        "+266696687",
        "sip:anonymous@anonymous.invalid",
    ];
    prop_oneof![
        ("[1-9][0-9]{6,13}", prop::bool::ANY).prop_map(|(digits, plus)| Party::Number(if plus {
            format!("+{digits}")
        } else {
            digits
        })),
        prop::sample::select(MARKERS.to_vec()).prop_flat_map(any_case).prop_map(|m| Party::Withheld(Some(m))),
        Just(Party::Withheld(None)),
        "[A-Za-z][A-Za-z0-9 ]{0,10}"
            .prop_filter("not a marker", |s| !MARKERS.iter().any(|m| m.eq_ignore_ascii_case(s.trim())))
            .prop_filter("not blank-ended", |s| s.trim() == s)
            .prop_map(Party::Sender),
        "[1-9][0-9]{2,7}".prop_map(Party::ShortCode),
        prop_oneof![
            (16usize..3000).prop_map(|n| "9".repeat(n)),
            "\\+[0-9]{3,8}[A-Z]{2,6}",
            "[<>{}@#$%]{1,3}[a-z]{0,5}",
            "[A-Za-z]{12,40}",
        ]
        .prop_map(Party::Junk),
    ]
}

/// An id of 1 to 2,000 characters, ASCII or multibyte.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9.]{1,40}",
        "[A-Za-z0-9.:_-]{400,2000}",
        "[a-zé日本😀]{1,600}",
        // Blank ids are no ids: the bridge refuses them as missing, rightly.
        prop::collection::vec(any::<char>().prop_filter("printable", |c| !c.is_control()), 1..300)
            .prop_map(String::from_iter)
            .prop_filter("not blank", |id| !id.trim().is_empty()),
    ]
}

/// One webhook: its provider, its JSON, the party it names, and the call
/// (or message) it is of.
#[derive(Clone, Debug)]
struct Webhook {
    provider: &'static str,
    body: Value,
    party: Party,
    call: String,
}

fn put(map: &mut serde_json::Map<String, Value>, key: &str, party: &Party) {
    if let Some(text) = party.text() {
        map.insert(key.into(), Value::String(text.into()));
    }
}

const VOICE360_EVENTS: [(&str, &str); 14] = [
    ("INCOMING_EXTERNAL_CALL", "caller_id_number"),
    ("USER_ANSWER", "caller_id_number"),
    ("CALL_ENDED", "caller_id_number"),
    ("USER_DIAL", "dialed_number"),
    ("USER_HANGUP", "dialed_number"),
    ("QUEUE_ENTER", "callerid_number"),
    ("QUEUE_MEMBER_DIAL", "caller_id_number"),
    ("QUEUE_MEMBER_ANSWER", "caller_id_number"),
    ("QUEUE_HANGUP", "caller_id_number"),
    ("QUEUE_NO_ANSWER", "caller_id_number"),
    ("QUEUE_HANGUP_TIMEOUT", "caller_id_number"),
    ("QUEUE_HANGUP_ABANDONED", "caller_id_number"),
    ("SMS_RECEIVED", "from_number"),
    ("SMS_SENT", "to_number"),
];

fn voice360(event: usize, party: Party, id: String, seconds: i64) -> Webhook {
    let (name, field) = VOICE360_EVENTS[event % VOICE360_EVENTS.len()];
    let mut metadata = serde_json::Map::new();
    put(&mut metadata, field, &party);
    let no_call_id = name.starts_with("QUEUE_NO") || name.starts_with("QUEUE_HANGUP_") || name.starts_with("SMS");
    let call = match name {
        "SMS_RECEIVED" | "SMS_SENT" => {
            metadata.insert("message_id".into(), json!(id));
            metadata.insert("body".into(), json!("hello 👋"));
            metadata.insert(if name == "SMS_SENT" { "from_number" } else { "to_number" }.into(), json!("+16501234567"));
            format!("sms:{id}")
        }
        _ if no_call_id => {
            metadata.insert("queue_id".into(), json!(id));
            format!("queue:{id}:{seconds}")
        }
        _ => {
            metadata.insert("uniqueid".into(), json!(id));
            metadata.insert("to_user_id".into(), json!("67890"));
            format!("call:{id}")
        }
    };
    let body = json!({"event_name": name, "account_id": "1", "timestamp": NOW + seconds, "metadata": metadata});
    Webhook { provider: "voice360", body, party, call: format!("voice360:{call}") }
}

fn bird(status: usize, inbound: bool, party: Party, id: String) -> Webhook {
    const STATUSES: [&str; 9] =
        ["starting", "ringing", "ongoing", "completed", "no-answer", "busy", "failed", "cancelled", "accepted"];
    let mut call = serde_json::Map::new();
    call.insert("id".into(), json!(id));
    call.insert("status".into(), json!(STATUSES[status % STATUSES.len()]));
    call.insert("direction".into(), json!(if inbound { "incoming" } else { "outgoing" }));
    put(&mut call, if inbound { "from" } else { "to" }, &party);
    call.insert(if inbound { "to" } else { "from" }.into(), json!("+31201234567"));
    call.insert("createdAt".into(), json!("2024-01-01T00:00:00Z"));
    let event = if inbound { "voice.inbound" } else { "voice.outbound" };
    let body = json!({"service": "channels", "event": event, "payload": call});
    Webhook { provider: "bird", body, party, call: format!("bird:{id}") }
}

fn volubile(status: usize, inbound: bool, party: Party, id: String) -> Webhook {
    const STATUSES: [&str; 9] =
        ["COMPLETED", "FAILED", "NO_ANSWER", "VOICE_BOX", "UNREACHABLE", "CANCELED", "REJECTED", "TRANSFERRED", "X"];
    let mut call = serde_json::Map::new();
    call.insert("id".into(), json!(id));
    call.insert("status".into(), json!(STATUSES[status % STATUSES.len()]));
    call.insert("type".into(), json!(if inbound { "INBOUND" } else { "OUTBOUND" }));
    call.insert("duration".into(), json!(30));
    put(&mut call, "phone", &party);
    Webhook { provider: "volubile", body: Value::Object(call), party, call: format!("volubile:{id}") }
}

fn webhook() -> impl Strategy<Value = Webhook> {
    (0usize..3, 0usize..20, any::<bool>(), party(), id(), 0i64..3600).prop_map(
        |(provider, kind, inbound, party, id, seconds)| match provider {
            0 => voice360(kind, party, id, seconds),
            1 => bird(kind, inbound, party, id),
            _ => volubile(kind, inbound, party, id),
        },
    )
}

/// The memory store, refusing keys as Workers KV does, and counting what
/// it is asked.
#[derive(Default)]
struct KvLike {
    memory: MemoryStore,
    operations: usize,
    too_long: Vec<usize>,
}

impl KvLike {
    fn check(&mut self, key: &str) {
        self.operations += 1;
        if key.len() > KV_KEY_LIMIT {
            self.too_long.push(key.len());
        }
    }
}

impl Store for KvLike {
    fn get(&self, key: &str, now: i64) -> Option<String> {
        assert!(key.len() <= KV_KEY_LIMIT, "a key of {} bytes was read", key.len());
        self.memory.get(key, now)
    }
    fn put(&mut self, entry: &Entry, now: i64) {
        self.check(&entry.key);
        self.memory.put(entry, now)
    }
    fn claim(&mut self, entry: &Entry, now: i64) -> Option<String> {
        self.check(&entry.key);
        self.memory.claim(entry, now)
    }
    fn delete(&mut self, key: &str) {
        self.check(key);
        self.memory.delete(key)
    }
}

fn settings(thread_minutes: u32) -> Settings {
    let all_voice360 =
        VOICE360_EVENTS.iter().map(|(name, _)| *name).chain(["TRANSCRIPTION_FINISHED"]).collect::<Vec<_>>().join(",");
    Settings::from_lookup(|name| match name {
        "VOICE360_WEBHOOK_SECRETS" | "BIRD_SIGNING_KEYS" | "VOLUBILE_WEBHOOK_SECRETS" => Some("whsec".into()),
        "REAMAZE_VOICE_SECRET" | "REAMAZE_SMS_SECRET" => Some("channel".into()),
        "VOICE360_POST_EVENTS" => Some(all_voice360.clone()),
        "BIRD_POST_STATUSES" => {
            Some("starting,ringing,ongoing,completed,no-answer,busy,failed,cancelled,accepted".into())
        }
        "VOICE_THREAD_MINUTES" => Some(thread_minutes.to_string()),
        "MAX_BODY_BYTES" => Some("1000000".into()),
        _ => None,
    })
    .unwrap()
}

/// What one webhook came to: its answer, and the messages posted.
struct Outcome {
    status: u16,
    answer: Value,
    posted: Vec<Value>,
}

fn send(bridge: &Bridge, store: &mut KvLike, webhook: &Webhook) -> Outcome {
    let body = webhook.body.to_string().into_bytes();
    let (path, url) =
        (format!("/webhooks/{}", webhook.provider), format!("https://b.test/webhooks/{}", webhook.provider));
    let ts = NOW.to_string();
    let (scheme, header, signed) = match webhook.provider {
        "voice360" => (&reamaze_bridge::providers::voice360::SCHEME, "x-voice360-signature", Signed::body(&body)),
        "bird" => {
            (&reamaze_bridge::providers::bird::SCHEME, "messagebird-signature", Signed::stamped(&body, &ts, &url))
        }
        _ => (&reamaze_bridge::providers::volubile::SCHEME, "x-webhook-signature", Signed::body(&body)),
    };
    let signature = sign(scheme, b"whsec", &signed).unwrap();
    let headers: Headers = [(header, signature), ("messagebird-request-timestamp", ts.clone())].into_iter().collect();
    let request = Request { method: "POST", path: &path, url: &url, headers: &headers, body: &body };
    let mut posted = Vec::new();
    let response = drive(bridge.exchange(&request, NOW), store, NOW, |delivery| {
        posted.push(serde_json::from_slice(&delivery.body).unwrap());
        DeliveryResult::answered(200, "{}")
    });
    let answer = serde_json::from_slice(&response.body).unwrap();
    Outcome { status: response.status, answer, posted }
}

/// The customer's side of a posted message.
fn customer(message: &Value) -> &Value {
    if message["direction"] == "outbound" {
        &message["to"]
    } else {
        &message["from"]
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn every_party_and_every_id(webhooks in prop::collection::vec(webhook(), 1..8), join in prop::bool::ANY) {
        let bridge = Bridge::new(settings(if join { 30 } else { 0 }));
        let mut store = KvLike::default();
        // Each withheld identity and each withheld conversation, with the calls they were given to.
        let mut withheld: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        // Calls seen before: a later event of one may take its number from the call's memory.
        let mut seen = BTreeSet::new();
        for webhook in &webhooks {
            let first_of_its_call = seen.insert(webhook.call.clone());
            let before = store.operations;
            let outcome = send(&bridge, &mut store, webhook);
            let text = outcome.answer.to_string();
            prop_assert!(!text.contains("file://") && !text.contains("__wbg") && !text.contains("\n    at "), "{text}");
            prop_assert!(outcome.status < 500, "{}: {text}", outcome.status);
            prop_assert!(store.too_long.is_empty(), "keys over {KV_KEY_LIMIT} bytes: {:?}", store.too_long);
            if webhook.party.is_junk() {
                prop_assert_eq!(outcome.status, 400, "{}", text);
                prop_assert_eq!(&outcome.answer["error"], "invalid_field");
                prop_assert!(outcome.answer["field"].as_str().is_some(), "{}", text);
                prop_assert_eq!(store.operations, before, "junk touched the store");
                continue;
            }
            prop_assert!(outcome.status == 200 || outcome.status == 202, "{}: {}", outcome.status, text);
            let reports = outcome.answer["messages"].as_array().cloned().unwrap_or_default();
            let delivered = reports.iter().filter(|r| r["result"] == "delivered").count();
            prop_assert_eq!(delivered, outcome.posted.len(), "{}", text);
            prop_assert!(reports.iter().all(|r| r["result"] == "delivered" || r["result"] == "duplicate"), "{}", text);
            for message in &outcome.posted {
                let thread = message["thread_id"].as_str();
                prop_assert!(thread.is_some_and(|t| !t.is_empty()), "no thread_id: {message}");
                let phone = customer(message)["phone"].as_str().unwrap_or("");
                prop_assert!(!phone.is_empty(), "no customer phone: {message}");
                if webhook.party.is_withheld() && first_of_its_call {
                    prop_assert!(phone.starts_with("withheld:"), "a withheld party posted as {phone:?}: {message}");
                }
                if phone.starts_with("withheld:") {
                    withheld.entry(format!("phone {phone}")).or_default().insert(webhook.call.clone());
                    withheld.entry(format!("thread {}", thread.unwrap())).or_default().insert(webhook.call.clone());
                }
            }
        }
        for (identity, calls) in &withheld {
            prop_assert_eq!(calls.len(), 1, "{} was given to {:?}", identity, calls);
        }
    }
}

/// A call's events in the order they happened, at times that may share a
/// second.
fn call_events(uniqueid: &str, gaps: &[i64]) -> Vec<Value> {
    let names = [
        "INCOMING_EXTERNAL_CALL",
        "QUEUE_ENTER",
        "USER_ANSWER",
        "QUEUE_HANGUP",
        "CALL_ENDED",
        "TRANSCRIPTION_FINISHED",
    ];
    let mut at = NOW;
    names
        .iter()
        .zip(gaps)
        .map(|(name, gap)| {
            at += gap;
            let metadata = json!({"caller_id_number": "+15551234567", "dnis": "+15559876543", "uniqueid": uniqueid,
                "to_user_id": "67890", "queue_name": "Sales", "duration": 30, "success": false, "error": "too short"});
            json!({"event_name": name, "account_id": "1", "timestamp": at, "metadata": metadata})
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// After an outage the events of a call arrive in any order; Re:amaze
    /// places messages by `created_at`, which therefore reads in event order.
    #[test]
    fn a_call_reads_in_order_whatever_order_it_arrives_in(
        gaps in prop::collection::vec(0i64..3, 6),
        order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let events = call_events("order.1", &gaps);
        let bridge = Bridge::new(settings(0));
        let mut store = KvLike::default();
        let mut posted = Vec::new();
        for &i in &order {
            let webhook = Webhook { provider: "voice360", body: events[i].clone(), party: Party::Number(String::new()), call: String::new() };
            let outcome = send(&bridge, &mut store, &webhook);
            prop_assert!(outcome.status < 300, "{}", outcome.answer);
            posted.extend(outcome.posted);
        }
        let bodies: Vec<String> = posted.iter().map(|m| format!("{} {}", m["id"], m["body"])).collect();
        prop_assert_eq!(posted.len(), 6, "every event posted once: {:?}", bodies);
        posted.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
        let read: Vec<&str> = posted.iter().map(|m| m["id"].as_str().unwrap().split(':').nth(1).unwrap()).collect();
        prop_assert_eq!(read, ["INCOMING_EXTERNAL_CALL", "QUEUE_ENTER", "USER_ANSWER", "QUEUE_HANGUP", "CALL_ENDED", "TRANSCRIPTION_FINISHED"]);
    }
}
