// Generated webhooks for the identity invariants, the same in every shell:
// parties of every class (numbers, withheld markers in any case, empty,
// missing, SMS sender names, short codes, junk of any length) and ids of 1
// to 2,000 characters, ASCII and multibyte, in every provider's events.
// Seeded, so a failure names the seed that reproduces it.

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MARKERS = ['anonymous', 'restricted', 'private', 'unknown', 'unavailable', 'withheld', '+0', '0', '', ' ', '+266696687', 'sip:anonymous@anonymous.invalid'];
const VOICE360 = [
  ['INCOMING_EXTERNAL_CALL', 'caller_id_number'], ['USER_ANSWER', 'caller_id_number'], ['CALL_ENDED', 'caller_id_number'],
  ['USER_DIAL', 'dialed_number'], ['USER_HANGUP', 'dialed_number'], ['QUEUE_ENTER', 'callerid_number'],
  ['QUEUE_MEMBER_ANSWER', 'caller_id_number'], ['QUEUE_HANGUP', 'caller_id_number'], ['QUEUE_NO_ANSWER', 'caller_id_number'],
  ['QUEUE_HANGUP_TIMEOUT', 'caller_id_number'], ['QUEUE_HANGUP_ABANDONED', 'caller_id_number'],
  ['SMS_RECEIVED', 'from_number'], ['SMS_SENT', 'to_number'],
];
const BIRD = ['starting', 'ongoing', 'completed', 'no-answer', 'busy', 'failed', 'cancelled'];
const VOLUBILE = ['COMPLETED', 'FAILED', 'NO_ANSWER', 'VOICE_BOX', 'UNREACHABLE', 'CANCELED', 'REJECTED', 'TRANSFERRED'];

/** The settings the generated run needs on top of a target's own. */
export const GENERATED_SETTINGS = { VOICE360_POST_EVENTS: VOICE360.map(([name]) => name).join(',') };

export function generator(seed) {
  const next = random(seed);
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (list) => list[int(0, list.length - 1)];
  const chars = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join('');
  const anyCase = (word) => [...word].map((c) => (next() < 0.5 ? c.toUpperCase() : c)).join('');
  const DIGITS = [...'0123456789'];
  const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];

  function party() {
    switch (int(0, 5)) {
      case 0: return { kind: 'number', text: (next() < 0.5 ? '+' : '') + pick(DIGITS.slice(1)) + chars(DIGITS, int(6, 13)) };
      case 1: return { kind: 'withheld', text: anyCase(pick(MARKERS)) };
      case 2: return { kind: 'withheld', text: undefined };
      case 3: return { kind: 'sender', text: pick(['ACME', 'Bank24', 'Shop.com', 'Alerts', 'DHL Express']) };
      case 4: return { kind: 'number', text: pick(DIGITS.slice(1)) + chars(DIGITS, int(2, 7)) };
      default: return { kind: 'junk', text: pick([() => '9'.repeat(int(16, 3000)), () => `+1555${chars(LETTERS, 6)}`, () => chars(LETTERS, int(12, 40)), () => '<b>x</b>'])() };
    }
  }

  function id() {
    const n = pick([int(1, 40), int(400, 2000), int(1, 600)]);
    return pick([() => chars([...'abcXYZ019.-_:'], n), () => chars([...'aé日本😀'], Math.min(n, 600))])();
  }

  const put = (object, key, p) => (p.text === undefined ? object : { ...object, [key]: p.text });

  function voice360(p, callId, at) {
    const [name, field] = pick(VOICE360);
    let metadata = put({}, field, p);
    let call;
    if (name.startsWith('SMS')) {
      metadata = { ...metadata, message_id: callId, body: 'hello 👋', [name === 'SMS_SENT' ? 'from_number' : 'to_number']: '+16501234567' };
      call = `sms:${callId}`;
    } else if (name.startsWith('QUEUE_NO') || name.startsWith('QUEUE_HANGUP_')) {
      metadata = { ...metadata, queue_id: callId };
      call = `queue:${callId}:${at}`;
    } else {
      metadata = { ...metadata, uniqueid: callId, to_user_id: '67890' };
      call = `call:${callId}`;
    }
    return { provider: 'voice360', party: p, call: `voice360:${call}`, payload: { event_name: name, account_id: '1', timestamp: 1704067200 + at, metadata } };
  }

  function bird(p, callId) {
    const inbound = next() < 0.5;
    const payload = put({ id: callId, status: pick(BIRD), direction: inbound ? 'incoming' : 'outgoing', createdAt: '2024-01-01T00:00:00Z' }, inbound ? 'from' : 'to', p);
    payload[inbound ? 'to' : 'from'] = '+31201234567';
    return { provider: 'bird', party: p, call: `bird:${callId}`, payload: { service: 'channels', event: inbound ? 'voice.inbound' : 'voice.outbound', payload } };
  }

  function volubile(p, callId) {
    const payload = put({ id: callId, status: pick(VOLUBILE), type: next() < 0.5 ? 'INBOUND' : 'OUTBOUND', duration: 30 }, 'phone', p);
    return { provider: 'volubile', party: p, call: `volubile:${callId}`, payload };
  }

  /** One webhook: `{ provider, party, call, payload }`. */
  return function webhook() {
    const p = party();
    const callId = id();
    return pick([() => voice360(p, callId, int(0, 3600)), () => bird(p, callId), () => volubile(p, callId)])();
  };
}

