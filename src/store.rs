//! State that outlives one request, behind one small interface of
//! time-to-live entries: Workers KV in the Worker, a `Map` or a user object
//! in Node, `MemoryStore` in the CLI and the tests.
//!
//! The core never calls a store itself (stores may be async); the bridge's
//! `Exchange` asks for reads, writes, claims and releases as steps, and
//! `drive` runs those steps against a synchronous `Store`.
//!
//! Deduplication must hold while copies of one webhook or staff reply
//! overlap (a sender retries while its first attempt is still running), so
//! the store offers `claim`: put-if-absent with a time to live, atomically.
//! Keys for which `keys::is_claimed` holds are only ever settled through a
//! store that provides that: a Durable Object in the Worker, the process's
//! memory in Node and the CLI, `SET key value NX GET EX ttl` in Redis.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// One entry to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub ttl_seconds: u64,
}

impl Entry {
    /// A claim on `key` while its work is under way, for `lease` seconds
    /// (`ttl::claim_lease`).
    pub fn claim(key: String, lease: u64) -> Entry {
        Entry { key, value: PENDING.into(), ttl_seconds: lease }
    }

    /// The mark that `key`'s work is done: later copies are duplicates.
    pub fn done(key: String) -> Entry {
        Entry { key, value: DONE.into(), ttl_seconds: ttl::SEEN }
    }
}

/// A synchronous store of time-to-live entries.
pub trait Store {
    fn get(&self, key: &str, now: i64) -> Option<String>;
    fn put(&mut self, entry: &Entry, now: i64);
    /// Writes `entry` only if its key holds no live value, as one atomic
    /// step: `None` when it was written (the caller holds the claim), else
    /// the value the key holds.
    fn claim(&mut self, entry: &Entry, now: i64) -> Option<String>;
    fn delete(&mut self, key: &str);
    /// The live keys under `prefix`, in byte order as Workers KV lists
    /// them, at most `limit`, and whether more follow. A store that cannot
    /// list lists none: a bridge over it keeps no records
    /// (`Bridge::keeps_records`), so its admin routes never ask.
    fn list(&self, prefix: &str, limit: usize, now: i64) -> (Vec<String>, bool) {
        let _ = (prefix, limit, now);
        (Vec::new(), false)
    }
}

/// The value of a claim whose work is under way; a claim that is done holds
/// `DONE`.
pub const PENDING: &str = "pending";
pub const DONE: &str = "1";

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

    fn claim(&mut self, entry: &Entry, now: i64) -> Option<String> {
        let held = self.get(&entry.key, now);
        if held.is_none() {
            self.put(entry, now);
        }
        held
    }

    fn delete(&mut self, key: &str) {
        self.entries.remove(key);
    }

    fn list(&self, prefix: &str, limit: usize, now: i64) -> (Vec<String>, bool) {
        let mut keys: Vec<&String> = (self.entries.iter())
            .filter(|(key, (_, expires))| key.starts_with(prefix) && *expires > now)
            .map(|(key, _)| key)
            .collect();
        keys.sort_unstable();
        let more = keys.len() > limit;
        (keys.into_iter().take(limit).cloned().collect(), more)
    }
}

/// How long each kind of entry lives.
pub mod ttl {
    /// A delivered event id: longer than any provider keeps retrying
    /// (the longest today: about 8 hours).
    pub const SEEN: u64 = 3 * 86_400;
    /// The parties of a call, for a transcription that comes minutes or
    /// hours after the call.
    pub const CALL: u64 = 7 * 86_400;
    /// An SMS the bridge sent for an agent, until the provider's SMS_SENT
    /// echo of it has come back.
    pub const ECHO: u64 = 3_600;
    /// The shortest lease of a claim while its delivery is under way: a
    /// claim left by a process that died mid-send frees its key this soon,
    /// well before a sender with few retries gives up.
    pub const CLAIM: u64 = 30;

