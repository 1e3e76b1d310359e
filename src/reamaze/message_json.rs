//! The exact bytes of a message as posted (and signed), written directly
//! rather than through serde_json: in the size-optimized wasm builds
//! serde_json escapes a string through a call per byte, and a message body
//! is most of what every request signs (BENCHMARKS.md). A test holds the
//! bytes equal to `serde_json::to_vec` of the message.

use super::{Direction, Message, Party};
use crate::scan;

impl Message {
    /// The exact bytes to post (and sign): what `serde_json::to_vec` makes
    /// of this struct (a test holds them equal), written out directly. In
    /// the size-optimized wasm builds serde_json escapes a string through
    /// a call per byte; a message body is most of what every request signs.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.id.len() + self.body.len());
        out.extend_from_slice(b"{\"id\":");
        push_json_string(&mut out, &self.id);
        out.extend_from_slice(match self.direction {
            Direction::Inbound => b",\"direction\":\"inbound\"",
            Direction::Outbound => b",\"direction\":\"outbound\"",
        });
        out.extend_from_slice(b",\"from\":");
        self.from.push_json(&mut out);
        out.extend_from_slice(b",\"to\":");
        self.to.push_json(&mut out);
        out.extend_from_slice(b",\"body\":");
        push_json_string(&mut out, &self.body);
        if !self.attachments.is_empty() {
            out.extend_from_slice(b",\"attachments\":[");
            for (i, url) in self.attachments.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_string(&mut out, url);
            }
            out.push(b']');
        }
        for (key, value) in [(&b",\"thread_id\":"[..], &self.thread_id), (&b",\"created_at\":"[..], &self.created_at)] {
            if let Some(value) = value {
                out.extend_from_slice(key);
                push_json_string(&mut out, value);
            }
        }
        if let Some(assignee) = &self.assignee {
            out.extend_from_slice(b",\"assignee\":{\"email\":");
            push_json_string(&mut out, &assignee.email);
            out.push(b'}');
        }
        out.push(b'}');
        out
    }
}

impl Party {
    fn push_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        if let Some(name) = &self.name {
            out.extend_from_slice(b"\"name\":");
            push_json_string(out, name);
        }
        if let Some(phone) = &self.phone {
            if self.name.is_some() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"phone\":");
            push_json_string(out, phone);
        }
        out.push(b'}');
    }
}

/// `text` as a JSON string, escaped as serde_json (and JSON.stringify)
/// escape it: `"` and `\\`, and control characters, as their short forms
/// or `\u00xx`. Runs of other bytes are copied whole.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping, as most do not.
        if scan::word_needs_escape(&bytes[i..]) == Some(false) {
            i += 8;
            continue;
        }
        let byte = bytes[i];
        i += 1;
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            _ => 0,
        };
        out.extend_from_slice(&bytes[run..i - 1]);
        run = i;
        if short == 0 {
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}
