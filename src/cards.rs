//! Card numbers masked in what is posted to Re:amaze, so that a number a
//! customer texts or reads out does not sit in every agent's timeline.
//!
//! A card number here is 13 to 19 digits, written in one piece or in
//! groups separated by one space or dash, that pass the Luhn check. The
//! digits but the last four become `•`; the separators and everything else
//! in the text stay as they are. A number is matched in whole groups only,
//! so an expiry date or an order number written after a card number does
//! not hide it, and a digit run longer than 19 (a reference, an id) is not
//! cut into a card number. A run that follows a `+` is a phone number in
//! international form, never a card: it is left alone.

use std::borrow::Cow;

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;
const KEPT_DIGITS: usize = 4;
const MASK: char = '•';

/// `text` with every card number in it masked; borrowed when there is none.
pub fn mask(text: &str) -> Cow<'_, str> {
    let spans = card_spans(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + spans.len() * 16);
    let mut copied = 0;
    for (start, end) in spans {
        out.push_str(&text[copied..start]);
        out.push_str(&masked(&text[start..end]));
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The digits of `number` but its last four as `•`, separators kept.
fn masked(number: &str) -> String {
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    let mut seen = 0;
    number
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen > digits - KEPT_DIGITS {
                c
            } else {
                MASK
            }
        })
        .collect()
}

/// The byte spans of the card numbers in `text`, in order.
fn card_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let groups = groups_from(bytes, at);
        let end = groups.last().map_or(at + 1, |&(_, end)| end);
        let after_plus = at > 0 && bytes[at - 1] == b'+';
        if !after_plus {
            spans.extend(card_in(bytes, &groups));
        }
        at = end;
    }
    spans
}

/// The digit groups of one run starting at `start`: each group is digits,
/// and groups are parted by exactly one space or dash.
fn groups_from(bytes: &[u8], start: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut at = start;
    loop {
        let end = at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        groups.push((at, end));
        let parted = matches!(bytes.get(end), Some(b' ' | b'-'));
        if !parted || !bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return groups;
        }
        at = end + 1;
    }
}

/// The card numbers among `groups`: from each group on, the longest run of
/// whole groups with 13 to 19 digits that passes the Luhn check.
fn card_in(bytes: &[u8], groups: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut first = 0;
    while first < groups.len() {
        let matched = (first..groups.len()).rev().find(|&last| is_card(bytes, &groups[first..=last]));
        match matched {
            Some(last) => {
                found.push((groups[first].0, groups[last].1));
                first = last + 1;
            }
            None => first += 1,
        }
    }
    found
}

fn is_card(bytes: &[u8], groups: &[(usize, usize)]) -> bool {
    let digits: Vec<u8> = groups.iter().flat_map(|&(start, end)| &bytes[start..end]).map(|b| b - b'0').collect();
    (MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) && luhn(&digits)
}

/// The Luhn check: from the right, every second digit doubled (less 9 when
/// over 9); the sum is a multiple of 10.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = (digits.iter().rev().enumerate())
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
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
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn card_numbers_keep_their_last_four() {
        assert_eq!(mask("my card is 4111 1111 1111 1111, thanks"), "my card is •••• •••• •••• 1111, thanks");
        assert_eq!(mask("4111-1111-1111-1111"), "••••-••••-••••-1111");
        assert_eq!(mask("4111111111111111"), "••••••••••••1111");
        assert_eq!(mask("Amex 3782 822463 10005 exp 12/27"), "Amex •••• •••••• •0005 exp 12/27");
        assert_eq!(mask("4111 1111 1111 1111 1225"), "•••• •••• •••• 1111 1225", "an expiry after it");
    }

    #[test]
    fn other_numbers_stay() {
        for text in [
            "4111 1111 1111 1112",      // fails the Luhn check
            "order 123456789012",       // 12 digits
            "ref 41111111111111110000", // 22 digits in one piece
            "call me at +8613800138000",
            "1704067200.12345",
            "",
            "no digits at all",
        ] {
            assert_eq!(mask(text), text, "{text}");
        }
    }

    #[test]
    fn two_cards_in_one_text() {
        assert_eq!(mask("4111111111111111 or 5500 0000 0000 0004"), "••••••••••••1111 or •••• •••• •••• 0004");
    }
}
