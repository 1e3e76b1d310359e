//! Each provider's parse and translate on any bytes: never a panic; a
//! message, when there is one, serializes to JSON that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::providers::{self, translate_payload, Outcome};
use reamaze_bridge::{MemoryStore, Settings};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let provider = providers::ALL[usize::from(selector) % providers::ALL.len()];
    let mut store = MemoryStore::new();
    let settings = Settings::default();
    // Twice through one store: the second run sees what the first remembered.
    for _ in 0..2 {
        if let Ok((_, translation)) = translate_payload(provider, body, &settings, &mut store, 1_704_067_200) {
            if let Outcome::Messages(messages) = translation.outcome {
                for m in messages {
                    let json = m.message.to_json();
                    serde_json::from_slice::<serde_json::Value>(&json).expect("a message is valid JSON");
                }
            }
        }
    }
});
