//! Helpers shared by the Rust integration tests.

use reamaze_bridge::bridge::{Bridge, Exchange, Headers, Request};
use reamaze_bridge::signature::{self, Scheme, Signed};

/// An exchange for a Voice360 webhook with `body`, signed with `secret` as
/// Voice360 signs it.
pub fn voice360_exchange(bridge: &Bridge, body: &[u8], secret: &[u8], now: i64) -> Exchange {
    let sig = signature::sign(Scheme::Voice360, secret, &Signed::body(body)).unwrap();
    let headers: Headers = [("x-voice360-signature", sig)].into_iter().collect();
    let request = Request {
        method: "POST",
        path: "/webhooks/voice360",
        url: "https://b.test/webhooks/voice360",
        headers: &headers,
        body,
    };
    bridge.exchange(&request, now)
}
