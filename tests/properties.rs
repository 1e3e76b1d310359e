//! Properties over arbitrary input: signatures round-trip for any body and
//! secret, any changed byte breaks them, SMS splitting keeps every word, and
//! a message is posted as the very bytes serde_json would make of it.

use base64::Engine;
use proptest::prelude::*;
use reamaze_bridge::cards;
use reamaze_bridge::reamaze::{split_sms, Assignee, Direction, Message, Party};
use reamaze_bridge::signature::{self, Scheme, Signed, VerifyError, Window};
use unicode_segmentation::UnicodeSegmentation;

const TS: &str = "1704067200";
const URL: &str = "https://bridge.example.com/webhooks/bird";

fn scheme() -> impl Strategy<Value = &'static Scheme> {
    prop::sample::select(reamaze_bridge::providers::schemes().collect::<Vec<_>>())
}

fn signed(body: &[u8]) -> Signed<'_> {
    Signed::stamped(body, TS, URL)
}

/// The header value with one bit of its MAC flipped, re-encoded the way the
/// scheme encodes it (so the header still parses).
fn flip_mac_bit(scheme: &Scheme, header: &str, bit: usize) -> String {
    let mut mac = signature::parse_header(scheme, Some(header)).unwrap();
    mac[bit / 8 % 32] ^= 1 << (bit % 8);
    // Each scheme's encoding as its sender's documentation gives it, not
    // as the scheme's description does.
    match scheme.name {
        "reamaze" | "bird" => base64::engine::general_purpose::STANDARD.encode(mac),
        "voice360" => format!("sha256={}", hex::encode(mac)),
        "volubile" => hex::encode(mac),
        other => panic!("a scheme this test does not know: {other}"),
    }
}

/// Any text, control characters, quotes, backslashes and astral-plane
/// characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        ".{0,40}",
        prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        "[\"\\\\\u{0}-\u{1f}\u{7f}a]{0,20}"
    ]
}

fn party() -> impl Strategy<Value = Party> {
    (prop::option::of(text()), prop::option::of(text())).prop_map(|(name, phone)| Party { name, phone })
}

