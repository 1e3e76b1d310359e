//! The queue consumer in the core (`Bridge::consume`): each message is an
//! exchange whose steps a shell does, and whose end says whether the
//! message is acknowledged or comes back. Checked over generated answers:
//! a message is acknowledged exactly when it was delivered before, or now,
//! or handed on (back to the delivery queue, or to the dead letters).

use std::collections::HashMap;

use proptest::prelude::*;
use reamaze_bridge::bridge::{with_store, Bridge, Disposition, Finished, Step};
use reamaze_bridge::http::DeliveryResult;
use reamaze_bridge::queue::{DeadLetter, Queued};
use reamaze_bridge::store::{keys, MemoryStore, Store, DONE, PENDING};
use reamaze_bridge::Settings;
use serde_json::{json, Value};

const NOW: i64 = 1_704_067_200;

fn settings() -> Settings {
    let values: HashMap<&str, &str> = HashMap::from([
        ("REAMAZE_VOICE_SECRET", "voice-secret"),
        ("QUEUE_RETRY_BASE_SECONDS", "10"),
        ("QUEUE_RETRY_MAX_SECONDS", "300"),
        ("QUEUE_MAX_ATTEMPTS", "5"),
        ("ALERT_WEBHOOK_URL", "https://alerts.example/hook"),
        ("ALERT_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ]);
    Settings::read(|n| values.get(n).map(|v| v.to_string()))
}

fn body(attempt: u32) -> Vec<u8> {
    json!({
        "channel": "voice", "provider": "voice360", "event": "CALL_ENDED", "attempt": attempt, "accepted_at": NOW,
        "message": {"id": "voice360:CALL_ENDED:9", "direction": "inbound", "from": {"phone": "+1555"}, "to": {"phone": "+1666"}, "body": "Call ended"}
    })
    .to_string()
    .into_bytes()
}

/// What a consumer did with one message.
#[derive(Debug, Default)]
struct Done {
    posts: usize,
    requeued: Vec<(Queued, u32)>,
    buried: Vec<DeadLetter>,
    finished: Option<Finished>,
}

/// Runs a consumed message's exchange: posts answered with `answer`, the
/// queues answering `queues`.
fn consume(
    bridge: &Bridge,
    queue: &str,
    body: &[u8],
    store: &mut MemoryStore,
    answer: &DeliveryResult,
    queues: Result<(), String>,
) -> Done {
    let (mut step, _) = bridge.consume(queue, body, NOW, 0.5);
    let mut done = Done::default();
    loop {
        step = match with_store(step, store, NOW) {
            Step::Deliver(deliver) => {
                done.posts += 1;
                deliver.answer(answer.clone())
            }
            Step::Enqueue(enqueue) => {
                let delay = enqueue.delay_seconds();
                done.requeued.extend(enqueue.messages().iter().map(|m| (m.clone(), delay)));
                enqueue.answer(queues.clone())
            }
            Step::DeadLetter(bury) => {
                done.buried.push(bury.letter().clone());
                bury.answer(queues.clone())
            }
            Step::Respond(finished) => {
                done.finished = Some(finished);
                return done;
            }
            other => panic!("a consumer asked for {other:?}"),
        }
    }
}

fn line(done: &Done) -> Value {
    serde_json::from_slice(&done.finished.as_ref().unwrap().response.body).unwrap()
}

fn disposition(done: &Done) -> Disposition {
    Disposition::of(done.finished.as_ref().unwrap())
}

#[test]
fn a_message_delivered_is_marked_and_acknowledged() {
    let (bridge, mut store) = (Bridge::new(settings()), MemoryStore::new());
    let done = consume(&bridge, "deliveries", &body(1), &mut store, &DeliveryResult::answered(200, "{}"), Ok(()));
    assert_eq!((done.posts, disposition(&done)), (1, Disposition::Acknowledge));
    assert_eq!(store.get(&keys::delivery("voice360:CALL_ENDED:9"), NOW).as_deref(), Some(DONE));
    let line = line(&done);
    assert_eq!(
        line,
        json!({"queue": "deliveries", "id": "voice360:CALL_ENDED:9", "attempt": 1, "outcome": "delivered", "upstream_status": 200})
    );
    let summary = &done.finished.unwrap().summary;
    assert_eq!((summary.provider, summary.event.as_deref()), (Some("voice360"), Some("CALL_ENDED")));
}

#[test]
fn a_message_claimed_elsewhere_comes_back_once_the_claim_lapses_and_one_delivered_is_a_duplicate() {
    let bridge = Bridge::new(settings());
    let key = keys::delivery("voice360:CALL_ENDED:9");
    for (held, outcome, expected) in [
        (PENDING, "under_way", Disposition::Redeliver { delay_seconds: Some(30) }),
        (DONE, "duplicate", Disposition::Acknowledge),
    ] {
        let mut store = MemoryStore::new();
        store.put(&reamaze_bridge::store::Entry { key: key.clone(), value: held.into(), ttl_seconds: 60 }, NOW);
        let done = consume(&bridge, "deliveries", &body(1), &mut store, &DeliveryResult::answered(200, ""), Ok(()));
        assert_eq!((done.posts, disposition(&done), line(&done)["outcome"].as_str()), (0, expected, Some(outcome)));
    }
}

#[test]
fn a_dead_letter_is_kept_and_announced() {
    let bridge = Bridge::new(settings());
    let dead = json!({"queued": serde_json::from_slice::<Value>(&body(5)).unwrap(), "attempts": 5,
        "last_error": "Re:amaze answered 400: no", "upstream_status": 400, "dead_at": NOW});
    let mut store = MemoryStore::new();
    let (_, after) = bridge.consume("reamaze-dead-letters", dead.to_string().as_bytes(), NOW, 0.5);
    let done = consume(
        &bridge,
        "reamaze-dead-letters",
        dead.to_string().as_bytes(),
        &mut store,
        &DeliveryResult::answered(200, ""),
        Ok(()),
    );
    assert_eq!(disposition(&done), Disposition::Acknowledge);
    assert_eq!(
        line(&done),
        json!({"queue": "dead_letters", "id": "voice360:CALL_ENDED:9", "attempts": 5, "outcome": "kept"})
    );
    let kept = store.get(&keys::dead_letter("voice360:CALL_ENDED:9"), NOW).expect("kept");
    assert_eq!(DeadLetter::parse(kept.as_bytes()).unwrap().attempts, 5);
    assert!(matches!(after, Some(Step::Claim(_))), "the alert goes out once: its claim first");
}

#[test]
fn a_message_the_bridge_did_not_write_comes_back_and_says_why() {
    let bridge = Bridge::new(settings());
    let done = consume(
        &bridge,
        "deliveries",
        b"{\"nope\":1}",
        &mut MemoryStore::new(),
        &DeliveryResult::answered(200, ""),
        Ok(()),
    );
    assert_eq!(disposition(&done), Disposition::Redeliver { delay_seconds: None });
    assert_eq!(line(&done)["outcome"], "error");
    assert!(line(&done)["reason"].as_str().unwrap().contains("not a queued message"));
}

/// An answer from Re:amaze: a status, or none (no connection).
fn answers() -> impl Strategy<Value = DeliveryResult> {
    prop_oneof![
        (100u16..600).prop_map(|status| DeliveryResult::answered(status, "said")),
        Just(DeliveryResult::unanswered("connection refused")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever Re:amaze answers, on whichever attempt, and whether or not
    /// the queues take what they are given: the message is posted at most
    /// once; it is acknowledged exactly when it is delivered or handed on;
    /// a message handed on is its retry (attempt + 1, delayed) or its dead
    /// letter, never both; and the claim is settled, never left pending.
    #[test]
    fn every_message_is_delivered_handed_on_or_comes_back(
        attempt in 1u32..8,
        answer in answers(),
        queues_take in any::<bool>(),
    ) {
        let (bridge, mut store) = (Bridge::new(settings()), MemoryStore::new());
        let queues = if queues_take { Ok(()) } else { Err("queue full".to_string()) };
        let done = consume(&bridge, "deliveries", &body(attempt), &mut store, &answer, queues);
        prop_assert_eq!(done.posts, 1);
        let delivered = answer.status.is_some_and(|s| (200..300).contains(&s));
        let handed_on = done.requeued.len() + done.buried.len();
        prop_assert_eq!(handed_on, usize::from(!delivered), "one retry or one dead letter unless delivered");
        let acknowledged = disposition(&done) == Disposition::Acknowledge;
        prop_assert_eq!(acknowledged, delivered || queues_take);
        for (next, delay) in &done.requeued {
            prop_assert_eq!(next.attempt, attempt + 1);
            prop_assert!(*delay >= 5, "a retry waits");
        }
        let claim = store.get(&keys::delivery("voice360:CALL_ENDED:9"), NOW);
        prop_assert_eq!(claim.as_deref(), delivered.then_some(DONE));
        prop_assert_eq!(line(&done)["attempt"].as_u64(), Some(u64::from(attempt)));
    }
}
