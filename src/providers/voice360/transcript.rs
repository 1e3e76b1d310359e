//! Voice360's TRANSCRIPTION_FINISHED: the call's recap and conversation,
//! posted in its thread, in numbered parts when it is long.

use super::{capitalize, CallMemory, Event, PROVIDER};
use crate::json::{self, Node, Object};
use crate::providers::{push_line, value_text, Fields, TranslateError, Translation};
use crate::reamaze::{Channel, Direction, Message, Outgoing};
use crate::settings::Settings;
use crate::time;

impl Event {
    /// The transcription is a JSON document inside a string: it is read as
    /// strictly as a payload (depth limit, no duplicate keys), since a
    /// sender can nest in it whatever it could nest in the body. A transcript
    /// longer than MAX_MESSAGE_CHARS is posted whole, in several messages:
    /// the recap, then numbered parts cut between turns.
    pub(super) fn transcription(
        &self,
        memory: &CallMemory,
        settings: &Settings,
    ) -> Result<Translation, TranslateError> {
        let meta = self.meta();
        let uniqueid = meta.need_text("uniqueid")?;
        if memory.customer_phone.is_none() {
            return self.hold();
        }
        let success = meta.bool("success").unwrap_or_else(|| meta.text("transcription").is_some());
        let texts = if success {
            let text = meta.need_str("transcription")?;
            let document = json::parse_object_without(text.as_bytes(), settings.max_json_depth, UNREAD_MEMBERS)
                .map_err(|_| TranslateError::Invalid {
                    field: "metadata.transcription".into(),
                    expected: "a JSON object inside the string, nested at most MAX_JSON_DEPTH deep, with no key twice in one object",
                })?;
            transcript_messages(&document, settings.max_message_chars as usize)
        } else {
            let reason = meta.text("error").unwrap_or_else(|| "no reason was given".to_string());
            vec![format!("Call transcription failed: {reason}")]
        };
        let messages = texts
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                // The first keeps the id a whole transcript always had; parts
                // are numbered, so a redelivery gives the same ids.
                let part = (index + 1).to_string();
                let id = if index == 0 { self.id(&[&uniqueid]) } else { self.id(&[&uniqueid, "part", &part]) };
                let message = Message::between(
                    id,
                    memory.direction.unwrap_or(Direction::Inbound),
                    memory.customer(),
                    memory.channel(settings),
                    body,
                )
                .thread(Some(format!("{PROVIDER}:{uniqueid}")))
                .at(self.at(index))
                .assigned(memory.assignee(settings));
                Outgoing { channel: Channel::Voice, message }
            })
            .collect();
        Ok(Translation::messages(messages))
    }
}

/// What a transcription document becomes: one message with the recap and
/// the conversation when it fits in `limit` characters; else the recap,
/// then the conversation in parts of at most `limit` characters, headed
/// "Call transcript, part k of n" and cut between turns.
fn transcript_messages(doc: &Object, limit: usize) -> Vec<String> {
    let doc = Fields::new(doc, "transcription");
    let recap = recap(&doc);
    let turns: Vec<String> =
        conversation(&doc).into_iter().map(|(speaker, text)| format!("{speaker}: {text}")).collect();
    let whole_chars = recap.chars().count() + 2 + turns.iter().map(|t| t.chars().count() + 1).sum::<usize>();
    if turns.is_empty() || whole_chars <= limit {
        let mut body = recap;
        if !turns.is_empty() {
            body.push('\n');
            turns.iter().for_each(|turn| push_line(&mut body, turn));
        }
        return vec![body];
    }
    let parts = transcript_parts(turns, limit);
    let count = parts.len();
    let numbered = parts.into_iter().enumerate().map(|(k, lines)| {
        let mut body = format!("Call transcript, part {} of {count}\n", k + 1);
        lines.iter().for_each(|line| push_line(&mut body, line));
        body
    });
    std::iter::once(recap).chain(numbered).collect()
}

