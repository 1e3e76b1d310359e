// A TRANSCRIPTION_FINISHED at a real size, in the reference text's AWS Call
// Analytics shape: a turn every ten seconds, each with its word Items and
// LoudnessScores, plus AgentTranscript, CustomerTranscript and a CallRecap.
// Two hours come to about 2.6 MB. The same shape as the Rust tests'
// `common::long_transcription`.

const WORDS = ['invoice', 'refund', 'account', 'déjà', 'number', 'order', 'shipping', 'thanks', 'please', 'yes', 'today', '👍'];

/** The event for call `uniqueid`, and its turns as "Speaker: text" lines in order. */
export function longTranscription(uniqueid, minutes, timestamp) {
  const segments = [];
  const agent = [];
  const customer = [];
  const lines = [];
  for (let turn = 0; turn < minutes * 6; turn++) {
    const begin = turn * 10_000;
    const [role, speaker] = turn % 2 === 0 ? ['AGENT', 'Agent'] : ['CUSTOMER', 'Customer'];
    const words = Array.from({ length: 22 }, (_, w) => WORDS[(turn * 7 + w * 3) % 12]);
    const content = `Turn ${turn}: ${words.join(' ')}.`;
    segments.push({
      Id: `00000000-0000-4000-8000-${String(turn).padStart(12, '0')}`, ParticipantRole: role,
      BeginOffsetMillis: begin, EndOffsetMillis: begin + 9000, Content: content, Sentiment: 'NEUTRAL',
      LoudnessScores: Array.from({ length: 9 }, (_, s) => 60 + ((turn + s) % 20) * 1.25),
      Items: words.map((word, w) => ({ Content: word, BeginOffsetMillis: begin + w * 400, EndOffsetMillis: begin + w * 400 + 350, Confidence: 0.9871, Type: 'pronunciation' })),
    });
    (turn % 2 === 0 ? agent : customer).push({ start: begin / 1000, end: (begin + 9000) / 1000, text: content, confidence: 0.97 });
    lines.push(`${speaker}: ${content}`);
  }
  const document = {
    AccountId: '12345', JobName: `call-analytics-${uniqueid}`, LanguageCode: 'en-US', JobStatus: 'COMPLETED', Channel: 'VOICE',
    Participants: [{ ParticipantRole: 'AGENT' }, { ParticipantRole: 'CUSTOMER' }],
    ConversationCharacteristics: { TotalConversationDurationMillis: minutes * 60_000 },
    Transcript: segments, AgentTranscript: agent, CustomerTranscript: customer,
    CallRecap: { summary: 'A long call about an invoice.', outcome: 'resolved', action_items: ['Send the updated invoice'], topics: ['billing'] },
  };
  const event = { event_name: 'TRANSCRIPTION_FINISHED', account_id: '12345', timestamp, metadata: { uniqueid, success: true, transcription: JSON.stringify(document) } };
  return { event, lines };
}

/** The turns of posted transcript messages: each part's lines after its heading. */
export function turnsPosted(bodies) {
  return bodies.slice(1).flatMap((body) => body.split('\n').slice(1).filter((line) => line !== ''));
}
