//! What every message's texts go through before they are posted: control
//! characters dropped, card numbers masked (unless `REDACT_CARD_NUMBERS` is
//! off), and the body shortened to `MAX_MESSAGE_CHARS`.
//!
//! A body is most of what a message holds (an hour's transcript is
//! megabytes), so it is read once: one pass finds both the control
//! characters and the card numbers, passing over the plain stretches
//! between them thirty-two bytes at a time (`scan::plain_prefix`).

use std::borrow::Cow;

use crate::cards;
use crate::reamaze::Message;
use crate::scan;
use crate::settings::Settings;

use super::shorten;

pub(super) fn clean(message: &mut Message, settings: &Settings) {
    for text in [Some(&mut message.body), message.from.name.as_mut(), message.to.name.as_mut()].into_iter().flatten() {
        clean_text(text, settings.redact_card_numbers);
    }
    shorten(&mut message.body, settings.max_message_chars as usize);
}

/// The C0 control characters a text loses: NUL, escape, backspace… They
/// carry nothing an agent can read, and some systems choke on a NUL. Line
/// breaks and tabs stay.
fn unwanted(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\n' | b'\r' | b'\t')
}

fn clean_text(text: &mut String, mask_cards: bool) {
    let bytes = text.as_bytes();
    let mut cards = Vec::new();
    let mut at = 0;
    loop {
        at += scan::plain_prefix(&bytes[at..]);
        let Some(&byte) = bytes.get(at) else { break };
        if byte.is_ascii_digit() {
            at = if mask_cards { cards::find_at(bytes, at, &mut cards) } else { at + 1 };
        } else if unwanted(byte) {
            // Rare: dropped first, then the cleaned text is read again, so
            // that a number broken up by a control character is still found.
            text.retain(|c| !(c.is_ascii() && unwanted(c as u8)));
            return clean_text(text, mask_cards);
        } else {
            at += 1;
        }
    }
    if let Cow::Owned(masked) = cards::masked(text, &cards) {
        *text = masked;
    }
}

#[cfg(test)]
mod tests {
    use super::clean_text;

    fn cleaned(text: &str, mask_cards: bool) -> String {
        let mut text = text.to_string();
        clean_text(&mut text, mask_cards);
        text
    }

    #[test]
    fn control_characters_go_and_line_breaks_stay() {
        assert_eq!(cleaned("a\0b\x1bc\x08d\n\te\r\n", true), "abcd\n\te\r\n");
    }

    #[test]
    fn a_card_number_broken_by_a_control_character_is_still_masked() {
        assert_eq!(cleaned("card 4111\x001111 1111 1111 ok", true), "card •••••••• •••• 1111 ok");
        assert_eq!(cleaned("4111 1111 1111 1111\n2", true), "•••• •••• •••• 1111\n2");
        assert_eq!(cleaned("4111 1111 1111 1111", false), "4111 1111 1111 1111");
    }
}
