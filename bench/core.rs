//! The core, native (criterion): verify, translate and sign for each
//! provider, with 1 KiB and 16 KiB payloads. `bench/run.sh` reads the
//! medians criterion writes, for the table.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use reamaze_bridge::providers::{self, translate_payload, Outcome, Provider};
use reamaze_bridge::signature::{self, Signed, Window};
use reamaze_bridge::{MemoryStore, Settings};
use serde_json::json;

const TS: &str = "1704067200";
const URL: &str = "https://bridge.example.com/webhooks/bird";

/// A realistic payload of about `size` bytes: the text an agent reads (an
/// SMS, a call summary) carries the bulk.
fn payload(provider: Provider, size: usize) -> Vec<u8> {
    let text = |n: usize| "Customer asked about the May invoice and a refund. ".repeat(n / 50 + 1)[..n].to_string();
    let base = match provider.name() {
        "voice360" => json!({"event_name": "SMS_RECEIVED", "account_id": "12345", "timestamp": 1704067200,
            "metadata": {"from_number": "+15551234567", "to_number": "+15559876543", "message_id": "msg_abc123", "body": ""}}),
        "bird" => {
            json!({"service": "channels", "event": "voice.inbound", "payload": {"id": "5d1a0c3e-1111-4a5b-9c3d-0e8f7a6b5c4d",
            "direction": "incoming", "status": "failed", "from": "+31612345678", "to": "+31201234567", "reason": "",
            "endedAt": "2026-03-02T09:16:42Z"}})
        }
        _ => {
            json!({"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "phone": "+33612345678", "type": "INBOUND",
            "duration": 360, "status": "COMPLETED", "summary": "", "classifierData": {"Sentiment": "Positive"}, "endTime": "2024-07-30T14:41:00Z"})
        }
    };
    let empty = serde_json::to_vec(&base).unwrap().len();
    let mut value = base;
    let fill = text(size.saturating_sub(empty));
    match provider.name() {
        "voice360" => value["metadata"]["body"] = json!(fill),
        "bird" => value["payload"]["reason"] = json!(fill),
        _ => value["summary"] = json!(fill),
    }
    serde_json::to_vec(&value).unwrap()
}

fn benches(c: &mut Criterion) {
    let settings = Settings::default();
    for provider in providers::ALL {
        for size in [1024, 16 * 1024] {
            let body = payload(provider, size);
            let label = format!("{}/{}", provider.name(), if size == 1024 { "1KiB" } else { "16KiB" });
            let signed = Signed::stamped(&body, TS, URL);
            let header = signature::sign(provider.scheme, b"webhook-secret", &signed).unwrap();
            c.bench_with_input(BenchmarkId::new("verify", &label), &body, |b, body| {
                let signed = Signed::stamped(body, TS, URL);
                b.iter(|| {
                    signature::verify(
                        provider.scheme,
                        &["webhook-secret"],
                        &signed,
                        Some(&header),
                        Window::at(1_704_067_260),
                    )
                    .unwrap()
                })
            });
            c.bench_with_input(BenchmarkId::new("translate", &label), &body, |b, body| {
                b.iter(|| translate_payload(provider, black_box(body), &settings, &mut MemoryStore::new(), 0).unwrap())
            });
            let (_, translation) = translate_payload(provider, &body, &settings, &mut MemoryStore::new(), 0).unwrap();
            let Outcome::Messages(messages) = translation.outcome else { panic!("{label}: ignored") };
            c.bench_with_input(BenchmarkId::new("sign", &label), &messages[0].message, |b, message| {
                b.iter(|| signature::sign_reamaze(b"channel-secret", &black_box(message).to_json()))
            });
        }
    }
}

criterion_group!(core, benches);
criterion_main!(core);
