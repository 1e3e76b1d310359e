//! The whole bridge plan on any request (route, method, headers, body) and
//! any upstream answers: never a panic, and a status from the contract.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::bridge::{drive, Bridge};
use reamaze_bridge::http::{DeliveryResult, Headers, Request};
use reamaze_bridge::signature::{self, Signed};
use reamaze_bridge::{MemoryStore, Settings};

const ROUTES: [&str; 6] =
    ["/webhooks/voice360", "/webhooks/bird", "/webhooks/volubile", "/webhooks/reamaze/sms", "/healthz", "/nope"];
const STATUSES: [u16; 14] = [200, 201, 202, 204, 400, 401, 403, 404, 408, 429, 500, 502, 503, 0];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let settings = Settings::from_lookup(|name| {
        Some(
            match name {
                "VOICE360_WEBHOOK_SECRETS" | "BIRD_SIGNING_KEYS" | "VOLUBILE_WEBHOOK_SECRETS" => "k",
                "REAMAZE_VOICE_SECRET" | "REAMAZE_SMS_SECRET" => "c",
                "VOICE360_API_KEY" => "api",
                "VOICE360_ACCOUNT_ID" => "61",
                "SMS_CHANNEL_NUMBER" => "+16501234567",
                "MAX_BODY_BYTES" => "65536",
                _ => return None,
            }
            .to_string(),
        )
    })
    .unwrap();
    let bridge = Bridge::new(settings);
    let path = ROUTES[usize::from(selector & 7) % ROUTES.len()];
    let method = if selector & 8 == 0 { "POST" } else { "GET" };
    let url = format!("https://b.test{path}");
    let ts = "1704067200";
    // Half the time the request is correctly signed, so the fuzzer gets past
    // verification into parsing, translation and delivery.
    let mut headers: Headers = Headers::new();
    if selector & 16 == 0 {
        let signed = Signed::stamped(rest, ts, &url);
        let (scheme, secret) = match path {
            "/webhooks/voice360" => (&reamaze_bridge::providers::voice360::SCHEME, &b"k"[..]),
            "/webhooks/bird" => (&reamaze_bridge::providers::bird::SCHEME, &b"k"[..]),
            "/webhooks/volubile" => (&reamaze_bridge::providers::volubile::SCHEME, &b"k"[..]),
            _ => (&reamaze_bridge::reamaze::SCHEME, &b"c"[..]),
        };
        headers.append(scheme.header(), signature::sign(scheme, secret, &signed).unwrap());
        headers.append("messagebird-request-timestamp", ts);
    } else {
        headers.append("X-Voice360-Signature", String::from_utf8_lossy(&rest[..rest.len().min(2_000)]).into_owned());
    }
    let request = Request { method, path, url: &url, headers: &headers, body: rest };
    let mut store = MemoryStore::new();
    let mut answers = rest.iter().copied().cycle();
    for _ in 0..2 {
        let response = drive(bridge.exchange(&request, 1_704_067_200), &mut store, 1_704_067_200, |_| {
            let status = STATUSES[usize::from(answers.next().unwrap_or(0)) % STATUSES.len()];
            if status == 0 {
                DeliveryResult::unanswered("refused")
            } else {
                DeliveryResult { status: Some(status), retry_after: Some("7".into()), body: "{\"error\":false}".into() }
            }
        });
        assert!(
            [200, 202, 400, 401, 404, 405, 413, 422, 431, 502, 503].contains(&response.status),
            "status {} outside the contract",
            response.status
        );
        serde_json::from_slice::<serde_json::Value>(&response.body).expect("every answer is JSON");
    }
});
