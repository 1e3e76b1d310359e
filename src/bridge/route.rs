//! The bridge's routes, and the request headers it reads.

use std::borrow::Cow;

use crate::error::Error;
use crate::http::Request;
use crate::providers::{self, Provider};
use crate::settings::Settings;
use crate::signature::Scheme;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Webhook(Provider),
    /// Re:amaze's staff SMS reply, sent on through the SMS provider.
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
    /// How the deliveries of the messages named stand: delivered, under
    /// way, dead again or still queued (operators, bearer token; after a
    /// replay).
    Deliveries,
}

/// Where each provider's route is: `/webhooks/<name>`.
const WEBHOOKS: &str = "/webhooks/";

/// Every route besides the providers' (`/webhooks/<name>`, one for each
/// of `providers::ALL`): its path, method, and what it is.
const FIXED_ROUTES: [(&str, &str, Route); 7] = [
    ("/webhooks/reamaze/sms", "POST", Route::StaffReply),
    ("/healthz", "GET", Route::Health),
    ("/admin/dead-letters", "GET", Route::DeadLetters),
    ("/admin/dead-letters/replay", "POST", Route::ReplayDeadLetters),
    ("/admin/held", "GET", Route::HeldTranscriptions),
    ("/admin/rejected", "GET", Route::RejectedWebhooks),
    ("/admin/deliveries", "POST", Route::Deliveries),
];

impl Route {
    /// Routes a method and path (without query); unknown paths are 404,
    /// known paths with another method 405 (with `Allow`).
    pub fn of(method: &str, path: &str) -> Result<Route, Error> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        let webhook = path.strip_prefix(WEBHOOKS).and_then(|name| providers::ALL.iter().find(|p| p.name == name));
        let found = match webhook {
            Some(&provider) => Some(("POST", Route::Webhook(provider))),
            None => {
                FIXED_ROUTES.iter().find(|(known, _, _)| *known == path).map(|&(_, allowed, route)| (allowed, route))
            }
        };
        let Some((allowed, route)) = found else {
            return Err(not_routed(method, path));
        };
        if method.eq_ignore_ascii_case(allowed) {
            Ok(route)
        } else {
            Err(Error::MethodNotAllowed { path: path.to_string(), method: method.to_string(), allowed })
        }
    }

    /// Who sent a request on this route: a provider, or `reamaze` for a
    /// staff reply.
    /// The operators' routes, under `/admin/`: their answers are hardened
    /// (`Response::hardened`).
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Route::DeadLetters
                | Route::ReplayDeadLetters
                | Route::HeldTranscriptions
                | Route::RejectedWebhooks
                | Route::Deliveries
        )
    }

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

/// Every route: its path, method, and what it is; the providers' first.
pub fn routes() -> impl Iterator<Item = (Cow<'static, str>, &'static str, Route)> {
    let webhooks =
        providers::ALL.iter().map(|&p| (Cow::Owned(format!("{WEBHOOKS}{}", p.name)), "POST", Route::Webhook(p)));
    webhooks.chain(FIXED_ROUTES.iter().map(|&(path, method, route)| (Cow::Borrowed(path), method, route)))
}

/// Every request header the core reads: each scheme's signature header
/// and timestamp header, and the admin routes' `Authorization`. A shell
/// may pass only these: the Worker does, rather than copy every header of a
/// request across the JS boundary.
pub fn headers_read() -> impl Iterator<Item = &'static str> {
    providers::schemes().flat_map(Scheme::headers).chain(["Authorization"])
}

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

/// The URL a stamped scheme's signature covers: the public one its
/// setting names, else the URL the request came to.
pub(super) fn signed_url<'r>(settings: &'r Settings, scheme: &Scheme, request: &Request<'r>) -> &'r str {
    let public = scheme.stamp.as_ref().and_then(|stamp| settings.text(stamp.url_setting));
    public.unwrap_or(request.url)
}
