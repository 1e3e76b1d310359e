//! Queue mode in the core: webhooks answered 202 once enqueued, and how a
//! consumer settles each delivery attempt.

mod common;

use std::collections::HashMap;

use reamaze_bridge::admin;
use reamaze_bridge::bridge::{with_store, Bridge, Step};
use reamaze_bridge::http::DeliveryResult;
use reamaze_bridge::queue::{self, backoff, retry_after, Arrival, DeadLetter, Queued, Settled};
use reamaze_bridge::signature::{self, Signed, Window};
use reamaze_bridge::Settings;
use serde_json::json;

const NOW: i64 = 1_704_067_200;

fn settings(extra: &[(&str, &str)]) -> Settings {
    let mut values: HashMap<&str, &str> = HashMap::from([
        ("REAMAZE_VOICE_SECRET", "voice-secret"),
        ("VOICE360_WEBHOOK_SECRETS", "whsec"),
        ("QUEUE_RETRY_BASE_SECONDS", "10"),
        ("QUEUE_RETRY_MAX_SECONDS", "300"),
        ("QUEUE_MAX_ATTEMPTS", "5"),
    ]);
    values.extend(extra.iter().copied());
    Settings::from_lookup(|n| values.get(n).map(|v| v.to_string())).unwrap()
}

fn webhook_exchange(bridge: &Bridge, uniqueid: &str) -> Step {
    let body = serde_json::to_vec(&json!({"event_name": "INCOMING_EXTERNAL_CALL", "account_id": "1", "timestamp": NOW,
        "metadata": {"caller_id_number": "+15551234567", "dnis": "+15559876543", "uniqueid": uniqueid}}))
    .unwrap();
    common::voice360_exchange(bridge, &body, b"whsec", NOW)
}

/// Runs an exchange answering reads with `seen`, and returns what it
/// enqueued and its response.
fn run_queued(
    mut step: Step,
    seen: Option<&str>,
    enqueue: Result<(), String>,
) -> (Vec<Queued>, reamaze_bridge::Response) {
    let mut queued = Vec::new();
    loop {
        step = match step {
            Step::Read(read) => {
                let values = read
                    .keys()
                    .iter()
                    .map(|k| if k.starts_with("seen:") { seen.map(String::from) } else { None })
                    .collect();
                read.answer(values)
            }
            Step::Write(write) => write.done(),
            Step::Claim(_) | Step::Release(_) | Step::DeliverOnce(_) => {
                panic!("queue mode claims nothing: its consumer does")
            }
            Step::List(_) | Step::DeadLetter(_) => panic!("a webhook lists nothing and buries nothing"),
            Step::Deliver(d) => panic!("queue mode delivered {} directly", d.delivery().url),
            Step::Enqueue(enqueue_step) => {
                queued.extend(enqueue_step.messages().iter().cloned());
                enqueue_step.answer(enqueue.clone())
            }
            Step::Respond(finished) => return (queued, finished.response),
        }
    }
}

#[test]
fn queue_mode_answers_202_once_enqueued() {
    let bridge = Bridge::new(settings(&[])).queued(true);
    let (queued, response) = run_queued(webhook_exchange(&bridge, "q.1"), None, Ok(()));
    assert_eq!(response.status, 202);
    assert_eq!(response.body_json()["status"], "queued");
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attempt, 1);
    assert_eq!(queued[0].message.id, "voice360:INCOMING_EXTERNAL_CALL:q.1");
    assert_eq!(queued[0].accepted_at, NOW);
}

#[test]
fn queue_mode_refused_by_the_queue_is_503_and_duplicates_are_not_enqueued() {
    let bridge = Bridge::new(settings(&[])).queued(true);
    let (_, response) = run_queued(webhook_exchange(&bridge, "q.2"), None, Err("queue full".into()));
    assert_eq!(response.status, 503);
    assert!(response.header("Retry-After").is_some());
    let (queued, response) = run_queued(webhook_exchange(&bridge, "q.2"), Some("1"), Ok(()));
    assert!(queued.is_empty());
    assert_eq!((response.status, response.body_json()["status"].clone()), (200, json!("duplicate")));
}

