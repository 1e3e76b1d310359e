//! The strict JSON reader against serde_json on any bytes, with any depth
//! limit: where it accepts, it reads exactly what serde_json reads; its
//! syntax errors are serde_json's too; the depth limit holds. (A refused
//! duplicate key or nesting may come before a syntax error further on, so
//! those are not compared.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::json::{self, JsonError};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (max_depth, bytes) = match data.split_first() {
        Some((&first, rest)) => (u32::from(first % 40) + 1, rest),
        None => return,
    };
    let plain = serde_json::from_slice::<Value>(bytes);
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
