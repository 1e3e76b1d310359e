//! The bridge's routes, and the request headers it reads.

use std::borrow::Cow;

use crate::error::Error;
use crate::http::Request;
use crate::providers::Provider;
use crate::settings::Settings;
use crate::signature::{self, Scheme};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Webhook(Provider),
    /// Re:amaze's staff SMS reply, sent on through Voice360.
    StaffReply,
    Health,
    /// Queue mode: list the dead letters (operators, bearer token).
    DeadLetters,
    /// Queue mode: enqueue dead letters again (operators, bearer token).
    ReplayDeadLetters,
    /// The transcriptions held until their call is known (operators,
    /// bearer token).
    HeldTranscriptions,
    /// The refused webhooks kept, with their likely causes (operators,
    /// bearer token).
    RejectedWebhooks,
}

impl Route {
    /// Whether this is one of the operators' routes.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Route::DeadLetters | Route::ReplayDeadLetters | Route::HeldTranscriptions | Route::RejectedWebhooks
        )
    }
}

/// Every route: its path, method, and what it is.
pub const ROUTES: [(&str, &str, Route); 9] = [
    ("/webhooks/voice360", "POST", Route::Webhook(Provider::Voice360)),
    ("/webhooks/bird", "POST", Route::Webhook(Provider::Bird)),
    ("/webhooks/volubile", "POST", Route::Webhook(Provider::Volubile)),
    ("/webhooks/reamaze/sms", "POST", Route::StaffReply),
    ("/healthz", "GET", Route::Health),
    ("/admin/dead-letters", "GET", Route::DeadLetters),
    ("/admin/dead-letters/replay", "POST", Route::ReplayDeadLetters),
    ("/admin/held", "GET", Route::HeldTranscriptions),
    ("/admin/rejected", "GET", Route::RejectedWebhooks),
];

impl Route {
    /// Routes a method and path (without query); unknown paths are 404,
    /// known paths with another method 405 (with `Allow`).
    pub fn of(method: &str, path: &str) -> Result<Route, Error> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let Some((_, allowed, route)) = ROUTES.iter().find(|(known, _, _)| *known == path) else {
            return Err(not_routed(method, path));
        };
        if method.eq_ignore_ascii_case(allowed) {
            Ok(*route)
        } else {
            Err(Error::MethodNotAllowed { path: path.to_string(), method: method.to_string(), allowed })
        }
    }

    /// Who sent a request on this route: a provider, or `reamaze` for a
    /// staff reply.
    pub fn source(&self) -> Option<&'static str> {
        match self {
            Route::Webhook(provider) => Some(provider.name()),
            Route::StaffReply => Some("reamaze"),
            _ => None,
        }
    }
}

/// The signature debugger page's paths. A shell that carries the page
/// serves them from its static assets before the core sees them; the core
/// answers them 404, saying so.
pub const PAGE_PATHS: [&str; 2] = ["/", "/index.html"];

/// Why a path is not routed: the page is not served by this build, or there
/// is no such route.
fn not_routed(method: &str, path: &str) -> Error {
    if !PAGE_PATHS.contains(&path) {
        Error::NoRoute { path: path.to_string() }
    } else if method.eq_ignore_ascii_case("GET") {
        Error::NoPage
    } else {
        Error::MethodNotAllowed { path: path.to_string(), method: method.to_string(), allowed: "GET" }
    }
}

/// Every request header the core reads: the four schemes' signature
/// headers, Bird's timestamp, and the admin routes' `Authorization`. A shell
/// may pass only these: the Worker does, rather than copy every header of a
/// request across the JS boundary.
pub const HEADERS_READ: [&str; 6] = [
    Scheme::Reamaze.header(),
    Scheme::Voice360.header(),
    Scheme::Bird.header(),
    Scheme::Volubile.header(),
    signature::BIRD_TIMESTAMP_HEADER,
    "Authorization",
];

/// A header the bridge reads. Real signatures and timestamps are under 100
/// bytes; one longer than `MAX_HEADER_BYTES` is refused (431) before any
/// work is spent on it.
pub(super) fn header<'r>(
    settings: &Settings,
    request: &Request<'r>,
    name: &str,
) -> Result<Option<Cow<'r, str>>, Error> {
    let value = request.headers.get(name);
    let limit = settings.max_header_bytes;
    match value {
        Some(v) if v.len() > limit as usize => Err(Error::HeaderTooLarge { name: name.into(), bytes: v.len(), limit }),
        value => Ok(value),
    }
}
