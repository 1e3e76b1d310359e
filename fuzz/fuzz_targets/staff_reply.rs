//! Re:amaze staff replies on any bytes: never a panic, and every SMS part
//! within 160 characters and non-empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::reamaze::{reply_to_sms, split_sms, StaffReply, SMS_PART_CHARS};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = serde_json::from_slice::<StaffReply>(data) {
        if let Ok(parts) = reply_to_sms(&reply, "+16501234567") {
            assert!(!parts.is_empty());
            for part in parts {
                assert!(!part.message.is_empty() && part.message.chars().count() <= SMS_PART_CHARS);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for part in split_sms(text, SMS_PART_CHARS) {
            assert!(!part.is_empty() && part.chars().count() <= SMS_PART_CHARS);
        }
    }
});
