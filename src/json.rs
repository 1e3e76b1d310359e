//! JSON from senders the bridge does not trust: nesting is bounded by a
//! setting (`MAX_JSON_DEPTH`), and a key given twice in one object is
//! refused. serde_json would keep the last of two duplicate keys, while
//! another reader of the same signed bytes may keep the first; refusing
//! both readings leaves no room for that disagreement.
//!
//! serde_json reads the text; what it reads is kept in this module's own
//! `Node`, whose objects are their members in order. A webhook's objects
//! have a handful of keys each, which a scan finds faster than a hash map
//! can hash them (serde_json's `Map` with `preserve_order` is an IndexMap
//! hashed with SipHash; what reading into it cost is in BENCHMARKS.md).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value as read from a payload: a node of its tree. (Named apart
/// from `serde_json::Value`, which the bridge uses for what it writes.)
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Object),
}

/// A JSON object: its members in the sender's order, no key twice.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Node)>,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Node::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The member `key`, if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_object()?.get(key)
    }
}

impl Object {
    /// The value of `key`. A scan: cheap for the few keys webhook objects
    /// have, and linear in the worst case, never worse (the body's size is
    /// bounded by `MAX_BODY_BYTES`).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Takes the value of `key` out, keeping the others' order.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let at = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(at).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.into_iter()
    }

    /// The first key given twice, if any: pairwise for a few keys, sorted
    /// for many, so that a hostile object of 100,000 keys costs n log n.
    fn duplicate_key(&self) -> Option<&str> {
        const PAIRWISE_MAX: usize = 16;
        let keys = || self.members.iter().map(|(k, _)| k.as_str());
        if self.members.len() <= PAIRWISE_MAX {
            return keys().enumerate().find(|&(i, key)| keys().take(i).any(|k| k == key)).map(|(_, key)| key);
        }
        let mut sorted: Vec<&str> = keys().collect();
        sorted.sort_unstable();
        sorted.windows(2).find(|pair| pair[0] == pair[1]).map(|pair| pair[0])
    }
}

