//! A JSON object seen through lenient, typed accessors: what every
//! provider's parser reads its payload with.

use super::TranslateError;
use crate::identity::Who;
use crate::json::{self, Node, Object};

/// A JSON object seen through lenient, typed accessors that know their own
/// path, so a missing field is named as `metadata.caller_id_number`.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    object: &'a Object,
    path: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Object, path: &'a str) -> Self {
        Fields { object, path }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn value(&self, key: &str) -> Option<&'a Node> {
        self.object.get(key)
    }

    /// Text, trimmed and non-empty; numbers count as text (ids and phone
    /// numbers are sometimes sent as numbers).
    pub fn text(&self, key: &str) -> Option<String> {
        value_text(self.object.get(key)?)
    }

    /// The first of `keys` that holds text (for fields spelt two ways).
    pub fn text_of(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.text(k))
    }

    /// Text that must be there, trimmed, borrowed rather than copied (for
    /// texts of megabytes).
    pub fn need_str(&self, key: &str) -> Result<&'a str, TranslateError> {
        let text = self.object.get(key).and_then(Node::as_str).map(str::trim).filter(|text| !text.is_empty());
        text.ok_or_else(|| TranslateError::Missing(self.field_path(key)))
    }

    pub fn need_text(&self, key: &str) -> Result<String, TranslateError> {
        self.text(key).ok_or_else(|| TranslateError::Missing(self.field_path(key)))
    }

    /// A number, or a string holding one. Absent or null is `None`; anything
    /// else is an error naming the field.
    pub fn number(&self, key: &str) -> Result<Option<f64>, TranslateError> {
        let invalid = || TranslateError::Invalid { field: self.field_path(key), expected: "a number" };
        match self.object.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Number(n)) => n.as_f64().map(Some).ok_or_else(invalid),
            Some(Node::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Node::String(s)) => number_in_text(s).map(Some).ok_or_else(invalid),
            Some(_) => Err(invalid()),
        }
    }

    /// The party at the first of `keys` that holds text (of a list, its
    /// first), classified (`identity::Who`); none is withheld. Junk is
    /// refused, naming the field.
    pub fn who_of(&self, keys: &[&str]) -> Result<Who, TranslateError> {
        let first = |key: &str| match self.object.get(key)? {
            Node::Array(items) => items.iter().find_map(value_text),
            other => value_text(other),
        };
        match keys.iter().find_map(|&k| Some((k, first(k)?))) {
            Some((key, text)) => self.classify(key, text),
            None => Ok(Who::Withheld),
        }
    }

    pub fn who(&self, key: &str) -> Result<Who, TranslateError> {
        self.who_of(&[key])
    }

    /// Each party of a list (a `to_number` with several), or of one.
    pub fn whos(&self, key: &str) -> Result<Vec<Who>, TranslateError> {
        self.texts(key).into_iter().map(|text| self.classify(key, text)).collect()
    }

    /// The channel's own number at the first of `keys`: `None` where it is
    /// absent or withheld (the deployment's setting stands in).
    pub fn channel_phone(&self, keys: &[&str]) -> Result<Option<String>, TranslateError> {
        Ok(match self.who_of(keys)? {
            Who::Withheld => None,
            who => Some(who.into_phone()),
        })
    }

    /// Refuses junk at `key` (text or a list of texts), building nothing.
    pub(crate) fn check_party(&self, key: &str) -> Result<(), TranslateError> {
        let junk = |expected| TranslateError::Invalid { field: self.field_path(key), expected };
        let check = |node: &Node| match node {
            Node::String(text) => crate::identity::class(text.trim()).map(drop).map_err(junk),
            _ => value_text(node).map_or(Ok(()), |text| crate::identity::class(&text).map(drop).map_err(junk)),
        };
        match self.object.get(key) {
            Some(Node::Array(items)) => items.iter().try_for_each(check),
            Some(node) => check(node),
            None => Ok(()),
        }
    }

    /// `text` (trimmed, as `value_text` gives it) classified; junk refused.
    pub(crate) fn classify(&self, key: &str, text: String) -> Result<Who, TranslateError> {
        Who::of(text).map_err(|expected| TranslateError::Invalid { field: self.field_path(key), expected })
    }

    /// A length of time in seconds, at most a month: anything longer is no
    /// call's length, and would read as nonsense in a message. A negative
    /// number (some systems' "unknown") is as good as absent.
    pub fn seconds(&self, key: &str) -> Result<Option<f64>, TranslateError> {
        const MONTH: f64 = 31.0 * 86_400.0;
        match self.number(key)? {
            Some(s) if s > MONTH => {
                Err(TranslateError::Invalid { field: self.field_path(key), expected: "seconds, at most a month" })
            }
            Some(s) if s < 0.0 => Ok(None),
            seconds => Ok(seconds),
        }
    }

    /// Text or a list of texts, as a list.
    pub fn texts(&self, key: &str) -> Vec<String> {
        match self.object.get(key) {
            Some(Node::Array(items)) => items.iter().filter_map(value_text).collect(),
            Some(other) => value_text(other).into_iter().collect(),
            None => Vec::new(),
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.object.get(key)? {
            Node::Bool(b) => Some(*b),
            Node::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn object(&self, key: &str) -> Option<&'a Object> {
        self.object.get(key)?.as_object()
    }
}

/// A number sent as text (`"1704067200"`, `" 35.5 "`, `"+12"`), read as
/// serde_json reads the payload's own numbers: JSON's number syntax, after
/// an optional `+`. Not with `str::parse::<f64>`, whose exact reader brings
/// a table of powers of five into the wasm builds (its weight against the
/// npm package's budget is in BENCHMARKS.md); it would also take
/// `.5`, `5.` and `007`, which no JSON writer makes.
fn number_in_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let json = match text.strip_prefix('+') {
        Some(signed) if signed.starts_with(['+', '-']) => return None,
        Some(unsigned) => unsigned,
        None => text,
    };
    json::parse(json.as_bytes(), 1).ok()?.as_f64().filter(|n| n.is_finite())
}

pub(crate) fn value_text(value: &Node) -> Option<String> {
    match value {
        Node::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Node::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::number_in_text;

    #[test]
    fn numbers_in_text_are_json_numbers() {
        for (text, number) in
            [("1704067200", 1_704_067_200.0), (" 35.5 ", 35.5), ("+12", 12.0), ("-3", -3.0), ("1e3", 1e3)]
        {
            assert_eq!(number_in_text(text), Some(number), "{text}");
        }
        for bad in ["", "abc", "1,5", "12s", "inf", "NaN", "1e400", "+-1", "++1", "0x10", "1 2"] {
            assert_eq!(number_in_text(bad), None, "{bad}");
        }
    }
}
