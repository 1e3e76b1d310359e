//! Helpers shared by the Rust integration tests.

use reamaze_bridge::bridge::{Bridge, Step};
use reamaze_bridge::http::{Headers, Request};
use reamaze_bridge::signature::{self, Signed};

/// The first step of an exchange for a Voice360 webhook with `body`, signed with `secret` as
/// Voice360 signs it.
pub fn voice360_exchange(bridge: &Bridge, body: &[u8], secret: &[u8], now: i64) -> Step {
    let sig = signature::sign(&reamaze_bridge::providers::voice360::SCHEME, secret, &Signed::body(body)).unwrap();
    let headers: Headers = [("x-voice360-signature", sig)].into_iter().collect();
    let request = Request {
        method: "POST",
        path: "/webhooks/voice360",
        url: "https://b.test/webhooks/voice360",
        headers: &headers,
        body,
    };
    bridge.exchange(&request, now)
}

/// A TRANSCRIPTION_FINISHED for call `uniqueid` in the reference text's AWS
/// Call Analytics shape, at a real size: `minutes` of conversation, a turn
/// every ten seconds, each with its word `Items` and `LoudnessScores`, plus
/// the per-channel `AgentTranscript` and `CustomerTranscript` and a
/// `CallRecap`. Two hours come to about 2.6 MB. Returns the event and the
/// turns as "Speaker: text" lines, in order.
#[allow(dead_code)]
pub fn long_transcription(uniqueid: &str, minutes: u64, timestamp: i64) -> (serde_json::Value, Vec<String>) {
    use serde_json::json;
    const WORDS: [&str; 12] = [
        "invoice", "refund", "account", "déjà", "number", "order", "shipping", "thanks", "please", "yes", "today", "👍",
    ];
    let (mut segments, mut agent, mut customer, mut lines) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for turn in 0..minutes * 6 {
        let begin = turn * 10_000;
        let (role, speaker) = if turn % 2 == 0 { ("AGENT", "Agent") } else { ("CUSTOMER", "Customer") };
        let words: Vec<&str> = (0..22).map(|w| WORDS[((turn * 7 + w * 3) % 12) as usize]).collect();
        let content = format!("Turn {turn}: {}.", words.join(" "));
        let items: Vec<_> = words
            .iter()
            .enumerate()
            .map(|(w, word)| {
                let at = begin + w as u64 * 400;
                json!({"Content": word, "BeginOffsetMillis": at, "EndOffsetMillis": at + 350,
                       "Confidence": 0.9871, "Type": "pronunciation"})
            })
            .collect();
        segments.push(json!({"Id": format!("00000000-0000-4000-8000-{turn:012}"), "ParticipantRole": role,
            "BeginOffsetMillis": begin, "EndOffsetMillis": begin + 9_000, "Content": content, "Sentiment": "NEUTRAL",
            "LoudnessScores": (0..9).map(|s| 60.0 + ((turn + s) % 20) as f64 * 1.25).collect::<Vec<_>>(),
            "Items": items}));
        let side = json!({"start": begin as f64 / 1000.0, "end": (begin + 9_000) as f64 / 1000.0,
                          "text": content, "confidence": 0.97});
        if turn % 2 == 0 {
            agent.push(side)
        } else {
            customer.push(side)
        }
        lines.push(format!("{speaker}: {content}"));
    }
    let document = json!({"AccountId": "12345", "JobName": format!("call-analytics-{uniqueid}"), "LanguageCode": "en-US",
        "JobStatus": "COMPLETED", "Channel": "VOICE",
        "Participants": [{"ParticipantRole": "AGENT"}, {"ParticipantRole": "CUSTOMER"}],
        "ConversationCharacteristics": {"TotalConversationDurationMillis": minutes * 60_000},
        "Transcript": segments, "AgentTranscript": agent, "CustomerTranscript": customer,
        "CallRecap": {"summary": "A long call about an invoice.", "outcome": "resolved",
                      "action_items": ["Send the updated invoice"], "topics": ["billing"]}});
    let event = json!({"event_name": "TRANSCRIPTION_FINISHED", "account_id": "12345", "timestamp": timestamp,
        "metadata": {"uniqueid": uniqueid, "success": true, "transcription": document.to_string()}});
    (event, lines)
}
