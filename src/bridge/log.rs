//! The log lines every shell writes, one JSON object per line: one per
//! request, and one for what followed it. What a line holds is decided
//! here, once; never a secret, never a body.

use serde::Serialize;

use super::step::Finished;

/// One line per request, in this order.
#[derive(Serialize)]
struct RequestLine<'a> {
    method: &'a str,
    route: &'a str,
    provider: Option<&'a str>,
    event: Option<&'a str>,
    outcome: &'a str,
    status: u16,
    upstream_status: Option<u16>,
    deliveries: u32,
    duration_ms: u64,
    /// What failed inside the bridge (a store, the queue), plain.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// The line for a request to `route` (its path), answered as `finished`
/// after `deliveries` upstream requests and `duration_ms`.
pub fn request_line(method: &str, route: &str, finished: &Finished, deliveries: u32, duration_ms: u64) -> String {
    let summary = &finished.summary;
    let line = RequestLine {
        method,
        route,
        provider: summary.provider,
        event: summary.event.as_deref(),
        outcome: summary.result,
        status: finished.response.status,
        upstream_status: summary.upstream_status,
        deliveries,
        duration_ms,
        reason: summary.reason.as_deref(),
    };
    serde_json::to_string(&line).expect("a log line serializes")
}

/// What followed an answer (`Bridge::aftermath`).
#[derive(Serialize)]
struct AftermathLine<'a> {
    aftermath: &'a str,
    upstream_status: Option<u16>,
}

/// The line for an aftermath that ended as `finished`.
pub fn aftermath_line(finished: &Finished) -> String {
    let summary = &finished.summary;
    let line = AftermathLine { aftermath: summary.result, upstream_status: summary.upstream_status };
    serde_json::to_string(&line).expect("a log line serializes")
}