impl<'a> IntoIterator for &'a Object {
    type Item = (&'a str, &'a Node);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, Node)>, fn(&'a (String, Node)) -> Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// The same value in serde_json's terms, for comparing with serde_json's
/// own reading in tests.
impl From<Node> for serde_json::Value {
    fn from(value: Node) -> Self {
        match value {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(b),
            Node::Number(n) => serde_json::Value::Number(n),
            Node::String(s) => serde_json::Value::String(s),
            Node::Array(items) => serde_json::Value::Array(items.into_iter().map(Into::into).collect()),
            Node::Object(object) => {
                serde_json::Value::Object(object.members.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

/// The highest depth limit that can be set: serde_json stops at 128 levels
/// on its own, with a plain syntax error, and this limit must come first.
pub const PARSER_MAX_DEPTH: u32 = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// No bytes, or only whitespace.
    Empty,
    /// Not JSON: the parser's words (with line and column).
    Syntax(String),
    /// Arrays and objects nested deeper than the limit.
    TooDeep { max: u32 },
    /// One object names the same key twice.
    DuplicateKey { key: String },
    /// JSON, but not of the shape expected: says what was found or missed.
    Shape(String),
}

impl JsonError {
    /// A stable machine-readable code for JSON bodies and JS errors.
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Empty => "empty_body",
            JsonError::Syntax(_) | JsonError::Shape(_) => "invalid_json",
            JsonError::TooDeep { .. } => "json_too_deep",
            JsonError::DuplicateKey { .. } => "duplicate_key",
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Empty => f.write_str("the body is empty; a JSON object was expected"),
            JsonError::Syntax(why) => write!(f, "the body is not JSON: {why}"),
            JsonError::TooDeep { max } => {
                write!(f, "the body nests arrays and objects more than {max} deep (MAX_JSON_DEPTH)")
            }
            JsonError::DuplicateKey { key } => write!(f, "the body names key {key:?} twice in one object"),
            JsonError::Shape(why) => write!(f, "the body is JSON of the wrong shape: {why}"),
        }
    }
}

/// Parses `bytes` as one JSON value, nested at most `max_depth` deep, with
/// no duplicate keys.
pub fn parse(bytes: &[u8], max_depth: u32) -> Result<Node, JsonError> {
    parse_without(bytes, max_depth, &[])
}

/// `parse`, with the values of the members named in `skipped` (at any
/// depth) read and held to the same rules, but not kept: they read as null.
/// For documents whose bulk the bridge never reads (a transcript's word
/// items), which would otherwise be held in memory several times over.
pub fn parse_without(bytes: &[u8], max_depth: u32, skipped: &[&str]) -> Result<Node, JsonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(JsonError::Empty);
    }
    // The visitor can only report through serde's error type, which keeps
    // no kind; it leaves the kind here.
    let repaired = replace_lone_surrogates(bytes);
    let bytes = repaired.as_deref().unwrap_or(bytes);
    let refused = Cell::new(None);
    let max = max_depth.min(PARSER_MAX_DEPTH);
    let seed = Strict { depth_left: max, max, refused: &refused, skipped, keep: true };
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed.deserialize(&mut reader).and_then(|value| reader.end().map(|()| value));
    parsed.map_err(|e| refused.take().unwrap_or_else(|| JsonError::Syntax(e.to_string())))
}

/// The body with every lone surrogate escape (`\ud83d` not followed by its
/// low half, or a low half alone) written as `\ufffd`, or `None` when it has
/// none. JavaScript and Python write such escapes for an emoji cut in half;
/// serde_json refuses them, which would refuse the whole message on every
/// retry. The replacement has the same length, so nothing else moves.
fn replace_lone_surrogates(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut repaired: Option<Vec<u8>> = None;
    let mut at = 0;
    // A backslash only ever starts an escape (JSON allows none outside
    // strings), so escapes are found without tracking strings.
    while let Some(offset) = bytes.get(at..).and_then(find_backslash) {
        let escape = at + offset;
        let unit = escaped_unit(bytes, escape);
        at = escape + if unit.is_some() { 6 } else { 2 };
        let Some(unit) = unit else { continue };
        let lone = match unit {
            0xD800..=0xDBFF => match escaped_unit(bytes, escape + 6) {
                Some(0xDC00..=0xDFFF) => {
                    at += 6;
                    false
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let out = repaired.get_or_insert_with(|| bytes.to_vec());
            out[escape..escape + 6].copy_from_slice(b"\\ufffd");
        }
    }
    repaired
}

fn find_backslash(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\\', bytes)
}

/// The UTF-16 unit of a `\uXXXX` escape starting at `at`, if one does.
fn escaped_unit(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

/// `parse`, for bodies that must be a JSON object.
pub fn parse_object(bytes: &[u8], max_depth: u32) -> Result<Object, JsonError> {
    parse_object_without(bytes, max_depth, &[])
}

/// `parse_without`, for bodies that must be a JSON object.
pub fn parse_object_without(bytes: &[u8], max_depth: u32, skipped: &[&str]) -> Result<Object, JsonError> {
    match parse_without(bytes, max_depth, skipped)? {
        Node::Object(object) => Ok(object),
        other => Err(JsonError::Shape(format!("found {}, expected an object", kind(&other)))),
    }
}

fn kind(value: &Node) -> &'static str {
    match value {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Array(_) => "an array",
        Node::Object(_) => "an object",
    }
}

/// Members read as the type a shape needs, for the few shapes the bridge
/// reads whole: a staff reply, a remembered call, the npm package's
/// settings. Read by hand rather than by serde's derive, because a derived
/// reader brings serde's error texts, and through them core's float
/// formatting, into the npm package's wasm (BENCHMARKS.md).
impl Object {
    /// The string at `key`; absent or null is `None`. `path` names the
    /// member in an error (`to.phone`).
    pub fn string(&self, key: &str, path: &str) -> Result<Option<&str>, JsonError> {
        match self.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_kind(path, other, "a string")),
        }
    }

    /// The object at `key`; absent or null is `None`.
    pub fn object(&self, key: &str, path: &str) -> Result<Option<&Object>, JsonError> {
        match self.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Object(object)) => Ok(Some(object)),
            Some(other) => Err(wrong_kind(path, other, "an object")),
        }
    }

    /// The array of strings at `key`; absent or null is `None`.
    pub fn strings(&self, key: &str, path: &str) -> Result<Option<Vec<String>>, JsonError> {
        match self.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Array(items)) => {
                items.iter().map(|item| string_item(item, path)).collect::<Result<_, _>>().map(Some)
            }
            Some(other) => Err(wrong_kind(path, other, "an array of strings")),
        }
    }
}

