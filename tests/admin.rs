//! The admin routes as exchanges (`bridge::admin`): listed, replayed and
//! let go through the same steps as every request, here against a memory
//! store that lists its keys as Workers KV does.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use reamaze_bridge::bridge::{with_store, Bridge, Step};
use reamaze_bridge::http::{Headers, Request, Response};
use reamaze_bridge::queue::{DeadLetter, Queued};
use reamaze_bridge::store::{keys, Entry, MemoryStore, Store};
use reamaze_bridge::Settings;
use serde_json::{json, Value};

const NOW: i64 = 1_704_067_200;
const TOKEN: &str = "admin-token";

fn bridge(queued: bool, keeps: bool) -> Bridge {
    let values: HashMap<&str, &str> = HashMap::from([("ADMIN_TOKEN", TOKEN), ("REJECTED_KEEP", "2")]);
    Bridge::new(Settings::read(|n| values.get(n).map(|v| v.to_string()))).queued(queued).keeps_records(keeps)
}

fn dead_letter(id: &str) -> DeadLetter {
    let queued = json!({"channel": "sms", "provider": "bird", "event": "sms.inbound", "attempt": 5, "accepted_at": NOW,
        "message": {"id": id, "direction": "inbound", "from": {"phone": "+1555"}, "to": {"phone": "+1666"}, "body": "hi"}});
    let text = json!({"queued": queued, "attempts": 5, "last_error": "out of attempts", "dead_at": NOW}).to_string();
    DeadLetter::parse(text.as_bytes()).unwrap()
}

/// What an admin request did: the batches it enqueued, and its answer.
struct Asked {
    enqueued: Vec<Vec<Queued>>,
    response: Response,
}

impl Asked {
    fn json(&self) -> Value {
        self.response.body_json()
    }
}

fn ask(
    bridge: &Bridge,
    method: &str,
    path: &str,
    body: &[u8],
    store: &mut MemoryStore,
    queue: Result<(), String>,
) -> Asked {
    let bearer = format!("Bearer {TOKEN}");
    let headers: Headers = [("Authorization", bearer.as_str())].into_iter().collect();
    let request = Request { method, path, url: "https://b.test/", headers: &headers, body };
    let mut step = bridge.exchange(&request, NOW);
    let mut enqueued = Vec::new();
    loop {
        step = match with_store(step, store, NOW) {
            Step::Enqueue(enqueue) => {
                enqueued.push(enqueue.messages().to_vec());
                enqueue.answer(queue.clone())
            }
            Step::Respond(finished) => return Asked { enqueued, response: finished.response },
            other => panic!("an admin route asked for {other:?}"),
        }
    }
}

fn kept(store: &MemoryStore, prefix: &str) -> Vec<String> {
    store.list(prefix, 10_000, NOW).0
}