    /// A claim's lease: `CLAIM`, or longer where one upstream call may take
    /// longer (`UPSTREAM_TIMEOUT_MS`), so that a live post never outlasts
    /// its claim. (Workers KV keeps nothing under 60 seconds; its claims,
    /// without the Claims Durable Object, last that long.)
    pub fn claim_lease(upstream_timeout_ms: u64) -> u64 {
        CLAIM.max(upstream_timeout_ms.div_ceil(1000) + 20)
    }
    /// A provider's contact, by phone number: a year, renewed by each
    /// update of the contact.
    pub const CONTACT: u64 = 365 * 86_400;
}

/// Keys, namespaced by purpose, every one built here and bounded
/// (`bounded`): an id of any length makes a key every store takes (Workers
/// KV refuses keys over 512 bytes). Variable parts that carry customer text
/// are hashed, so keys hold no message text.
pub mod keys {
    use super::digest;
    use sha2::{Digest, Sha256};

    /// The longest key the bridge makes, in bytes: within Workers KV's 512
    /// with room for a prefix a Redis or KV user adds of their own.
    pub const MAX_KEY_BYTES: usize = 256;

    /// The mark of a variable part replaced by its digest.
    pub const DIGESTED: &str = "#sha256:";

    /// `prefix` then `variable`; when that is longer than `MAX_KEY_BYTES`,
    /// `variable` is replaced by its whole SHA-256 (never cut), so two ids
    /// still make two keys and deduplication stays exact.
    pub fn bounded(prefix: &str, variable: &str) -> String {
        in_parts(&[prefix], variable)
    }

    /// `bounded` of the prefix made of `parts`.
    fn in_parts(parts: &[&str], variable: &str) -> String {
        in_parts_with(parts, variable.len(), |key| key.push_str(variable))
    }

    /// `in_parts` of the variable part `write` appends, written straight
    /// into the key (one allocation: keys are made on every message).
    fn in_parts_with(parts: &[&str], size_hint: usize, write: impl FnOnce(&mut String)) -> String {
        let prefix = parts.iter().map(|part| part.len()).sum();
        let mut key = String::with_capacity(prefix + size_hint);
        parts.iter().for_each(|part| key.push_str(part));
        write(&mut key);
        if key.len() > MAX_KEY_BYTES {
            let digest = hex::encode(Sha256::digest(&key.as_bytes()[prefix..]));
            key.truncate(prefix);
            key.push_str(DIGESTED);
            key.push_str(&digest);
        }
        key
    }

    /// A message's delivery to Re:amaze: claimed while it is under way,
    /// marked done once Re:amaze took it, so a copy is a duplicate.
    pub fn delivery(message_id: &str) -> String {
        bounded(DELIVERY_PREFIX, message_id)
    }

    const DELIVERY_PREFIX: &str = "seen:";
    const SENT_PREFIX: &str = "sent:";
    const COUNT_PREFIX: &str = "count:";
    const ALERT_PREFIX: &str = "alert:";

    /// Whether `key` is one of the claims that deduplicate deliveries, SMS
    /// sends and alerts, or a count read and written at once. A shell keeps
    /// these where each operation is atomic and read back at once (the
    /// Worker: its Durable Object, not Workers KV, which is eventually
    /// consistent).
    pub fn is_claimed(key: &str) -> bool {
        [DELIVERY_PREFIX, SENT_PREFIX, COUNT_PREFIX, ALERT_PREFIX].iter().any(|prefix| key.starts_with(prefix))
    }

    /// The refusals on `route` in the 10-minute `window` (Unix seconds / 600).
    pub fn refusals(route: &str, window: i64) -> String {
        bounded(&format!("{COUNT_PREFIX}rejected:"), &format!("{route}:{window}"))
    }

    /// The claim that an alert of `kind` about `about` went out.
    pub fn alert(kind: &str, about: &str) -> String {
        bounded(ALERT_PREFIX, &format!("{kind}:{}", digest(&[about.as_bytes()])))
    }