fn job(attempt: u32) -> Queued {
    let body = json!({
        "channel": "voice", "provider": "voice360", "event": "CALL_ENDED", "attempt": attempt, "accepted_at": NOW,
        "message": {"id": "voice360:CALL_ENDED:9", "direction": "inbound", "from": {"phone": "+1555"}, "to": {"phone": "+1666"}, "body": "Call ended"}
    });
    match Arrival::of("deliveries", body.to_string().as_bytes(), NOW).unwrap() {
        Arrival::Delivery(queued) => queued,
        other => panic!("a queued message read as {other:?}"),
    }
}

#[test]
fn queued_messages_and_dead_letters_read_back_as_written() {
    let mut queued = job(3);
    queued.message = queued.message.thread(Some("voice360:9".into())).assigned(Some("jane@acme.example".into()));
    queued.message.from.name = Some("Zoë 🙂".into());
    queued.message.attachments = vec!["https://example.com/a.png".into()];
    queued.last_error = Some("Re:amaze answered 503".into());
    let written = serde_json::to_vec(&queued).unwrap();
    assert_eq!(Arrival::of("deliveries", &written, NOW), Ok(Arrival::Delivery(queued.clone())));

    let dead = DeadLetter {
        queued: queued.clone(),
        attempts: 7,
        last_error: "x".into(),
        upstream_status: Some(400),
        dead_at: NOW,
    };
    assert_eq!(DeadLetter::parse(dead.entry().value.as_bytes()), Ok(dead.clone()));
    let letter = serde_json::to_vec(&dead).unwrap();
    assert_eq!(Arrival::of("dead-letters", &letter, NOW), Ok(Arrival::DeadLetter(dead)));

    // Moved to the dead-letter queue by the platform itself: a bare message.
    let Ok(Arrival::DeadLetter(moved)) = Arrival::of("dead-letters", &written, NOW + 5) else {
        panic!("not a dead letter")
    };
    assert_eq!((moved.queued, moved.attempts, moved.dead_at), (queued, 3, NOW + 5));
}