/// The heading line with the call's length, then the summary, outcome,
/// action items and topics, from the AWS Call Analytics–style document.
fn recap(doc: &Fields) -> String {
    let mut body = String::new();
    let duration = doc
        .object("ConversationCharacteristics")
        .and_then(|c| c.get("TotalConversationDurationMillis"))
        .and_then(Node::as_f64)
        .map(|ms| format!(" ({})", time::duration(ms / 1000.0)))
        .unwrap_or_default();
    push_line(&mut body, format!("Call transcript{duration}"));

    let recap = doc.object("CallRecap").map(|r| Fields::new(r, "CallRecap"));
    let summary = recap.and_then(|r| r.text("summary")).or_else(|| {
        let auto = doc.object("ContactSummary")?.get("AutoGenerated")?;
        value_text(auto.get("OverallSummary")?.get("Content")?)
    });
    if let Some(summary) = summary {
        push_line(&mut body, format!("Summary: {summary}"));
    }
    if let Some(recap) = recap {
        if let Some(outcome) = recap.text("outcome") {
            push_line(&mut body, format!("Outcome: {outcome}"));
        }
        let actions = recap.texts("action_items");
        if !actions.is_empty() {
            push_line(&mut body, "Action items:");
            for action in actions {
                push_line(&mut body, format!("- {action}"));
            }
        }
        let topics = recap.texts("topics");
        if !topics.is_empty() {
            push_line(&mut body, format!("Topics: {}", topics.join(", ")));
        }
    }
    body
}

/// The members of a transcript document the bridge never reads, though they
/// are most of its bytes (every word, with its times and confidence, and
/// the loudness samples): checked as the rest, not kept in memory.
const UNREAD_MEMBERS: &[&str] = &["Items", "LoudnessScores"];

/// The heading of a part, at its longest (the part numbers' digits aside).
const PART_HEADING_CHARS: usize = "Call transcript, part  of \n".len();

/// Turns grouped into parts whose text, with the part's heading, stays
/// within `limit` characters. A turn is never cut, unless one turn alone is
/// longer than a part: it is then cut at spaces, and its pieces go in parts
/// of their own.
fn transcript_parts(turns: Vec<String>, limit: usize) -> Vec<Vec<String>> {
    // Room for the heading with numbers of up to five digits each.
    let room = limit.saturating_sub(PART_HEADING_CHARS + 10).max(1);
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut used = room + 1;
    for turn in turns.into_iter().flat_map(|turn| pieces(turn, room)) {
        let chars = turn.chars().count() + 1;
        if used + chars > room {
            parts.push(Vec::new());
            used = 0;
        }
        used += chars;
        parts.last_mut().expect("a part was just pushed").push(turn);
    }
    parts
}

/// A turn as pieces of at most `room - 1` characters (a line break follows
/// each), cut at spaces where there are any.
fn pieces(turn: String, room: usize) -> Vec<String> {
    let max = room.saturating_sub(1).max(1);
    if turn.chars().count() <= max {
        return vec![turn];
    }
    let mut out = Vec::new();
    let mut rest = turn.as_str();
    while rest.chars().count() > max {
        let hard = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..hard].rfind(' ').filter(|&i| i > 0).unwrap_or(hard);
        out.push(rest[..cut].to_string());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// The transcript as (speaker, text) in time order, from whichever source
/// is more complete: `Transcript`, or the per-channel `AgentTranscript` and
/// `CustomerTranscript` merged by start time (the documented example fills
/// the latter more fully than the former). A tie goes to `Transcript`.
fn conversation(doc: &Fields) -> Vec<(String, String)> {
    let turns = |key: &str| doc.value(key).and_then(Node::as_array).unwrap_or_default();
    let combined: Vec<(f64, String, String)> = turns("Transcript")
        .iter()
        .filter_map(|turn| {
            let text = value_text(turn.get("Content")?)?;
            let role = turn.get("ParticipantRole").and_then(value_text).unwrap_or_else(|| "SPEAKER".into());
            let start = turn.get("BeginOffsetMillis").and_then(Node::as_f64).unwrap_or(0.0) / 1000.0;
            Some((start, speaker(&role), text))
        })
        .collect();
    let per_channel: Vec<(f64, String, String)> = [("AgentTranscript", "Agent"), ("CustomerTranscript", "Customer")]
        .into_iter()
        .flat_map(|(key, role)| {
            turns(key).iter().filter_map(move |turn| {
                let text = value_text(turn.get("text")?)?;
                let start = turn.get("start").and_then(Node::as_f64).unwrap_or(0.0);
                Some((start, role.to_string(), text))
            })
        })
        .collect();
    let mut timed = if per_channel.len() > combined.len() { per_channel } else { combined };
    // A stable sort: turns that start together keep their order.
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    timed.into_iter().map(|(_, who, text)| (who, text)).collect()
}

pub(super) fn speaker(role: &str) -> String {
    capitalize(&role.to_ascii_lowercase())
}
