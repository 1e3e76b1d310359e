//! Scans over whole bodies, eight bytes at a time (SWAR: SIMD within a
//! register). A message body is most of what every request reads and
//! signs, and the wasm builds have no vector instructions, so testing a
//! word at a time is what keeps these passes cheap (BENCHMARKS.md, "eight
//! bytes at a time").
//!
//! The test for "a byte below a bound" in each lane, `(x - n) & !x & 0x80`,
//! can flag a lane wrongly only after a lane that truly is below, so it is
//! exact for the question asked here: is any?

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The lanes of `word` below `bound` (non-zero if any is).
fn below(word: u64, bound: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGH
}

/// The lanes of `word` equal to `byte` (non-zero if any is).
fn equal(word: u64, byte: u8) -> u64 {
    below(word ^ (ONES * u64::from(byte)), 1)
}

/// The lanes of `word` holding a control character (below 0x20) or an
/// ASCII digit, exactly. Each lane's low seven bits are moved by three
/// constants whose sums never carry into the next lane: the high bit then
/// says "at least 0x20", "at least 0x30" and "at least 0x3a".
fn control_or_digit(word: u64) -> u64 {
    let low = word & (ONES * 0x7f);
    let at_least = |bound: u8| low + ONES * u64::from(0x80 - bound);
    (!at_least(0x20) | (at_least(b'0') & !at_least(b':'))) & !word & HIGH
}

/// `control_or_digit` of eight bytes.
fn word_lanes(bytes: &[u8]) -> u64 {
    control_or_digit(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
}

/// How many bytes `bytes` starts with that are neither a control character
/// (below 0x20) nor an ASCII digit: the part of a text that needs no
/// cleaning and no card-number search. Thirty-two bytes at a time; the
/// first thirty-two that hold one are then read a byte at a time.
pub fn plain_prefix(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(block) = bytes.get(at..at + 32) {
        let (a, b, c, d) = (&block[..8], &block[8..16], &block[16..24], &block[24..]);
        if word_lanes(a) | word_lanes(b) | word_lanes(c) | word_lanes(d) != 0 {
            break;
        }
        at += 32;
    }
    let rest = &bytes[at..];
    at + rest.iter().position(|&b| b < 0x20 || b.is_ascii_digit()).unwrap_or(rest.len())
}

/// Whether any of the eight bytes at the start of `bytes` needs a JSON
/// escape (a control character, `"` or `\`); `None` when fewer than eight
/// bytes are left.
pub fn word_needs_escape(bytes: &[u8]) -> Option<bool> {
    let word = u64::from_le_bytes(bytes.get(..8)?.try_into().expect("eight bytes"));
    Some(below(word, 0x20) | equal(word, b'"') | equal(word, b'\\') != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_needs_escape_exactly_when_a_byte_does() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = byte;
                let needs = byte < 0x20 || byte == b'"' || byte == b'\\';
                assert_eq!(word_needs_escape(&word), Some(needs), "{byte:#x} at {at}");
            }
        }
        assert_eq!(word_needs_escape(b"short"), None);
    }

    #[test]
    fn the_plain_prefix_ends_at_the_first_control_character_or_digit() {
        for byte in 0..=255u8 {
            for len in 0..80 {
                for at in 0..len {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    let want = if byte < 0x20 || byte.is_ascii_digit() { at } else { len };
                    assert_eq!(plain_prefix(&text), want, "{byte:#x} at {at} of {len}");
                    let lanes = control_or_digit(u64::from_le_bytes([byte; 8]));
                    assert_eq!(lanes, if want == at { HIGH } else { 0 }, "{byte:#x} in every lane");
                }
            }
        }
    }
}
