//! The operators' routes over dead letters, held transcriptions and refused
//! webhooks, and the alerts that tell operators of them, sans-IO: who may use
//! the routes, what they answer, and what an alert says. The shell that keeps
//! them (the Worker, in KV) lists, enqueues, deletes and posts; everything it
//! answers or sends comes from here.

#[cfg(feature = "operations")]
pub mod alerts;
#[cfg(feature = "operations")]
pub mod rejected;

use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::http::Response;
use crate::providers::Provider;
use crate::queue::DeadLetter;
use crate::settings::Settings;

/// How many dead letters one listing or replay handles.
pub const DEAD_LETTER_PAGE: usize = 1000;

/// Operators' access: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
/// constant time (digests of both, so not even the length leaks). No token
/// configured means the admin routes do not exist (404).
pub fn authorize(settings: &Settings, authorization: Option<&str>) -> Result<(), Error> {
    let Some(token) = &settings.admin_token else {
        return Err(Error::NoRoute { path: "this path".into() });
    };
    let limit = settings.max_header_bytes;
    if let Some(header) = authorization.filter(|h| h.len() > limit as usize) {
        return Err(Error::HeaderTooLarge { name: "Authorization".into(), bytes: header.len(), limit });
    }
    let given = authorization.and_then(|h| h.trim().strip_prefix("Bearer ")).map(str::trim).unwrap_or("");
    let matches: bool = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(token.expose().as_bytes())).into();
    if matches && !given.is_empty() {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}

/// Which dead letters a replay asks for: those whose message ids the
/// body's `ids` lists, or all of them when the body is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection(Option<Vec<String>>);

impl Selection {
    pub fn of(body: &[u8]) -> Result<Selection, Error> {
        let text = String::from_utf8_lossy(body);
        if text.trim().is_empty() {
            return Ok(Selection(None));
        }
        let object = crate::json::parse_object(text.as_bytes(), 4).map_err(|e| Error::ReplayBody(e.to_string()))?;
        let ids = object.strings("ids", "ids").map_err(|e| Error::ReplayBody(e.to_string()))?;
        Ok(Selection(ids))
    }

    pub fn includes(&self, dead: &DeadLetter) -> bool {
        self.0.as_ref().is_none_or(|ids| ids.contains(&dead.queued.message.id))
    }
}

/// `GET /admin/dead-letters`: the letters, and whether more are kept than
/// one page holds.
pub fn listing(letters: &[DeadLetter], more: bool) -> Response {
    #[derive(Serialize)]
    struct Listing<'a> {
        count: usize,
        more: bool,
        dead_letters: &'a [DeadLetter],
    }
    Response::json(200, &Listing { count: letters.len(), more, dead_letters: letters }).hardened()
}

/// The most messages one `POST /admin/deliveries` asks about.
pub const DELIVERIES_ASKED: usize = 100;

/// The ids a `POST /admin/deliveries` asks about: `{"ids": [...]}`, one to
/// `DELIVERIES_ASKED` of them.
pub fn asked_ids(body: &[u8]) -> Result<Vec<String>, Error> {
    let refuse = |why: String| Error::IdsBody(why);
    let object = crate::json::parse_object(body, 4).map_err(|e| refuse(e.to_string()))?;
    let ids = object.strings("ids", "ids").map_err(|e| refuse(e.to_string()))?.unwrap_or_default();
    if ids.is_empty() || ids.len() > DELIVERIES_ASKED {
        return Err(refuse(format!("{} ids", ids.len())));
    }
    Ok(ids)
}

/// How one message's delivery stands, as `POST /admin/deliveries` says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: String,
    /// `delivered`, `under_way` (a consumer is posting it), `dead` (it
    /// failed again, and is a dead letter once more) or `queued` (nothing
    /// has happened to it yet).
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Delivery {
    /// From its delivery claim (`store::keys::delivery`) and its dead letter.
    pub fn of(id: String, claim: Option<&str>, dead: Option<DeadLetter>) -> Delivery {
        let state = match (claim, &dead) {
            (_, Some(_)) => "dead",
            (Some(crate::store::PENDING), None) => "under_way",
            (Some(_), None) => "delivered",
            (None, None) => "queued",
        };
        Delivery { id, state, last_error: dead.map(|dead| dead.last_error) }
    }
}

/// `POST /admin/deliveries`: how each message asked about stands.
pub fn deliveries(deliveries: &[Delivery]) -> Response {
    #[derive(Serialize)]
    struct Standing<'a> {
        deliveries: &'a [Delivery],
    }
    Response::json(200, &Standing { deliveries }).hardened()
}

/// One held transcription, as `GET /admin/held` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The provider and the call it waits for.
    pub provider: String,
    pub call_id: String,
    /// The size of what is kept, in bytes.
    pub bytes: usize,
    /// When the transcription was made, in Unix seconds and ISO 8601 UTC,
    /// as its payload says: how long it has waited for its call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

impl Held {
    /// The entry under `key` (`store::keys::held`), if it is a held
    /// transcription that has not been let go.
    pub fn of(key: &str, value: &str) -> Option<Held> {
        let (provider, call_id) = key.strip_prefix(crate::store::keys::HELD_PREFIX)?.split_once(':')?;
        if value.is_empty() {
            return None;
        }
        let payload = Provider::named(provider).and_then(|p| p.read_held).map(|read| read(value)).unwrap_or_default();
        // A call id too long for a key is keyed by its digest: the id is
        // read from the transcription kept.
        let call_id = match (call_id.starts_with(crate::store::keys::DIGESTED), payload.call_id) {
            (true, Some(read)) => read,
            _ => call_id.to_string(),
        };
        let time = payload.at.and_then(crate::time::unix_to_iso);
        Some(Held { provider: provider.into(), call_id, bytes: value.len(), at: payload.at, time })
    }
}

/// `GET /admin/held`: the transcriptions held until their call is known.
pub fn held(held: &[Held], more: bool) -> Response {
    #[derive(Serialize)]
    struct Listing<'a> {
        count: usize,
        more: bool,
        held: &'a [Held],
    }
    Response::json(200, &Listing { count: held.len(), more, held }).hardened()
}

/// `POST /admin/dead-letters/replay`: the ids enqueued again.
pub fn replayed(ids: &[String], more: bool) -> Response {
    #[derive(Serialize)]
    struct Replayed<'a> {
        replayed: usize,
        ids: &'a [String],
        more: bool,
    }
    Response::json(200, &Replayed { replayed: ids.len(), ids, more }).hardened()
}
