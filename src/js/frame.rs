//! Frames: how the package's per-webhook calls (`verify`, a processor's
//! `process`) cross the JS/wasm boundary once, with bytes in and bytes out.
//!
//! Arguments converted one by one cost more than the work on a small
//! webhook: each string is measured, copied and freed, each list of
//! secrets goes through the JS heap, and each answer string is made in
//! JavaScript. Instead, the package's JavaScript writes every argument
//! into one input buffer in this module's memory, and calls the operation
//! with the frame's length; the answer comes back in an output buffer.
//!
//! **Input:** positional items, in the order the operation reads them: a
//! number is 8 bytes (f64, little-endian); a field is a u32 length
//! (little-endian) then that many bytes, or the length `ABSENT` alone.
//!
//! **Output:** a u32 count n, n u32 lengths counted in UTF-16 units (what
//! JavaScript's `slice` counts), then the strings' UTF-8 text one after
//! another: the JavaScript decodes the text once and slices it. Where the
//! output is, is written over the input's first 8 bytes (address, then
//! length), since the input is read by then.

use std::cell::RefCell;

/// A field's length that says it is absent (`undefined` in JavaScript).
pub const ABSENT: u32 = u32::MAX;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The input buffer, at least `len` bytes long (and at least 8, for the
/// output's place): where the JavaScript writes the next frame. It moves
/// only when it grows, so the JavaScript asks again only for a longer
/// frame than it has room for.
pub fn input(len: usize) -> *mut u8 {
    INPUT.with(|input| {
        let mut input = input.borrow_mut();
        let len = len.max(8);
        if input.len() < len {
            // Exactly `len`, not the doubling a Vec grows by: the frame of a
            // body of megabytes would take twice its size for good, since
            // wasm memory never shrinks. Zeroed once per growth, not per
            // frame.
            let more = len - input.len();
            input.reserve_exact(more);
            input.resize(len, 0);
        }
        input.as_mut_ptr()
    })
}

/// Runs `operation` over the frame of `len` bytes, then notes where its
/// output is. The input stays borrowed while it runs: nothing the
/// operation calls in the host (the HMAC backend) writes a frame.
pub fn run<T>(len: usize, operation: impl FnOnce(Items) -> (T, Output)) -> T {
    let (result, output) = INPUT.with(|input| operation(Items { rest: input.borrow().get(..len).unwrap_or_default() }));
    OUTPUT.with(|kept| {
        let mut kept = kept.borrow_mut();
        *kept = output.bytes;
        let place = [(kept.as_ptr() as u32).to_le_bytes(), (kept.len() as u32).to_le_bytes()].concat();
        INPUT.with(|input| {
            let mut input = input.borrow_mut();
            if input.len() < 8 {
                input.resize(8, 0);
            }
            input[..8].copy_from_slice(&place);
        });
    });
    result
}

/// A frame's items, read in order. A frame the JavaScript wrote wrongly
/// reads as absent items and zeros, which every operation refuses as a bad
/// argument.
pub struct Items<'a> {
    rest: &'a [u8],
}

impl<'a> Items<'a> {
    pub fn number(&mut self) -> f64 {
        self.take(8).map_or(0.0, |b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn field(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"));
        if len == ABSENT {
            return None;
        }
        self.take(len as usize)
    }

    /// A field holding text. The JavaScript encodes strings as UTF-8, so a
    /// field that is not is treated as absent.
    pub fn text(&mut self) -> Option<&'a str> {
        self.field().and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            self.rest = &[];
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }
}

/// Strings for the JavaScript, in the output's layout.
#[derive(Default)]
pub struct Output {
    bytes: Vec<u8>,
}

impl Output {
    pub fn of<S: AsRef<str>>(strings: &[S]) -> Output {
        let text_len: usize = strings.iter().map(|s| s.as_ref().len()).sum();
        let mut bytes = Vec::with_capacity(4 + 4 * strings.len() + text_len);
        bytes.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        for s in strings {
            bytes.extend_from_slice(&utf16_len(s.as_ref()).to_le_bytes());
        }
        for s in strings {
            bytes.extend_from_slice(s.as_ref().as_bytes());
        }
        Output { bytes }
    }
}

/// The length JavaScript gives `s`: one unit per character, two for one
/// beyond the Basic Multilingual Plane.
fn utf16_len(s: &str) -> u32 {
    if s.is_ascii() {
        return s.len() as u32;
    }
    s.chars().map(char::len_utf16).sum::<usize>() as u32
}
