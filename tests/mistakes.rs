//! The mistake-finder over generated bodies: whatever was signed instead of
//! the bytes received (a newline more or less, CRLF, the JSON written
//! again compactly or indented), it names one cause for it, never two for
//! the same bytes, and none when the body is the one signed.

use proptest::prelude::*;
use reamaze_bridge::mistakes::{self, Checked};
use reamaze_bridge::signature::{self, Signed, Window};
use serde_json::{json, Value};

/// JSON as senders write it: nested objects and arrays of text (ASCII,
/// accents, emoji, slashes, control characters) and whole numbers.
fn value() -> impl Strategy<Value = Value> {
    let text = prop::string::string_regex("[a-z0-9 /é😀\"\\\\\n]{0,12}").unwrap();
    let leaf = prop_oneof![
        text.prop_map(Value::String),
        (-1_000_000i64..1_000_000).prop_map(Value::from),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ];
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-z_]{1,8}", tree, 1..5).prop_map(|map| Value::Object(map.into_iter().collect()))
}

/// Each way one JSON value is written: compact as `JSON.stringify` writes
/// it, indented by two as `JSON.stringify(value, null, 2)` does, and each
/// with a final newline.
fn writings(value: &Value) -> Vec<Vec<u8>> {
    let compact = serde_json::to_string(value).unwrap();
    let indented = serde_json::to_string_pretty(value).unwrap();
    [compact.clone(), format!("{compact}\n"), indented.clone(), format!("{indented}\n")]
        .into_iter()
        .map(String::into_bytes)
        .collect()
}

/// The same bytes with every LF as CRLF.
fn crlf(body: &[u8]) -> Vec<u8> {
    String::from_utf8(body.to_vec()).unwrap().replace('\n', "\r\n").into_bytes()
}

/// The causes named for `received`, signed by the sender as `sent`.
fn causes(received: &[u8], sent: &[u8]) -> Vec<mistakes::Cause> {
    let scheme = reamaze_bridge::providers::scheme("volubile").unwrap();
    let secret = b"vol-secret".to_vec();
    let header = signature::sign(scheme, &secret, &Signed::body(sent)).unwrap();
    let secrets = [secret];
    let checked = Checked {
        scheme,
        secrets: &secrets,
        signed: Signed::body(received),
        received: Some(&header),
        window: Window::at(0),
    };
    mistakes::diagnose(&checked, mistakes::DEFAULT_BUDGET).causes
}

fn body_causes(causes: &[mistakes::Cause]) -> Vec<&str> {
    causes.iter().map(|cause| cause.title.as_str()).filter(|title| title.starts_with("The body")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// One cause for the bytes that were signed, whichever writing of the
    /// JSON was received and whichever was signed; none when they are the
    /// same bytes.
    #[test]
    fn one_cause_for_each_body_signed_instead(
        value in value(), received in 0usize..4, sent in 0usize..4, line_endings in 0usize..3,
    ) {
        let writings = writings(&value);
        let (received, sent) = match line_endings {
            // One side written again with CRLF, the other as it was.
            1 => (writings[received].clone(), crlf(&writings[received])),
            2 => (crlf(&writings[sent]), writings[sent].clone()),
            _ => (writings[received].clone(), writings[sent].clone()),
        };
        let (received, sent) = (&received, &sent);
        let causes = causes(received, sent);
        if received == sent {
            prop_assert!(causes.is_empty(), "the body as signed: {causes:?}");
        } else {
            let named = body_causes(&causes);
            prop_assert_eq!(named.len(), 1, "received {:?}, signed {:?}: {:?}",
                String::from_utf8_lossy(received), String::from_utf8_lossy(sent), causes);
        }
    }
}

/// A sender's JSON on one line and a final newline, received with the
/// newline kept: one cause, the newline, and not the four re-serializations
/// that write the same bytes.
#[test]
fn a_final_newline_is_one_cause() {
    let sent = br#"{"event_name":"SMS_RECEIVED","text":"hi"}"#;
    let received = [sent.as_slice(), b"\n"].concat();
    let causes = causes(&received, sent);
    assert_eq!(body_causes(&causes), ["The body was signed with its final newline removed"], "{causes:?}");
}

/// Express's `express.json()` then `JSON.stringify(req.body)`: the sender's
/// indented JSON with its final newline, verified compact.
#[test]
fn express_json_then_stringify_is_named() {
    let payload = json!({"event_name": "SMS_RECEIVED", "metadata": {"text": "Zoë 🙂 a/b"}});
    let sent = format!("{}\n", serde_json::to_string_pretty(&payload).unwrap());
    let received = serde_json::to_string(&payload).unwrap();
    let causes = causes(received.as_bytes(), sent.as_bytes());
    assert_eq!(body_causes(&causes).len(), 1, "{causes:?}");
    assert!(causes[0].title.contains("parsed"), "{causes:?}");
    assert!(causes[0].detail.contains("express.json()"), "{causes:?}");
    assert!(causes[0].detail.contains("express.raw"), "{causes:?}");
}