    /// A refused webhook kept for operators. Keys list in order, so the
    /// time is written counting down: the newest first.
    pub fn rejected(at: i64, id: &str) -> String {
        bounded(&format!("{REJECTED_PREFIX}{:011}:", 99_999_999_999 - at.clamp(0, 99_999_999_999)), id)
    }

    pub const REJECTED_PREFIX: &str = "rejected:";

    pub fn call(provider: &str, call_id: &str) -> String {
        in_parts(&["call:", provider, ":"], call_id)
    }

    /// A transcription kept until its call is known.
    pub fn held(provider: &str, call_id: &str) -> String {
        in_parts(&[HELD_PREFIX, provider, ":"], call_id)
    }

    pub const HELD_PREFIX: &str = "held:";

    /// The name a provider's contact book gives `phone`, kept by its digits
    /// (and a leading `+`), so the ways of writing one number meet.
    pub fn contact(provider: &str, phone: &str) -> String {
        number_key(&["contact:", provider, ":"], phone)
    }

    /// The conversation a caller's last call was in, and when it was last
    /// heard of (`VOICE_THREAD_MINUTES`), by the caller's digits.
    pub fn caller(provider: &str, phone: &str) -> String {
        number_key(&["caller:", provider, ":"], phone)
    }

    /// The conversation a call joined (`VOICE_THREAD_MINUTES`), by the
    /// call's own thread.
    pub fn joined(call_thread: &str) -> String {
        bounded("joined:", call_thread)
    }

    /// `in_parts` of a phone number's digits (and `+`): the same number
    /// formatted two ways makes one key.
    fn number_key(parts: &[&str], phone: &str) -> String {
        in_parts_with(parts, phone.len(), |key| {
            key.extend(phone.bytes().filter(|b| b.is_ascii_digit() || *b == b'+').map(char::from));
        })
    }

    /// Phone numbers count by their digits: the setting and the provider
    /// may format the same number differently.
    pub fn echo(from: &str, to: &str, text: &str) -> String {
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        format!("echo:{}", digest(&[digits(from).as_bytes(), digits(to).as_bytes(), text.as_bytes()]))
    }

    /// A dead letter, kept for operators to list and replay.
    pub fn dead_letter(message_id: &str) -> String {
        bounded(DEAD_LETTER_PREFIX, message_id)
    }

    pub const DEAD_LETTER_PREFIX: &str = "dead:";

    /// A staff-reply part already sent, so Re:amaze's retry of the same
    /// reply does not send it twice.
    pub fn reply_part(raw_body: &[u8], index: usize) -> String {
        format!("{SENT_PREFIX}{}:{index}", digest(&[raw_body]))
    }
}

/// A short hex digest of length-prefixed parts, so `("ab","c")` and
/// `("a","bc")` differ.
pub fn digest(parts: &[&[u8]]) -> String {
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
    fn a_claim_is_held_until_it_expires_or_is_released() {
        let mut store = MemoryStore::new();
        let claim = Entry { key: keys::delivery("m1"), value: PENDING.into(), ttl_seconds: 10 };
        assert_eq!(store.claim(&claim, 100), None, "the first claim wins");
        assert_eq!(store.claim(&claim, 101).as_deref(), Some(PENDING), "a second sees it held");
        store.delete(&claim.key);
        assert_eq!(store.claim(&claim, 102), None, "a released claim can be taken again");
        assert_eq!(store.claim(&claim, 112), None, "and so can an expired one");
        assert!(keys::is_claimed(&claim.key) && keys::is_claimed(&keys::reply_part(b"x", 0)));
        assert!(!keys::is_claimed(&keys::call("provider", "1")));
    }

    #[test]
    fn echo_keys_separate_their_parts() {
        assert_ne!(keys::echo("12", "3", "x"), keys::echo("1", "23", "x"));
        assert_eq!(keys::echo("+1 (650) 123-4567", "+1555", "x"), keys::echo("+16501234567", "1555", "x"));
    }
}
