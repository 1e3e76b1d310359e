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
    let bytes = text.as_bytes();
    let mut cards = Vec::new();
    let mut at = 0;
    loop {
        // Plain stretches passed whole; a control character is stepped over.
        at += crate::scan::plain_prefix(&bytes[at..]);
        match bytes.get(at) {
            None => return masked(text, &cards),
            Some(byte) if byte.is_ascii_digit() => at = find_at(bytes, at, &mut cards),
            Some(_) => at += 1,
        }
    }
}

/// `text` with the card numbers at `cards` (byte spans, in order, as
/// `find_at` gives them) masked; borrowed when there is none.
pub fn masked<'a>(text: &'a str, cards: &[(usize, usize)]) -> Cow<'a, str> {
    if cards.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 32 * cards.len());
    let mut copied = 0;
    for &(start, end) in cards {
        out.push_str(&text[copied..start]);
        // A card's span is ASCII: digits, and the spaces or dashes between groups.
        let span = &text.as_bytes()[start..end];
        let mut hidden = span.iter().filter(|b| b.is_ascii_digit()).count() - KEPT_DIGITS;
        for &byte in span {
            if byte.is_ascii_digit() && hidden > 0 {
                hidden -= 1;
                out.push(MASK);
            } else {
                out.push(char::from(byte));
            }
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Reads the run of digit groups that starts at `at` (a digit that does
/// not follow another): the card numbers in it are added to `cards`.
/// Returns where the run ends.
pub fn find_at(bytes: &[u8], at: usize, cards: &mut Vec<(usize, usize)>) -> usize {
    let groups = Groups::from(bytes, at);
    let after_plus = at > 0 && bytes[at - 1] == b'+';
    let mut first = 0;
    while first < groups.count && !after_plus {
        match (first..groups.count).rev().find(|&last| groups.is_card(bytes, first, last)) {
            Some(last) => {
                cards.push((groups.spans[first].0, groups.spans[last].1));
                first = last + 1;
            }
            None => first += 1,
        }
    }
    groups.end
}

/// How many bytes of digits `bytes` starts with.
fn skip_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// The digit groups of one run: groups of digits parted by exactly one
/// space or dash. A run of more than `MAX_DIGITS + 1` groups cannot hold a
/// card in its first groups the same way; the rest is read as a new run.
struct Groups {
    spans: [(usize, usize); MAX_DIGITS],
    count: usize,
    end: usize,
}

impl Groups {
    fn from(bytes: &[u8], start: usize) -> Groups {
        let mut groups = Groups { spans: [(0, 0); MAX_DIGITS], count: 0, end: start };
        let mut at = start;
        while groups.count < MAX_DIGITS {
            let end = at + skip_digits(&bytes[at..]);
            groups.spans[groups.count] = (at, end);
            groups.count += 1;
            groups.end = end;
            let parted = matches!(bytes.get(end), Some(b' ' | b'-'));
            if !parted || !bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                break;
            }
            at = end + 1;
        }
        groups
    }

    /// Whether groups `first..=last` hold 13 to 19 digits passing the Luhn
    /// check: from the right, every second digit doubled (less 9 when over
    /// 9), the sum a multiple of 10.
    fn is_card(&self, bytes: &[u8], first: usize, last: usize) -> bool {
        let (mut count, mut sum) = (0, 0u32);
        for &(start, end) in self.spans[first..=last].iter().rev() {
            for &byte in bytes[start..end].iter().rev() {
                let digit = u32::from(byte - b'0');
                sum += if count % 2 == 1 { (digit * 2) - if digit > 4 { 9 } else { 0 } } else { digit };
                count += 1;
            }
        }
        (MIN_DIGITS..=MAX_DIGITS).contains(&count) && sum.is_multiple_of(10)
    }
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