fn message() -> impl Strategy<Value = Message> {
    (
        text(),
        any::<bool>(),
        party(),
        party(),
        text(),
        prop::collection::vec(text(), 0..3),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(|(id, inbound, from, to, body, attachments, thread_id, created_at, assignee)| Message {
            id,
            direction: if inbound { Direction::Inbound } else { Direction::Outbound },
            from,
            to,
            body,
            attachments,
            thread_id,
            created_at,
            assignee: assignee.map(|email| Assignee { email }),
        })
}

/// Every ASCII byte at every place of a text long enough for the
/// eight-bytes-at-a-time path, in a message body.
#[test]
fn every_ascii_byte_anywhere_is_written_as_serde_json_writes_it() {
    for byte in 0u8..0x80 {
        for place in 0..24 {
            let mut text = vec![b'a'; 24];
            text[place] = byte;
            let mut message = Message::between(
                "id".into(),
                Direction::Inbound,
                Party::phone("+1555"),
                Party::default(),
                String::from_utf8(text).unwrap(),
            );
            message.body.push('é');
            assert_eq!(
                String::from_utf8(message.to_json()).unwrap(),
                serde_json::to_string(&message).unwrap(),
                "{byte:#x} at {place}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_message_is_written_as_serde_json_writes_it(message in message()) {
        let ours = message.to_json();
        prop_assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&message).unwrap());
    }

    #[test]
    fn sign_then_verify_round_trips(scheme in scheme(), body in prop::collection::vec(any::<u8>(), 0..2048), secret in "\\PC{1,64}") {
        let header = signature::sign(scheme, secret.as_bytes(), &signed(&body)).unwrap();
        let verified = signature::verify(scheme, &[secret.as_str()], &signed(&body), Some(&header), Window::at(1_704_067_200));
        prop_assert_eq!(verified.map(|v| v.secret_index), Ok(0));
    }

    #[test]
    fn any_changed_body_byte_fails(scheme in scheme(), body in prop::collection::vec(any::<u8>(), 1..1024), secret in "\\PC{1,32}", at in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let header = signature::sign(scheme, secret.as_bytes(), &signed(&body)).unwrap();
        let mut changed = body.clone();
        let i = at.index(changed.len());
        changed[i] = changed[i].wrapping_add(delta);
        let got = signature::verify(scheme, &[secret.as_str()], &signed(&changed), Some(&header), Window::at(1_704_067_200));
        prop_assert!(matches!(got, Err(VerifyError::Mismatch { .. })), "{:?}", got);
    }

    #[test]
    fn any_changed_mac_bit_fails(scheme in scheme(), body in prop::collection::vec(any::<u8>(), 0..256), secret in "\\PC{1,32}", bit in 0usize..256) {
        let header = signature::sign(scheme, secret.as_bytes(), &signed(&body)).unwrap();
        let forged = flip_mac_bit(scheme, &header, bit);
        let got = signature::verify(scheme, &[secret.as_str()], &signed(&body), Some(&forged), Window::at(1_704_067_200));
        prop_assert!(matches!(got, Err(VerifyError::Mismatch { .. })), "{:?}", got);
    }

    #[test]
    fn bird_url_and_timestamp_are_signed(body in prop::collection::vec(any::<u8>(), 0..256), at in any::<prop::sample::Index>()) {
        let header = signature::sign(&reamaze_bridge::providers::bird::SCHEME, b"key", &signed(&body)).unwrap();
        let mut url = URL.as_bytes().to_vec();
        let i = at.index(url.len());
        url[i] = if url[i] == b'x' { b'y' } else { b'x' };
        let url = String::from_utf8(url).unwrap();
        let got = signature::verify(&reamaze_bridge::providers::bird::SCHEME, &["key"], &Signed::stamped(&body, TS, &url), Some(&header), Window::at(1_704_067_200));
        prop_assert!(matches!(got, Err(VerifyError::Mismatch { .. })), "{:?}", got);
        let got = signature::verify(&reamaze_bridge::providers::bird::SCHEME, &["key"], &Signed::stamped(&body, "1704067201", URL), Some(&header), Window::at(1_704_067_200));
        prop_assert!(matches!(got, Err(VerifyError::Mismatch { .. })), "{:?}", got);
    }

    #[test]
    fn sms_parts_fit_and_keep_every_word(words in prop::collection::vec("[a-zé☎]{1,40}", 0..80), limit in 20usize..200) {
        let text = words.join(" ");
        let parts = split_sms(&text, limit);
        prop_assert!(parts.iter().all(|p| !p.is_empty() && p.encode_utf16().count() <= limit));
        // Words no longer than the limit are never cut.
        if words.iter().all(|w| w.encode_utf16().count() <= limit) {
            prop_assert_eq!(parts.join(" "), text);
        } else {
            prop_assert_eq!(parts.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }

    /// What people text: emoji with skin tones and joiners, flags, accents
    /// written as combining marks, CJK. Every part fits in 160 UTF-16 units,
    /// and every grapheme cluster lands whole in one part.
    #[test]
    fn sms_parts_never_cut_a_grapheme(clusters in prop::collection::vec(prop::sample::select(CLUSTERS.to_vec()), 0..300)) {
        let text: String = clusters.concat();
        let parts = split_sms(&text, 160);
        prop_assert!(parts.iter().all(|p| !p.is_empty() && p.encode_utf16().count() <= 160), "{:?}", parts);
        let graphemes = |s: &str| s.graphemes(true).filter(|g| !g.trim().is_empty()).map(String::from).collect::<Vec<_>>();
        let kept: Vec<String> = parts.iter().flat_map(|p| graphemes(p)).collect();
        prop_assert_eq!(kept, graphemes(&text));
    }
}

proptest! {
    /// Masking changes digits into `•` and nothing else: the same number of
    /// characters, each either kept or a digit now masked.
    #[test]
    fn card_masking_changes_only_digits(text in "[0-9 +\\-a-z•é]{0,80}") {
        let masked = cards::mask(&text);
        prop_assert_eq!(masked.chars().count(), text.chars().count());
        for (was, now) in text.chars().zip(masked.chars()) {
            prop_assert!(was == now || (was.is_ascii_digit() && now == '•'), "{} became {}", was, now);
        }
    }

    /// Any card number (13 to 19 digits completed by its Luhn check digit,
    /// grouped by spaces or dashes), anywhere in a text, is masked but for its
    /// last four; the text around it is unchanged.
    #[test]
    fn every_card_number_is_masked(
        digits in prop::collection::vec(0u8..10, 12..19),
        group in 3usize..7,
        separator in prop::sample::select(vec!["", " ", "-"]),
        before in "[a-z ,.]{0,20}",
        after in "[a-z ,./]{0,20}",
    ) {
        let mut digits = digits;
        digits.push(luhn_check_digit(&digits));
        let number: Vec<String> = digits.chunks(group).map(|g| g.iter().map(|d| d.to_string()).collect()).collect();
        let number = number.join(separator);
        let text = format!("{before} {number} {after}");
        let masked = cards::mask(&text);
        let last_four: String = digits[digits.len() - 4..].iter().map(|d| d.to_string()).collect();
        let (head, tail) = (format!("{before} "), format!(" {after}"));
        prop_assert!(masked.starts_with(&head) && masked.ends_with(&tail), "{}", masked);
        let shown: String = masked.chars().filter(char::is_ascii_digit).collect();
        prop_assert_eq!(shown, last_four, "{}", masked);
    }
}

/// The digit that completes `digits` to pass the Luhn check.
fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Grapheme clusters of one to eleven UTF-16 units, and spaces.
const CLUSTERS: [&str; 12] =
    ["a", " ", "é", "e\u{301}", "日本", "👍", "👍🏽", "🇺🇸", "🇯🇵", "👩\u{200d}👩\u{200d}👧\u{200d}👦", "☎️", "\n"];