#[test]
fn dead_letters_and_held_transcriptions_are_listed() {
    let mut store = MemoryStore::new();
    for id in ["bird:a", "bird:b"] {
        store.put(&dead_letter(id).entry(), NOW);
    }
    let transcription = r#"{"event_name":"TRANSCRIPTION_FINISHED","timestamp":1704067000}"#;
    store.put(&Entry { key: keys::held("voice360", "call-7"), value: transcription.into(), ttl_seconds: 60 }, NOW);
    let bridge = bridge(true, true);
    let letters = ask(&bridge, "GET", "/admin/dead-letters", b"", &mut store, Ok(()));
    assert_eq!(letters.response.status, 200);
    let listing = letters.json();
    let ids: Vec<&str> = listing["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["queued"]["message"]["id"].as_str().unwrap())
        .collect();
    assert_eq!((listing["count"].as_u64(), ids), (Some(2), vec!["bird:a", "bird:b"]));
    let held = ask(&bridge, "GET", "/admin/held", b"", &mut store, Ok(()));
    assert_eq!(
        held.json(),
        json!({"count": 1, "more": false, "held": [{
            "provider": "voice360", "call_id": "call-7", "bytes": transcription.len(),
            "at": 1704067000, "time": "2023-12-31T23:56:40+00:00"
        }]})
    );
}

#[test]
fn only_the_newest_refused_records_are_listed_and_the_older_are_let_go() {
    let mut store = MemoryStore::new();
    for at in 0..5 {
        store.put(&Entry { key: keys::rejected(NOW + at, "x"), value: "not a record".into(), ttl_seconds: 60 }, NOW);
    }
    let asked = ask(&bridge(true, true), "GET", "/admin/rejected", b"", &mut store, Ok(()));
    assert_eq!((asked.response.status, asked.json()["keep"].as_u64()), (200, Some(2)));
    let left = kept(&store, keys::REJECTED_PREFIX);
    assert_eq!(left, [keys::rejected(NOW + 4, "x"), keys::rejected(NOW + 3, "x")], "the two newest stay");
}

/// Every admin answer, listed, replayed or refused, is kept from caches
/// and from being run or framed as a page: the listings hold what strangers
/// sent.
#[test]
fn every_admin_answer_is_hardened() {
    let mut store = MemoryStore::new();
    store.put(&dead_letter("bird:a").entry(), NOW);
    let routes = [
        ("GET", "/admin/dead-letters"),
        ("GET", "/admin/held"),
        ("GET", "/admin/rejected"),
        ("POST", "/admin/dead-letters/replay"),
        ("POST", "/admin/deliveries"),
    ];
    for (keeps, queued) in [(true, true), (true, false), (false, false)] {
        for (method, path) in routes {
            let answer = ask(&bridge(queued, keeps), method, path, b"", &mut store, Ok(())).response;
            let header = |name| answer.header(name).unwrap_or_default().to_string();
            let what = format!("{method} {path} ({}, keeps {keeps}, queued {queued})", answer.status);
            assert_eq!(header("Cache-Control"), "no-store", "{what}");
            assert_eq!(header("X-Content-Type-Options"), "nosniff", "{what}");
            assert_eq!(header("Referrer-Policy"), "no-referrer", "{what}");
            assert!(header("Content-Security-Policy").contains("frame-ancestors 'none'"), "{what}");
        }
    }
    let headers: Headers = [("Authorization", "Bearer wrong")].into_iter().collect();
    let request = Request { method: "GET", path: "/admin/held", url: "https://b.test/", headers: &headers, body: b"" };
    let Step::Respond(refused) = bridge(true, true).exchange(&request, NOW) else { panic!("answered at once") };
    assert_eq!((refused.response.status, refused.response.header("Cache-Control")), (401, Some("no-store")));
}

#[test]
fn where_nothing_is_kept_the_routes_are_absent_and_replay_needs_the_queue() {
    let mut store = MemoryStore::new();
    store.put(&dead_letter("bird:a").entry(), NOW);
    let absent = ask(&bridge(true, false), "GET", "/admin/dead-letters", b"", &mut store, Ok(()));
    assert_eq!((absent.response.status, absent.json()["error"].as_str()), (404, Some("not_found")));
    let off = ask(&bridge(false, true), "POST", "/admin/dead-letters/replay", b"", &mut store, Ok(()));
    assert_eq!((off.response.status, off.json()["error"].as_str()), (503, Some("queue_mode_off")));
    assert_eq!(kept(&store, keys::DEAD_LETTER_PREFIX).len(), 1, "nothing let go");
}

/// After a replay, each message's delivery as the store tells it: posted
/// (its claim marked done), being posted, dead again, or not yet taken.
#[test]
fn deliveries_say_how_each_replayed_message_stands() {
    let mut store = MemoryStore::new();
    store.put(&Entry { key: keys::delivery("bird:done"), value: "1".into(), ttl_seconds: 60 }, NOW);
    store.put(&Entry { key: keys::delivery("bird:busy"), value: "pending".into(), ttl_seconds: 60 }, NOW);
    store.put(&dead_letter("bird:dead").entry(), NOW);
    let body = json!({"ids": ["bird:done", "bird:busy", "bird:dead", "bird:waiting"]}).to_string();
    let asked = ask(&bridge(true, true), "POST", "/admin/deliveries", body.as_bytes(), &mut store, Ok(()));
    assert_eq!(asked.response.status, 200);
    assert_eq!(asked.response.header("Cache-Control"), Some("no-store"));
    assert_eq!(
        asked.json(),
        json!({"deliveries": [
            {"id": "bird:done", "state": "delivered"},
            {"id": "bird:busy", "state": "under_way"},
            {"id": "bird:dead", "state": "dead", "last_error": "out of attempts"},
            {"id": "bird:waiting", "state": "queued"},
        ]})
    );
    for bad in ["", "{}", "{\"ids\": []}", "{\"ids\": 1}"] {
        let refused = ask(&bridge(true, true), "POST", "/admin/deliveries", bad.as_bytes(), &mut store, Ok(()));
        assert_eq!((refused.response.status, refused.json()["error"].as_str()), (400, Some("invalid_json")), "{bad}");
    }
    let many = json!({"ids": (0..101).map(|i| i.to_string()).collect::<Vec<_>>()}).to_string();
    let refused = ask(&bridge(true, true), "POST", "/admin/deliveries", many.as_bytes(), &mut store, Ok(()));
    assert_eq!(refused.response.status, 400, "at most 100 at once");
}

fn ids() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set("[a-z]{1,3}", 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever is kept and whatever is asked: a replay enqueues exactly the
    /// letters both kept and asked for (all of them when no ids are given),
    /// as fresh first attempts, answers their ids, and lets go of them and
    /// of nothing else; a queue that refuses lets go of nothing.
    #[test]
    fn a_replay_enqueues_and_lets_go_of_exactly_what_was_asked(
        kept_ids in ids(),
        asked in proptest::option::of(ids()),
        queue_takes in any::<bool>(),
    ) {
        let mut store = MemoryStore::new();
        for id in &kept_ids {
            store.put(&dead_letter(id).entry(), NOW);
        }
        let body = asked.as_ref().map_or(Vec::new(), |ids| json!({"ids": ids}).to_string().into_bytes());
        let queue = if queue_takes { Ok(()) } else { Err("queue full".to_string()) };
        let replay = ask(&bridge(true, true), "POST", "/admin/dead-letters/replay", &body, &mut store, queue);
        let chosen: BTreeSet<String> = match &asked {
            Some(asked) => kept_ids.intersection(asked).cloned().collect(),
            None => kept_ids.clone(),
        };
        let sent: BTreeSet<String> = replay.enqueued.iter().flatten().map(|q| q.message.id.clone()).collect();
        prop_assert!(replay.enqueued.iter().flatten().all(|q| q.attempt == 1 && q.accepted_at == NOW));
        let left: BTreeSet<String> = kept(&store, keys::DEAD_LETTER_PREFIX).into_iter().collect();
        let all_keys: BTreeSet<String> = kept_ids.iter().map(|id| keys::dead_letter(id)).collect();
        if queue_takes || chosen.is_empty() {
            prop_assert_eq!(replay.response.status, 200);
            prop_assert_eq!(&sent, &chosen);
            let answered: BTreeSet<String> =
                replay.json()["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect();
            prop_assert_eq!(&answered, &chosen);
            let expected: BTreeSet<String> = kept_ids.difference(&chosen).map(|id| keys::dead_letter(id)).collect();
            prop_assert_eq!(left, expected);
        } else {
            prop_assert_eq!(replay.response.status, 503);
            prop_assert_eq!(replay.json()["error"].as_str().map(String::from), Some("queue_unavailable".to_string()));
            prop_assert_eq!(left, all_keys);
        }
    }
}