impl Object {
    /// The whole number at `key`; absent or null is `None`.
    pub fn integer(&self, key: &str, path: &str) -> Result<Option<i64>, JsonError> {
        match self.get(key) {
            None | Some(Node::Null) => Ok(None),
            Some(Node::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(other) => Err(wrong_kind(path, other, "a whole number")),
        }
    }
}

/// A member that must be there.
pub fn required<T>(value: Option<T>, path: &str) -> Result<T, JsonError> {
    value.ok_or_else(|| JsonError::Shape(format!("{path} is missing")))
}

fn string_item(item: &Node, path: &str) -> Result<String, JsonError> {
    item.as_str().map(String::from).ok_or_else(|| wrong_kind(&format!("an item of {path}"), item, "a string"))
}

/// `path` held the wrong kind of value.
pub fn wrong_kind(path: &str, found: &Node, expected: &str) -> JsonError {
    JsonError::Shape(format!("{path} is {}, where {expected} was expected", kind(found)))
}

#[derive(Clone, Copy)]
struct Strict<'a> {
    depth_left: u32,
    /// The whole limit, for the message.
    max: u32,
    refused: &'a Cell<Option<JsonError>>,
    /// The members whose values are checked but not kept.
    skipped: &'a [&'a str],
    /// Whether this value is kept (false inside a skipped member's value).
    keep: bool,
}