/**
 * Sends `count` generated webhooks through `send(provider, payload)` and
 * checks the invariants on each answer and on what reached Re:amaze
 * (`posted()`, cleared by `reset()`). Returns what it saw.
 */
export async function checkGenerated({ seed, count, send, posted, reset, assert }) {
  const webhook = generator(seed);
  const withheld = new Map();
  const seen = new Set();
  const classes = new Set();
  for (let i = 0; i < count; i += 1) {
    const w = webhook();
    const where = `seed ${seed}, webhook ${i} (${w.provider}, ${w.party.kind} ${JSON.stringify(w.party.text)?.slice(0, 40)})`;
    const first = !seen.has(w.call);
    seen.add(w.call);
    classes.add(`${w.provider}:${w.party.kind}`);
    reset();
    const res = await send(w.provider, w.payload);
    assert.ok(res.status < 500, `${where}: ${res.status} ${res.text}`);
    assert.ok(!/file:\/\/|__wbg|\n\s+at /.test(res.text), `${where}: the answer speaks of the runtime: ${res.text}`);
    if (w.party.kind === 'junk') {
      assert.equal(res.status, 400, `${where}: ${res.text}`);
      assert.equal(res.json.error, 'invalid_field', where);
      assert.ok(res.json.field, where);
      assert.equal(posted().length, 0, where);
      continue;
    }
    assert.ok([200, 202].includes(res.status), `${where}: ${res.status} ${res.text}`);
    const delivered = (res.json.messages ?? []).filter((m) => m.result === 'delivered').length;
    assert.equal(posted().length, delivered, `${where}: every accepted message delivered`);
    for (const message of posted()) {
      assert.ok(message.thread_id, `${where}: a post without thread_id`);
      const customer = message.direction === 'outbound' ? message.to : message.from;
      assert.ok(customer.phone, `${where}: a post without the customer's phone`);
      if (w.party.kind === 'withheld' && first) assert.match(customer.phone, /^withheld:/, where);
      if (customer.phone.startsWith('withheld:')) {
        for (const key of [`phone ${customer.phone}`, `thread ${message.thread_id}`]) {
          const calls = withheld.get(key) ?? new Set();
          calls.add(w.call);
          withheld.set(key, calls);
          assert.equal(calls.size, 1, `${where}: ${key} shared by ${[...calls].join(', ').slice(0, 200)}`);
        }
      }
    }
  }
  return { classes };
}
