//! The strict JSON reader against serde_json on any bytes, with any depth
//! limit: where it accepts, it reads exactly what serde_json reads; its
//! syntax errors are serde_json's too; the depth limit holds. (A refused
//! duplicate key or nesting may come before a syntax error further on, so
//! those are not compared.)
//!
//! The reader departs from serde_json on purpose in one way, modelled here
//! on its own terms rather than with the reader's code: a lone surrogate
//! escape (half an emoji, as JavaScript and Python write one) reads as
//! U+FFFD where serde_json refuses the document. So the oracle reads the
//! document with each lone escape written as `\ufffd`, found by walking the
//! strings and pairing their UTF-16 units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::json::{self, JsonError};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (max_depth, bytes) = match data.split_first() {
        Some((&first, rest)) => (u32::from(first % 40) + 1, rest),
        None => return,
    };
    let plain = serde_json::from_slice::<Value>(&lone_surrogates_as_replacement(bytes));
    match json::parse(bytes, max_depth) {
        Ok(value) => {
            let value = Value::from(value);
            assert_eq!(Some(&value), plain.as_ref().ok(), "read differently");
            assert!(depth(&value) <= max_depth, "nested deeper than the limit");
        }
        Err(JsonError::Syntax(_)) => assert!(plain.is_err(), "a syntax error serde_json does not see"),
        Err(JsonError::Empty) => assert!(bytes.iter().all(u8::is_ascii_whitespace)),
        Err(JsonError::DuplicateKey { .. } | JsonError::TooDeep { .. }) => {}
        Err(JsonError::Shape(_)) => unreachable!("parse does not check shapes"),
    }
});

fn depth(value: &Value) -> u32 {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// `bytes` with every `\\uXXXX` escape inside a string that is half of a
/// surrogate pair without its other half replaced by `\\ufffd`.
fn lone_surrogates_as_replacement(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut in_string = false;
    // The unit escapes of the current run of consecutive `\\u` escapes:
    // (offset, unit).
    let mut run: Vec<(usize, u16)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if !in_string {
            in_string = byte == b'"';
            i += 1;
            continue;
        }
        match byte {
            b'"' => {
                repair_run(&mut out, &run);
                run.clear();
                in_string = false;
                i += 1;
            }
            b'\\' => match unit_at(bytes, i + 1) {
                Some(unit) => {
                    run.push((i, unit));
                    i += 6;
                }
                None => {
                    repair_run(&mut out, &run);
                    run.clear();
                    i += 2;
                }
            },
            _ => {
                repair_run(&mut out, &run);
                run.clear();
                i += 1;
            }
        }
    }
    repair_run(&mut out, &run);
    out
}

/// The unit of `uXXXX` at `at` (four hex digits, nothing else).
fn unit_at(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at + 5)? {
        [b'u', hex @ ..] if hex.iter().all(u8::is_ascii_hexdigit) => {
            hex.iter().try_fold(0u16, |unit, &digit| Some(unit * 16 + (digit as char).to_digit(16)? as u16))
        }
        _ => None,
    }
}

/// Pairs a run of consecutive unit escapes as UTF-16 does, left to right,
/// and writes the halves left over as U+FFFD.
fn repair_run(out: &mut [u8], run: &[(usize, u16)]) {
    let mut k = 0;
    while k < run.len() {
        let (at, unit) = run[k];
        let paired = (0xD800..0xDC00).contains(&unit)
            && run.get(k + 1).is_some_and(|&(_, next)| (0xDC00..0xE000).contains(&next));
        if paired {
            k += 2;
            continue;
        }
        if (0xD800..0xE000).contains(&unit) {
            out[at..at + 6].copy_from_slice(b"\\ufffd");
        }
        k += 1;
    }
}