impl Strict<'_> {
    fn refuse<E: de::Error>(&self, error: JsonError) -> E {
        let message = error.to_string();
        self.refused.set(Some(error));
        E::custom(message)
    }

    /// The seed for the values inside an array or object.
    fn inner<E: de::Error>(self) -> Result<Self, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(Strict { depth_left, ..self }),
            None => Err(self.refuse(JsonError::TooDeep { max: self.max })),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // serde_json refuses non-finite numbers before they get here.
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }

    // A string not kept is dropped by its object or array at once.
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let inner = self.inner()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            if self.keep {
                items.push(item);
            }
        }
        Ok(if self.keep { Node::Array(items) } else { Node::Null })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let inner = self.inner()?;
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let keep = inner.keep && !self.skipped.contains(&key.as_str());
            let value = map.next_value_seed(Strict { keep, ..inner })?;
            // A value not kept keeps its key, for the duplicate check.
            members.push((key, if keep { value } else { Node::Null }));
        }
        let object = Object { members };
        if let Some(key) = object.duplicate_key() {
            return Err(self.refuse(JsonError::DuplicateKey { key: key.to_owned() }));
        }
        Ok(if self.keep { Node::Object(object) } else { Node::Null })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_is_counted_in_arrays_and_objects() {
        assert!(parse(nested(3).as_bytes(), 3).is_ok());
        assert_eq!(parse(nested(4).as_bytes(), 3), Err(JsonError::TooDeep { max: 3 }));
        assert!(parse(br#"{"a":{"b":{}}}"#, 3).is_ok());
        assert_eq!(parse(br#"{"a":{"b":{"c":1}}}"#, 2), Err(JsonError::TooDeep { max: 2 }));
        // Scalars add no depth.
        assert!(parse(b"7", 1).is_ok());
    }

    #[test]
    fn the_depth_limit_stops_before_the_parser_and_the_stack() {
        let deep = nested(200_000);
        assert_eq!(parse(deep.as_bytes(), 500), Err(JsonError::TooDeep { max: PARSER_MAX_DEPTH }));
        assert!(parse(nested(PARSER_MAX_DEPTH as usize).as_bytes(), PARSER_MAX_DEPTH).is_ok());
    }

    #[test]
    fn skipped_members_are_checked_but_not_kept() {
        let read = |text: &str| parse_without(text.as_bytes(), 4, &["Items"]);
        let kept = read(r#"{"Content":"hi","Items":[{"Content":"hi","Type":"word"}],"n":[{"Items":7}]}"#).unwrap();
        assert_eq!(kept.get("Content"), Some(&Node::String("hi".into())));
        assert_eq!(kept.get("Items"), Some(&Node::Null));
        assert_eq!(kept.get("n").unwrap().as_array().unwrap()[0].get("Items"), Some(&Node::Null));
        assert_eq!(read(r#"{"Items":[{"a":1,"a":2}]}"#), Err(JsonError::DuplicateKey { key: "a".into() }));
        assert_eq!(read(r#"{"Items":[[[[1]]]]}"#), Err(JsonError::TooDeep { max: 4 }));
        assert_eq!(read(r#"{"Items":1,"Items":2}"#), Err(JsonError::DuplicateKey { key: "Items".into() }));
        assert!(matches!(read(r#"{"Items":[1,}"#), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_however_spelt() {
        let dup = |text: &str| parse(text.as_bytes(), 32);
        assert_eq!(dup(r#"{"a":1,"a":2}"#), Err(JsonError::DuplicateKey { key: "a".into() }));
        assert_eq!(dup(r#"{"x":[{"id":1,"id":1}]}"#), Err(JsonError::DuplicateKey { key: "id".into() }));
        // An escape spells the same key.
        assert_eq!(dup(r#"{"id":1,"\u0069d":2}"#), Err(JsonError::DuplicateKey { key: "id".into() }));
        assert!(dup(r#"{"a":{"a":1},"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn duplicates_are_found_among_many_keys_too() {
        let object = |keys: &[String]| {
            let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":0")).collect();
            format!("{{{}}}", members.join(","))
        };
        for count in [2, 16, 17, 1000] {
            let mut keys: Vec<String> = (0..count).map(|i| format!("k{i}")).collect();
            assert!(parse(object(&keys).as_bytes(), 32).is_ok(), "{count} distinct keys");
            keys.push(keys[count / 2].clone());
            let repeated = keys[count / 2].clone();
            assert_eq!(parse(object(&keys).as_bytes(), 32), Err(JsonError::DuplicateKey { key: repeated }));
        }
    }

    #[test]
    fn members_are_read_as_their_type_or_refused_by_name() {
        let object = parse_object(br#"{"s":"x","n":null,"o":{},"l":["a","b"],"k":5,"bad":["a",1]}"#, 4).unwrap();
        assert_eq!(object.string("s", "s"), Ok(Some("x")));
        assert_eq!(object.string("n", "n"), Ok(None), "null is absent");
        assert_eq!(object.string("absent", "absent"), Ok(None));
        assert_eq!(object.object("o", "o").map(|o| o.is_some()), Ok(true));
        assert_eq!(object.strings("l", "l"), Ok(Some(vec!["a".to_string(), "b".to_string()])));
        fn refused<T: fmt::Debug>(read: Result<T, JsonError>) -> String {
            read.unwrap_err().to_string()
        }
        assert_eq!(
            refused(object.string("k", "to.phone")),
            "the body is JSON of the wrong shape: to.phone is a number, where a string was expected"
        );
        assert!(refused(object.object("s", "to")).contains("to is a string, where an object was expected"));
        assert!(refused(object.strings("bad", "attachments")).contains("an item of attachments is a number"));
    }

    #[test]
    fn objects_keep_the_senders_order() {
        let Ok(Node::Object(object)) = parse(br#"{"z":1,"a":{"y":2,"b":3},"m":null}"#, 32) else { panic!() };
        assert_eq!(object.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["z", "a", "m"]);
        let inner = object.get("a").and_then(Node::as_object).unwrap();
        assert_eq!(inner.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["y", "b"]);
        assert_eq!(object.get("a").and_then(|a| a.get("b")).and_then(Node::as_f64), Some(3.0));
        assert_eq!(object.get("m"), Some(&Node::Null));
        assert_eq!(object.get("q"), None);
    }

    #[test]
    fn lone_surrogates_read_as_the_replacement_character() {
        let text = |json: &str| match parse(json.as_bytes(), 8).unwrap() {
            Node::String(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(text(r#""a\ud83d""#), "a\u{fffd}", "a high half at the end");
        assert_eq!(text(r#""\ude00b""#), "\u{fffd}b", "a low half alone");
        assert_eq!(text(r#""\ud83d\ud83d\ude00""#), "\u{fffd}😀", "a high half before a whole pair");
        assert_eq!(text(r#""\\ud83d""#), "\\ud83d", "an escaped backslash, then letters");
        assert_eq!(text(r#""\ud83d\u0041""#), "\u{fffd}A");
        assert!(replace_lone_surrogates(br#"{"a":"\ud83d\ude00 \n"}"#).is_none(), "whole pairs are left alone");
        // Cut short after a backslash (found by the fuzzer): not JSON, and no panic.
        for cut in [&br#""a\"#[..], br#""\u"#, br#""\ud83d\"#, br#""\ud83d\ud"#] {
            assert!(matches!(parse(cut, 8), Err(JsonError::Syntax(_))), "{cut:?}");
        }
    }

    #[test]
    fn what_is_not_json_says_so() {
        assert_eq!(parse(b" \n", 32), Err(JsonError::Empty));
        assert!(matches!(parse(b"{\"a\":1} x", 32), Err(JsonError::Syntax(why)) if why.contains("trailing")));
        assert!(matches!(parse(b"{\"a\":\"\xff\"}", 32), Err(JsonError::Syntax(why)) if why.contains("unicode")));
        assert!(matches!(parse_object(b"[1]", 32), Err(JsonError::Shape(why)) if why.contains("an array")));
    }

    #[test]
    fn values_come_out_as_serde_json_reads_them() {
        let text = br#"{"n":-1,"u":18446744073709551615,"f":1.5,"s":"\u00e9","t":true,"z":null,"l":[1,"2"]}"#;
        let ours: serde_json::Value = parse(text, 32).unwrap().into();
        assert_eq!(ours, serde_json::from_slice::<serde_json::Value>(text).unwrap());
    }
}
