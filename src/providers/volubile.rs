//! Volubile: one delivery per finished call, the body being the "Get a call"
//! object. Its docs spell some fields two ways (`extractorData` /
//! `extractedData`, `classifierData` / `classificationData`); both are read.

use super::{push_line, settle, value_text, Description, Fields, Happening, Lookup, TranslateError, Translation};
use crate::identity::Who;
use crate::json::{Node, Object};
use crate::reamaze::{Channel, Direction, Message, Outgoing, Party};
use crate::settings::Settings;
use crate::settings::{Declared, Kind};
use crate::signature::{Encoding, Scheme};
use crate::time;

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub id: String,
    pub status: String,
    pub direction: Direction,
    /// The customer: withheld for an anonymous caller (`anonymous: true`,
    /// whatever `phone` then holds) or a missing number.
    pub customer: Who,
    object: Object,
}

impl Call {
    fn parse(object: Object) -> Result<Call, TranslateError> {
        let fields = Fields::new(&object, "");
        let id = fields.need_text("id")?;
        let status = fields.need_text("status")?.to_ascii_uppercase();
        let direction = match fields.need_text("type")?.to_ascii_uppercase().as_str() {
            "INBOUND" => Direction::Inbound,
            "OUTBOUND" => Direction::Outbound,
            _ => return Err(TranslateError::Invalid { field: "type".into(), expected: "INBOUND or OUTBOUND" }),
        };
        let anonymous = fields.bool("anonymous").unwrap_or(false);
        // An anonymous call's number is whatever the system put there; it is
        // not used.
        let customer = if anonymous { Who::Withheld } else { fields.who("phone")? };
        Ok(Call { id, status, direction, customer, object })
    }

    fn messages(&self, settings: &Settings) -> Translation {
        let fields = Fields::new(&self.object, "");
        let duration = fields.seconds("duration").ok().flatten().filter(|d| *d > 0.0);
        let after = |verb: &str| match duration {
            Some(d) => format!("{verb} after {}", time::duration(d)),
            None => verb.to_string(),
        };
        let outcome = match self.status.as_str() {
            "COMPLETED" => after("completed"),
            "TRANSFERRED" => after("transferred"),
            "VOICE_BOX" => after("missed, reached voicemail"),
            "NO_ANSWER" => after("missed, no answer"),
            "UNREACHABLE" => "missed, the number was unreachable".to_string(),
            "REJECTED" => "missed, the call was rejected".to_string(),
            "CANCELED" | "CANCELLED" => "cancelled".to_string(),
            "FAILED" => "failed".to_string(),
            "IN_PROGRESS" => "in progress".to_string(),
            other => format!("ended with status {other}"),
        };
        let call = match self.direction {
            Direction::Inbound => "Inbound call with the AI agent".to_string(),
            // Whom the AI agent called (not an anonymous number).
            Direction::Outbound => match &self.customer {
                Who::Withheld => "Outbound call by the AI agent".to_string(),
                who => format!("Outbound call by the AI agent to {}", who.phone()),
            },
        };
        let mut body = format!("{call}: {outcome}");
        if self.customer == Who::Withheld {
            body.push_str(" (the caller withheld their number)");
        }
        if let Some(summary) = fields.text("summary") {
            push_line(&mut body, format!("Summary: {summary}"));
        }
        for (name, value) in self.classifiers() {
            push_line(&mut body, format!("{name}: {value}"));
        }
        let extracted = self.extracted();
        if !extracted.is_empty() {
            push_line(&mut body, "Extracted:");
            for (name, value) in &extracted {
                push_line(&mut body, format!("{name}: {value}"));
            }
        }

        // A withheld caller is posted with an identity of this call's own
        // (`providers::settle`), named by what the agent extracted if it did.
        let customer = Party::named(self.customer.name(customer_name(&extracted)), Some(self.customer.phone()));
        let agent = Party::named(Some("Volubile AI agent".into()), settings.text(NUMBER).map(String::from));
        let created_at = ["endTime", "created", "startTime"]
            .iter()
            .find_map(|k| fields.text(k))
            .and_then(|t| time::normalize_iso(&t));
        let message = Message::between(format!("volubile:{}", self.id), self.direction, customer, agent, body)
            .thread(Some(format!("volubile:{}", self.id)))
            .at(created_at);
        Translation::messages(vec![Outgoing { channel: Channel::Voice, message }])
    }

    /// The call, for joining a caller's calls: its thread, and the
    /// customer's number.
    fn call(&self) -> settle::Call {
        (Some(format!("volubile:{}", self.id)), self.customer.number().map(String::from))
    }

