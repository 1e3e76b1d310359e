//! State that outlives one request, behind one small interface of
//! time-to-live entries: Workers KV in the Worker, a `Map` or a user object
//! in Node, `MemoryStore` in the CLI and the tests.
//!
//! The core never calls a store itself (stores may be async); the bridge's
//! `Exchange` asks for reads and writes as steps, and `drive` runs those
//! steps against a synchronous `Store`.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// One entry to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub ttl_seconds: u64,
}

/// A synchronous store of time-to-live entries.
pub trait Store {
    fn get(&self, key: &str, now: i64) -> Option<String>;
    fn put(&mut self, entry: &Entry, now: i64);
}

/// An in-memory store; entries expire at `now + ttl`.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: HashMap<String, (String, i64)>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str, now: i64) -> Option<String> {
        self.entries.get(key).filter(|(_, expires)| *expires > now).map(|(value, _)| value.clone())
    }

    fn put(&mut self, entry: &Entry, now: i64) {
        // Dropping what has expired keeps a long-lived process bounded.
        self.entries.retain(|_, (_, expires)| *expires > now);
        let expires = now.saturating_add(i64::try_from(entry.ttl_seconds).unwrap_or(i64::MAX));
        self.entries.insert(entry.key.clone(), (entry.value.clone(), expires));
    }
}

/// How long each kind of entry lives.
pub mod ttl {
    /// A delivered event id: longer than any provider keeps retrying
    /// (Bird: about 8 hours; Voice360: up to 10 retries).
    pub const SEEN: u64 = 3 * 86_400;
    /// The parties of a call, for a transcription that comes minutes or
    /// hours after the call.
    pub const CALL: u64 = 7 * 86_400;
    /// An SMS the bridge sent for an agent, until the provider's SMS_SENT
    /// echo of it has come back.
    pub const ECHO: u64 = 3_600;
}

/// Keys, namespaced by purpose. Variable parts that could be long or carry
/// customer text are hashed, so keys stay short and hold no message text.
pub mod keys {
    use super::digest;

    pub fn seen(message_id: &str) -> String {
        format!("seen:{message_id}")
    }

    pub fn call(provider: &str, call_id: &str) -> String {
        format!("call:{provider}:{call_id}")
    }

    /// Phone numbers count by their digits: the setting and the provider
    /// may format the same number differently.
    pub fn echo(from: &str, to: &str, text: &str) -> String {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        format!("echo:{}", digest(&[digits(from).as_bytes(), digits(to).as_bytes(), text.as_bytes()]))
    }

    /// A dead letter, kept for operators to list and replay.
    pub fn dead_letter(message_id: &str) -> String {
        format!("{DEAD_LETTER_PREFIX}{message_id}")
    }

    pub const DEAD_LETTER_PREFIX: &str = "dead:";

    /// A staff-reply part already sent, so Re:amaze's retry of the same
    /// reply does not send it twice.
    pub fn reply_part(raw_body: &[u8], index: usize) -> String {
        format!("sent:{}:{index}", digest(&[raw_body]))
    }
}

/// A short hex digest of length-prefixed parts, so `("ab","c")` and
/// `("a","bc")` differ.
fn digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire() {
        let mut store = MemoryStore::new();
        store.put(&Entry { key: "k".into(), value: "v".into(), ttl_seconds: 10 }, 100);
        assert_eq!(store.get("k", 109).as_deref(), Some("v"));
        assert_eq!(store.get("k", 110), None);
    }

    #[test]
    fn echo_keys_separate_their_parts() {
        assert_ne!(keys::echo("12", "3", "x"), keys::echo("1", "23", "x"));
        assert_eq!(keys::echo("+1 (650) 123-4567", "+1555", "x"), keys::echo("+16501234567", "1555", "x"));
    }
}
