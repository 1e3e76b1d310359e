//! A transcription that arrives before any event of its call is kept, not
//! refused: nothing tells whose call it was until then. It is answered 202
//! `held`, and posted with the first later event of the call that makes
//! the call's parties known, within the call memory's time to live.

use super::{CallMemory, Event, PROVIDER};
use crate::json;
use crate::providers::{HeldPayload, Lookup, Outcome, TranslateError, Translation};
use crate::settings::Settings;
use crate::store::{keys, ttl, Entry};

/// The call id of a held transcription (`metadata.uniqueid`) and its
/// `timestamp`, read from the payload kept.
pub(super) fn read_held(value: &str) -> HeldPayload {
    let Ok(object) = json::parse_object(value.as_bytes(), 64) else { return HeldPayload::default() };
    let metadata = object.object("metadata", "metadata").ok().flatten();
    let call_id = metadata.and_then(|m| m.string("uniqueid", "metadata.uniqueid").ok()?.map(String::from));
    HeldPayload { call_id, at: object.integer("timestamp", "timestamp").ok().flatten() }
}

/// How long the mark that a held transcription was posted is kept (the
/// shortest time Workers KV keeps anything).
const RELEASED_TTL: u64 = 60;

impl Event {
    /// The key a transcription of this event's call is held under.
    pub(super) fn held_key(&self) -> Option<String> {
        self.meta().text("uniqueid").map(|id| keys::held(PROVIDER, &id))
    }

    /// Keeps this transcription, its body as received, under its call's key
    /// for the call memory's time to live.
    pub(super) fn hold(&self) -> Result<Translation, TranslateError> {
        let uniqueid = self.meta().need_text("uniqueid")?;
        // An event is translated once, so its body is still here. Were it
        // not, a panic (a 500, which the provider retries with the body
        // again) is better than holding nothing in its place.
        let value = self.raw.take().expect("a transcription is translated, and so held, at most once");
        let key = keys::held(PROVIDER, &uniqueid);
        let reason = format!(
            "transcription for call {uniqueid}, which the bridge has not seen yet: held, and posted with the \
             call's first event (within {} days)",
            ttl::CALL / 86_400
        );
        Ok(Translation::held(reason).remembering(Some(Entry { key, value, ttl_seconds: ttl::CALL })))
    }

    /// After this event of a call, the transcription held for it, if any,
    /// now that the call's parties are known: its messages follow this
    /// event's, and the held copy is let go.
    pub(super) fn release_held(&self, translation: &mut Translation, lookup: Lookup, settings: &Settings) {
        let Some(key) = self.held_key() else { return };
        let Some(held) = lookup(&key).filter(|value| !value.is_empty()) else { return };
        let memory = self.memory_after(translation, lookup);
        if memory.customer_phone.is_none() {
            return;
        }
        let Ok(object) = json::parse_object(held.as_bytes(), settings.max_json_depth) else { return };
        let Ok(transcription) = Event::parse(object, held.as_bytes()) else { return };
        let Ok(Translation { outcome: Outcome::Messages(transcript), .. }) =
            transcription.transcription(&memory, settings)
        else {
            return;
        };
        translation.outcome = match std::mem::replace(&mut translation.outcome, Outcome::Messages(Vec::new())) {
            Outcome::Messages(mut messages) => {
                messages.extend(transcript);
                Outcome::Messages(messages)
            }
            _ => Outcome::Messages(transcript),
        };
        translation.remember.push(Entry { key, value: String::new(), ttl_seconds: RELEASED_TTL });
    }

    /// What the bridge knows of this event's call once the event is taken
    /// in: the memory it writes, else the memory it read.
    fn memory_after(&self, translation: &Translation, lookup: Lookup) -> CallMemory {
        let call_key = self.call_key();
        let written = translation.remember.iter().find(|entry| Some(&entry.key) == call_key.as_ref());
        match written {
            Some(entry) => CallMemory::read(&entry.value),
            None => self.memory(lookup),
        }
    }
}