#[test]
fn what_the_bridge_did_not_write_is_refused_by_name() {
    let refused = |body: &str| Arrival::of("deliveries", body.as_bytes(), NOW).unwrap_err();
    assert!(refused("[]").starts_with("not a queued message"));
    let body = r#"{"channel":"fax","provider":"p","event":"e","attempt":1,"accepted_at":1,"message":{}}"#;
    assert!(refused(body).contains("channel is missing"), "{}", refused(body));
    let message = r#"{"id":"i","direction":"inbound","from":{"phone":"+1555"},"to":{},"body":"b"}"#;
    let body =
        format!(r#"{{"channel":"voice","provider":"p","event":"e","attempt":-1,"accepted_at":1,"message":{message}}}"#);
    assert!(refused(&body).ends_with("attempt is out of range"), "{}", refused(&body));
    let body = body.replace(r#""direction":"inbound""#, r#""direction":"sideways""#);
    assert!(refused(&body).ends_with("message.direction is neither inbound nor outbound"), "{}", refused(&body));
}

#[test]
fn a_job_is_signed_when_sent_with_the_current_secret() {
    let job = job(1);
    let old = job.delivery(&settings(&[])).unwrap();
    let rotated = job.delivery(&settings(&[("REAMAZE_VOICE_SECRET", "rotated-secret")])).unwrap();
    let header =
        |d: &reamaze_bridge::Delivery| d.headers.iter().find(|(k, _)| k == "X-Reamaze-Hmac-SHA256").unwrap().1.clone();
    for (delivery, secret) in [(&old, "voice-secret"), (&rotated, "rotated-secret")] {
        let sig = header(delivery);
        assert!(signature::verify(
            &reamaze_bridge::reamaze::SCHEME,
            &[secret],
            &Signed::body(&delivery.body),
            Some(&sig),
            Window::at(0)
        )
        .is_ok());
    }
    assert!(job.delivery(&settings(&[("REAMAZE_VOICE_SECRET", "")])).is_err(), "no secret: not sendable");
}

#[test]
fn settling_an_attempt() {
    let s = settings(&[]);
    match job(1).settle(&DeliveryResult::answered(201, ""), &s, NOW, 0.5) {
        Settled::Delivered(mark) => assert_eq!(mark.key, "seen:voice360:CALL_ENDED:9"),
        other => panic!("{other:?}"),
    }
    match job(1).settle(&DeliveryResult::answered(503, "down"), &s, NOW, 0.0) {
        Settled::Retry { next, delay_seconds } => {
            assert_eq!(next.attempt, 2);
            assert_eq!(delay_seconds, 5, "half of the 10 s base with no jitter");
            assert!(next.last_error.unwrap().contains("503"));
        }
        other => panic!("{other:?}"),
    }
    let rate_limited = DeliveryResult { status: Some(429), retry_after: Some("120".into()), body: String::new() };
    match job(1).settle(&rate_limited, &s, NOW, 0.9) {
        Settled::Retry { delay_seconds, .. } => assert_eq!(delay_seconds, 120, "Retry-After is honoured"),
        other => panic!("{other:?}"),
    }
    match job(2).settle(&DeliveryResult::answered(400, r#"{"error":"bad phone"}"#), &s, NOW, 0.5) {
        Settled::DeadLetter(dead) => {
            assert_eq!((dead.attempts, dead.upstream_status), (2, Some(400)));
            assert!(dead.last_error.contains("bad phone"));
        }
        other => panic!("{other:?}"),
    }
    match job(5).settle(&DeliveryResult::unanswered("connection refused"), &s, NOW, 0.5) {
        Settled::DeadLetter(dead) => assert!(dead.last_error.starts_with("out of attempts"), "{}", dead.last_error),
        other => panic!("{other:?}"),
    }
}

#[test]
fn backoff_doubles_within_its_jitter_and_caps() {
    let s = settings(&[]);
    for attempt in 1..=12 {
        let ceiling = (10u32 << (attempt - 1).min(20)).min(300);
        let low = backoff(attempt, &s, 0.0);
        let high = backoff(attempt, &s, 0.999);
        assert_eq!(low, ceiling / 2, "attempt {attempt}");
        assert!(high <= ceiling && high >= low, "attempt {attempt}: {high}");
    }
    assert_eq!(backoff(u32::MAX, &s, f64::NAN), 225, "absurd input stays within the cap");
}

#[test]
fn retry_after_reads_seconds_and_http_dates() {
    let with = |v: &str| DeliveryResult { status: Some(503), retry_after: Some(v.into()), body: String::new() };
    assert_eq!(retry_after(&with("30"), NOW), 30);
    assert_eq!(retry_after(&with("Mon, 01 Jan 2024 00:01:00 GMT"), NOW), 60);
    assert_eq!(retry_after(&with("soon"), NOW), 0);
    assert_eq!(retry_after(&with("99999999"), NOW), 86_400);
}

#[test]
fn dead_letters_replay_as_fresh_first_attempts() {
    let dead =
        DeadLetter { queued: job(7), attempts: 7, last_error: "x".into(), upstream_status: Some(400), dead_at: NOW };
    assert_eq!(dead.key(), "dead:voice360:CALL_ENDED:9");
    let again = dead.replay(NOW + 60);
    assert_eq!((again.attempt, again.accepted_at, again.last_error), (1, NOW + 60, None));
}

#[test]
fn admin_routes_need_the_bearer_token_and_are_off_without_one() {
    let off = settings(&[]);
    assert_eq!(admin::authorize(&off, Some("Bearer anything")).unwrap_err().status(), 404);
    let on = settings(&[("ADMIN_TOKEN", "s3cret-token")]);
    assert!(admin::authorize(&on, Some("Bearer s3cret-token")).is_ok());
    for wrong in
        [None, Some(""), Some("Bearer "), Some("s3cret-token"), Some("Bearer s3cret-tokeN"), Some("Basic s3cret-token")]
    {
        let refused = admin::authorize(&on, wrong).unwrap_err().response(&Default::default());
        assert_eq!(refused.status, 401, "{wrong:?}");
        assert!(!String::from_utf8(refused.body).unwrap().contains("s3cret"));
    }
}

/// Runs a queue-mode exchange against a store, recording every batch
/// enqueued and every message posted at once.
fn run_against_store(
    mut step: Step,
    store: &mut reamaze_bridge::MemoryStore,
) -> (Vec<Vec<Queued>>, Vec<serde_json::Value>, reamaze_bridge::Response) {
    let (mut batches, mut posted) = (Vec::new(), Vec::new());
    loop {
        step = match with_store(step, store, NOW) {
            Step::Deliver(deliver) => {
                posted.push(serde_json::from_slice(&deliver.delivery().body).unwrap());
                deliver.answer(DeliveryResult::answered(200, ""))
            }
            Step::Enqueue(enqueue) => {
                batches.push(enqueue.messages().to_vec());
                enqueue.answer(Ok(()))
            }
            Step::Respond(finished) => return (batches, posted, finished.response),
            other => panic!("with_store answers the store's steps, not {other:?}"),
        }
    }
}

/// A two-hour transcript in queue mode: every part fits in a queue message
/// (128 KB) and every batch in one send (256 KB, 100 messages), and the
/// parts together are the whole transcript.
#[test]
fn a_two_hour_transcript_is_enqueued_in_messages_and_batches_the_queue_takes() {
    let bridge = Bridge::new(settings(&[])).queued(true);
    let mut store = reamaze_bridge::MemoryStore::new();
    assert_eq!(run_against_store(webhook_exchange(&bridge, "long.q"), &mut store).2.status, 202);
    let (event, turns) = common::long_transcription("long.q", 120, NOW + 7_300);
    let body = serde_json::to_vec(&event).unwrap();
    let (batches, posted, response) =
        run_against_store(common::voice360_exchange(&bridge, &body, b"whsec", NOW + 7_300), &mut store);
    assert_eq!(response.status, 202, "{:?}", response.body_json());
    assert!(posted.is_empty(), "every part fits the queue");
    for batch in &batches {
        let bytes: usize = batch.iter().map(|q| serde_json::to_vec(q).unwrap().len()).sum();
        assert!(bytes <= queue::BATCH_MAX_BYTES && batch.len() <= queue::BATCH_MAX_MESSAGES, "{bytes} bytes");
        assert!(batch.iter().all(|q| serde_json::to_vec(q).unwrap().len() <= queue::MESSAGE_MAX_BYTES));
    }
    let bodies: Vec<String> = batches.iter().flatten().map(|q| q.message.body.clone()).collect();
    let lines: Vec<String> = bodies[1..]
        .iter()
        .flat_map(|b| b.lines().skip(1).filter(|l| !l.is_empty()).map(String::from).collect::<Vec<_>>())
        .collect();
    assert_eq!(lines, turns);
}

/// A message larger than the queue holds (MAX_MESSAGE_CHARS raised) is not
/// refused by the queue on every retry: it is posted at once, and the rest
/// is queued.
#[test]
fn a_message_too_large_for_the_queue_is_posted_at_once() {
    let bridge = Bridge::new(settings(&[("MAX_MESSAGE_CHARS", "300000")])).queued(true);
    let mut store = reamaze_bridge::MemoryStore::new();
    assert_eq!(run_against_store(webhook_exchange(&bridge, "big.q"), &mut store).2.status, 202);
    let (event, _) = common::long_transcription("big.q", 180, NOW + 7_300);
    let body = serde_json::to_vec(&event).unwrap();
    let (batches, posted, response) =
        run_against_store(common::voice360_exchange(&bridge, &body, b"whsec", NOW + 7_300), &mut store);
    assert_eq!(response.status, 202, "{:?}", response.body_json());
    assert!(batches.is_empty(), "nothing the queue would refuse is enqueued");
    assert_eq!(posted.len(), 1, "the transcript, in one message over 128 KB, is posted at once");
    assert!(serde_json::to_vec(&posted[0]).unwrap().len() > 128_000);
    assert_eq!(response.body_json()["messages"][0]["result"], "delivered");
}

#[test]
fn batches_hold_what_one_send_takes() {
    let message = |i: usize, chars: usize| {
        let mut q = Queued::new(
            &reamaze_bridge::Outgoing {
                channel: reamaze_bridge::Channel::Voice,
                message: reamaze_bridge::Message::between(
                    format!("m{i}"),
                    reamaze_bridge::Direction::Inbound,
                    reamaze_bridge::Party::phone("+15551234567"),
                    reamaze_bridge::Party::phone("+15559876543"),
                    "x".repeat(chars),
                ),
            },
            "voice360",
            "E",
            NOW,
        );
        q.attempt = 1;
        q
    };
    let sizes = |batches: &[Vec<Queued>]| batches.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(&queue::batches((0..5).map(|i| message(i, 100_000)).collect())), [2, 2, 1]);
    assert_eq!(sizes(&queue::batches((0..250).map(|i| message(i, 10)).collect())), [100, 100, 50]);
    assert!(queue::fits(&message(0, 110_000)) && !queue::fits(&message(0, 130_000)));
}