    /// `Customer's request: Refund`, from the data map (either spelling),
    /// else from the `classifiers` list.
    fn classifiers(&self) -> Vec<(String, String)> {
        let fields = Fields::new(&self.object, "");
        if let Some(map) = fields.object("classifierData").or_else(|| fields.object("classificationData")) {
            return map.iter().filter_map(|(k, v)| Some((k.to_string(), flat_text(v)?))).collect();
        }
        let list = fields.value("classifiers").and_then(Node::as_array).unwrap_or_default();
        list.iter().filter_map(|c| Some((c.get("name").and_then(value_text)?, flat_text(c.get("value")?)?))).collect()
    }

    /// `firstname: John`, nested groups flattened, from the data map (either
    /// spelling), else from the `extractors` list.
    fn extracted(&self) -> Vec<(String, String)> {
        let fields = Fields::new(&self.object, "");
        let mut out = Vec::new();
        if let Some(map) = fields.object("extractorData").or_else(|| fields.object("extractedData")) {
            for (name, value) in map {
                flatten(name, value, &mut out);
            }
        } else if let Some(list) = fields.value("extractors").and_then(Node::as_array) {
            flatten_named(list, &mut out);
        }
        out
    }
}

/// The customer's name, from the first and last names the agent extracted
/// (`firstname`, `first_name` or `firstName`, and likewise the last name).
fn customer_name(extracted: &[(String, String)]) -> Option<String> {
    let find = |names: [&str; 3]| {
        extracted.iter().find(|(key, _)| names.contains(&key.as_str())).map(|(_, value)| value.as_str())
    };
    let first = find(["firstname", "first_name", "firstName"]);
    let last = find(["lastname", "last_name", "lastName"]);
    let name = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    Some(name).filter(|name| !name.trim().is_empty())
}

/// A map entry: objects are groups whose entries are listed by their own
/// names; anything else is one line.
fn flatten(name: &str, value: &Node, out: &mut Vec<(String, String)>) {
    match value {
        Node::Object(group) => group.iter().for_each(|(k, v)| flatten(k, v, out)),
        other => out.extend(flat_text(other).map(|text| (name.to_string(), text))),
    }
}

/// The list form: `[{"name": "customer", "value": [{"name": "firstname",
/// "value": ["John"]}]}, {"name": "example", "value": ["a", "b"]}]`.
fn flatten_named(list: &[Node], out: &mut Vec<(String, String)>) {
    for item in list {
        let Some(name) = item.get("name").and_then(value_text) else { continue };
        match item.get("value") {
            Some(Node::Array(values)) if values.iter().any(|v| v.get("name").is_some()) => flatten_named(values, out),
            Some(value) => out.extend(flat_text(value).map(|text| (name, text))),
            None => {}
        }
    }
}

/// A scalar, or a list of scalars joined with commas.
fn flat_text(value: &Node) -> Option<String> {
    match value {
        Node::Array(items) => {
            let texts: Vec<String> = items.iter().filter_map(value_text).collect();
            (!texts.is_empty()).then(|| texts.join(", "))
        }
        Node::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        other => value_text(other),
    }
}

/// Volubile writes the body's HMAC as bare hex.
pub static SCHEME: Scheme = Scheme {
    name: "volubile",
    title: "Volubile",
    header: "X-Webhook-Signature",
    encoding: Encoding::Hex,
    prefix: None,
    stamp: None,
};

pub const WEBHOOK_SECRETS: &str = "VOLUBILE_WEBHOOK_SECRETS";
pub const NUMBER: &str = "VOLUBILE_NUMBER";

/// Volubile's settings, in the README's order.
static SETTINGS: [Declared; 2] = [
    Declared::new(WEBHOOK_SECRETS, Kind::Secrets),
    Declared::new(NUMBER, Kind::Text).with_flag("volubile-number", "The Volubile AI agent's own number"),
];

pub static DESCRIPTION: Description = Description {
    name: "volubile",
    title: "Volubile",
    scheme: &SCHEME,
    secrets: WEBHOOK_SECRETS,
    settings: &[WEBHOOK_SECRETS],
    declares: &SETTINGS,
    parse: |object, _| Ok(Box::new(Call::parse(object)?)),
    read_held: None,
    samples: samples![(
        "volubile",
        "Volubile call",
        r#"{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","phone":"+33612345678","type":"INBOUND","duration":360,"status":"COMPLETED","summary":"Discussed project requirements and next steps.","classifierData":{"Sentiment":"Positive"},"endTime":"2024-07-30T14:41:00Z"}"#
    )],
};

impl Happening for Call {
    /// The call's status.
    fn name(&self) -> String {
        self.status.clone()
    }

    fn voice_call(&self) -> Option<settle::Call> {
        Some(self.call())
    }

    fn translate(&self, settings: &Settings, _: Lookup) -> Result<Translation, TranslateError> {
        Ok(self.messages(settings))
    }
}
