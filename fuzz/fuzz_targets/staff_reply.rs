//! Re:amaze staff replies on any bytes: never a panic, and every SMS part
//! within 160 UTF-16 units and non-empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reamaze_bridge::reamaze::{reply_to_sms, split_sms, StaffReply, SMS_PART_UNITS};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = StaffReply::parse(data, 32) {
        if let Ok(parts) = reply_to_sms(&reply, "+16501234567") {
            assert!(!parts.is_empty());
            for part in parts {
                assert!(!part.message.is_empty() && part.message.encode_utf16().count() <= SMS_PART_UNITS);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for part in split_sms(text, SMS_PART_UNITS) {
            assert!(!part.is_empty() && part.encode_utf16().count() <= SMS_PART_UNITS);
        }
    }
});
