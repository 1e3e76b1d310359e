//! An exchange of `createBridge` as the package's JavaScript drives it:
//! each step read as JSON, and answered by the method for its kind.

use wasm_bindgen::prelude::*;

use crate::bridge::{Finished, Step};
use crate::error::Error;
use crate::http::DeliveryResult;
use crate::json::{self, Node};

use super::{error, items};

/// A step as the package's JavaScript reads it: `{"read": [keys]}` and so
/// on, one key naming the step.
#[derive(serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum StepJson<'a> {
    Read(&'a [String]),
    Write(Vec<EntryJson<'a>>),
    Claim(Vec<EntryJson<'a>>),
    Release(&'a [String]),
    #[cfg(feature = "operations")]
    List(ListJson<'a>),
    Deliver(MessageJson<'a>),
    Respond(MessageJson<'a>),
}

/// A listing asked for: the keys under `prefix`, in byte order, at most `limit`.
#[cfg(feature = "operations")]
#[derive(serde::Serialize)]
struct ListJson<'a> {
    prefix: &'a str,
    limit: usize,
}

#[derive(serde::Serialize)]
struct EntryJson<'a> {
    key: &'a str,
    value: &'a str,
    #[serde(rename = "ttlSeconds")]
    ttl_seconds: u64,
}

/// An outbound request (`url` and `method`) or the answer (`status`).
#[derive(serde::Serialize)]
struct MessageJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    headers: &'a [(String, String)],
    body: std::borrow::Cow<'a, str>,
}

fn entries_json(entries: &[crate::store::Entry]) -> Vec<EntryJson<'_>> {
    entries.iter().map(|e| EntryJson { key: &e.key, value: &e.value, ttl_seconds: e.ttl_seconds }).collect()
}

impl<'a> StepJson<'a> {
    fn of(step: &'a Step) -> StepJson<'a> {
        match step {
            Step::Read(read) => StepJson::Read(read.keys()),
            Step::Write(write) => StepJson::Write(entries_json(write.entries())),
            Step::Claim(claim) => StepJson::Claim(entries_json(claim.entries())),
            Step::Release(release) => StepJson::Release(release.keys()),
            #[cfg(feature = "operations")]
            Step::List(list) => StepJson::List(ListJson { prefix: list.prefix(), limit: list.limit() }),
            Step::Deliver(deliver) => {
                let d = deliver.delivery();
                StepJson::Deliver(MessageJson {
                    url: Some(&d.url),
                    method: Some(d.method),
                    status: None,
                    headers: &d.headers,
                    body: String::from_utf8_lossy(&d.body),
                })
            }
            // A build with both shells has queue mode; this one never uses it.
            #[cfg(feature = "queue")]
            Step::Enqueue(_) => unreachable!("the JS bridge runs in sync mode"),
            Step::DeliverOnce(_) => unreachable!("kept as separate steps (`separately`)"),
            Step::Respond(finished) => StepJson::Respond(MessageJson {
                url: None,
                method: None,
                status: Some(finished.response.status),
                headers: &finished.response.headers,
                body: String::from_utf8_lossy(&finished.response.body),
            }),
        }
    }
}

/// One request in flight: the step it waits on (see `bridge::Step`). The
/// package's JavaScript reads it with `step()` and answers it with the
/// method for its kind, which moves the exchange on.
#[wasm_bindgen(js_name = CoreExchange)]
pub struct JsExchange {
    step: Option<Step>,
}

#[wasm_bindgen(js_class = CoreExchange)]
impl JsExchange {
    /// The step waited on, as JSON: `{"read": [keys]}`, `{"write": [{key,
    /// value, ttlSeconds}]}`, `{"claim": [{key, value, ttlSeconds}]}`,
    /// `{"release": [keys]}`, `{"deliver": {url, method, headers, body}}` or
    /// `{"respond": {status, headers, body}}` (bodies as UTF-8 text).
    pub fn step(&self) -> Result<String, JsValue> {
        let step = self.step.as_ref().ok_or_else(answered_badly)?;
        Ok(serde_json::to_string(&StepJson::of(step)).expect("a step serializes"))
    }

    /// Answers a read: a JSON array of strings or nulls, in the keys' order.
    pub fn provide(&mut self, values_json: &str) -> Result<(), JsValue> {
        let values = store_values(values_json)?;
        self.advance(|step| match step {
            Step::Read(read) => Ok(read.answer(values)),
            other => Err(other),
        })
    }

    /// Answers a claim: a JSON array with, per key, null when the claim was
    /// written, else the value the key already held.
    pub fn claimed(&mut self, values_json: &str) -> Result<(), JsValue> {
        let held = store_values(values_json)?;
        self.advance(|step| match step {
            Step::Claim(claim) => Ok(claim.answer(held)),
            other => Err(other),
        })
    }

    /// Answers a write or a release: done.
    pub fn done(&mut self) -> Result<(), JsValue> {
        self.advance(|step| match step {
            Step::Write(write) => Ok(write.done()),
            Step::Release(release) => Ok(release.done()),
            other => Err(other),
        })
    }

    /// Answers a delivery that got no answer: it timed out after
    /// `timeout_ms`, or could not be made, for the reason `why`.
    pub fn unanswered(&mut self, timed_out: bool, timeout_ms: f64, why: String) -> Result<(), JsValue> {
        self.advance(|step| match step {
            Step::Deliver(deliver) => {
                let target = &deliver.delivery().target;
                let result = if timed_out {
                    DeliveryResult::timed_out(target, timeout_ms as u64)
                } else {
                    DeliveryResult::unreachable(target, &why)
                };
                Ok(deliver.answer(result))
            }
            other => Err(other),
        })
    }

    /// The log line for the request this exchange answered: its method,
    /// its path, the upstream requests made and how long it took.
    #[wasm_bindgen(js_name = logLine)]
    pub fn log_line(&self, method: &str, path: &str, deliveries: u32, duration_ms: f64) -> Result<String, JsValue> {
        Ok(crate::bridge::log::request_line(method, path, self.finished()?, deliveries, duration_ms as u64))
    }

    /// The log line for this exchange, an aftermath that has ended.
    #[wasm_bindgen(js_name = aftermathLine)]
    pub fn aftermath_line(&self) -> Result<String, JsValue> {
        Ok(crate::bridge::log::aftermath_line(self.finished()?))
    }

    /// Answers a listing: a JSON array of the keys found, in byte order,
    /// and whether there are more than those.
    #[cfg(feature = "operations")]
    pub fn listed(&mut self, keys_json: &str, more: bool) -> Result<(), JsValue> {
        let keys = listed_keys(keys_json)?;
        self.advance(|step| match step {
            Step::List(list) => Ok(list.answer(keys, more)),
            other => Err(other),
        })
    }

    /// Answers a store step (read, write, claim, release) that failed: the
    /// store threw, rejected or timed out, for the reason `why`, the error's
    /// message (kept for the log, never answered). The exchange ends as the
    /// core ends a request whose store is unavailable (503, Retry-After).
    #[wasm_bindgen(js_name = storeFailed)]
    pub fn store_failed(&mut self, why: &str) -> Result<(), JsValue> {
        let error = Error::StoreUnavailable(why.to_owned());
        self.advance(|step| match step {
            Step::Read(_) | Step::Write(_) | Step::Claim(_) | Step::Release(_) => {
                Ok(Step::Respond(Finished::from(error)))
            }
            #[cfg(feature = "operations")]
            Step::List(_) => Ok(Step::Respond(Finished::from(error))),
            other => Err(other),
        })
    }

    /// Answers a delivery: the HTTP status, the `Retry-After` header, and
    /// the answer's body.
    pub fn delivered(&mut self, status: Option<u16>, retry_after: Option<String>, body: String) -> Result<(), JsValue> {
        self.advance(|step| match step {
            Step::Deliver(deliver) => Ok(deliver.answer(DeliveryResult { status, retry_after, body })),
            other => Err(other),
        })
    }
}

impl JsExchange {
    /// The exchange that has reached `step`.
    pub(super) fn new(step: Step) -> JsExchange {
        JsExchange { step: Some(separately(step)) }
    }

    /// The end of an exchange that has answered.
    pub(super) fn finished(&self) -> Result<&crate::bridge::Finished, JsValue> {
        match &self.step {
            Some(Step::Respond(finished)) => Ok(finished),
            _ => Err(error("not_answered", "the exchange has not answered yet")),
        }
    }

    /// Answers the step waited on with `answer`, which gives the step back
    /// when it is not the kind it answers.
    fn advance(&mut self, answer: impl FnOnce(Step) -> Result<Step, Step>) -> Result<(), JsValue> {
        let step = self.step.take().ok_or_else(answered_badly)?;
        match answer(step) {
            Ok(next) => self.step = Some(separately(next)),
            Err(unanswered) => {
                self.step = Some(unanswered);
                return Err(answered_badly());
            }
        }
        Ok(())
    }
}

/// `step`, with a claimed delivery asked for as its separate steps: the
/// package's store is the user's, so the claim, the delivery and the
/// claim's settling are each a step of their own.
fn separately(step: Step) -> Step {
    match step {
        Step::DeliverOnce(once) => once.unfused(),
        other => other,
    }
}

fn answered_badly() -> JsValue {
    error("wrong_answer", "the exchange's step was answered with the method of another kind of step")
}

/// The keys of a listing, from a JSON array of strings.
#[cfg(feature = "operations")]
fn listed_keys(keys_json: &str) -> Result<Vec<String>, JsValue> {
    let key = |node: &Node| match node {
        Node::String(s) => Ok(s.clone()),
        other => Err(json::wrong_kind("a key listed", other, "a string")),
    };
    let keys = items(keys_json, "the keys listed").and_then(|items| items.iter().map(key).collect());
    keys.map_err(|e| error("invalid_store_value", &e.to_string()))
}

/// The values of `[value or null, ...]`.
fn store_values(values_json: &str) -> Result<Vec<Option<String>>, JsValue> {
    let value = |node: &Node| match node {
        Node::Null => Ok(None),
        Node::String(s) => Ok(Some(s.clone())),
        other => Err(json::wrong_kind("a stored value", other, "a string or null")),
    };
    let values = items(values_json, "the stored values").and_then(|items| items.iter().map(value).collect());
    values.map_err(|e| error("invalid_store_value", &e.to_string()))
}
