// The bridge's behaviour over HTTP, the same for every shell that serves
// the HTTP contract: `behaviourSuite(name, makeTarget)` runs it against a
// target (see helpers.mjs), with loopback stand-ins for Re:amaze and
// Voice360. Webhooks are signed with node:crypto; expected messages come
// from the shared vectors.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startReamaze, startVoice360 } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, providerNames, sign, unusedPort, vectors, webhook as signedWebhook } from './helpers.mjs';
import { assertHostileAnswer, hostile, hostileRequest } from './hostile.mjs';
import { longTranscription, turnsPosted } from './transcript.mjs';
import { GENERATED_SETTINGS, checkGenerated } from './generated.mjs';

// The generated run's seed: GENERATED_SEED=<n> repeats a run a failure names.
const GENERATED_SEED = Number(process.env.GENERATED_SEED ?? Date.now() % 1_000_000);

const vectorCase = (file, name) => vectors(file).find((c) => c.name === name) ?? assert.fail(`no vector ${name}`);
export const TIMEOUT_MS = 800;

/**
 * `makeTarget({ bindings, logs })` starts the bridge under test. Returns a
 * handle whose `target`, `logs`, `reamaze` and `voice360` are set once the
 * suite's `before` has run, for shell-specific tests beside the suite.
 */
export function behaviourSuite(name, makeTarget) {
  const handle = { target: null, logs: [], reamaze: null, voice360: null };
  let target;
  let reamaze;
  let voice360;

  const options = (overrides = {}) => ({
    logs: handle.logs,
    bindings: {
      REAMAZE_BASE_URL: reamaze.url,
      VOICE360_API_BASE: `${voice360.url}/v3/voice`,
      VOICE360_ACCOUNT_ID: '61',
      SMS_CHANNEL_NUMBER: '+15559876543',
      VOLUBILE_NUMBER: '+33100000000',
      UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      ...hostile.settings,
      ...overrides,
    },
  });

  before(async () => {
    reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
    voice360 = await startVoice360({ apiKey: SECRETS.VOICE360_API_KEY, accountId: '61' });
    target = await makeTarget(options());
    Object.assign(handle, { target, reamaze, voice360 });
  });

  after(async () => {
    await target?.close();
    await reamaze?.close();
    await voice360?.close();
  });

  beforeEach(() => {
    reamaze.reset();
    voice360.reset();
    handle.logs.length = 0;
  });

  const post = (path, body, headers = {}, method = 'POST') => target.request(path, { method, body, headers });
  const webhook = (provider, payload) => signedWebhook(target, provider, payload);
  const staffReply = (payload) => {
    const body = JSON.stringify(payload);
    return post('/webhooks/reamaze/sms', body, { 'content-type': 'application/json', ...sign.reamaze(body) });
  };

  describe(name, () => {
  describe('each provider reaches Re:amaze once, signed, with the expected message', () => {
    const cases = [
      ['voice360', 'voice360', 'INCOMING_EXTERNAL_CALL'],
      ['voice360', 'voice360', 'SMS_RECEIVED'],
      ['bird', 'bird', 'incoming, completed with its duration'],
      ['bird', 'bird', 'incoming, no-answer: missed, with the number called and how long the caller waited (createdAt to endedAt)'],
      ['voice360', 'voice360', 'CALL_ENDED, nobody answered: reads as missed, with the number called and how long the caller waited'],
      ['volubile', 'volubile', 'the reference payload: outcome, summary, classifiers, extracted data; the customer named by the extracted first and last names'],
    ];
    for (const [file, provider, name] of cases) {
      test(`${provider}: ${name}`, async () => {
        const vector = vectorCase(file, name);
        const res = await webhook(provider, vector.payload);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.status, 'delivered');
        const accepted = reamaze.accepted();
        assert.equal(accepted.length, 1, 'posted exactly once');
        const [want] = vector.expect.messages;
        assert.equal(accepted[0].channel, want.channel, 'the right endpoint');
        assert.ok(accepted[0].signatureValid, 'X-Reamaze-Hmac-SHA256 verifies with the channel secret');
        assert.deepEqual(accepted[0].message, want.message);
      });
    }
  });

  describe('every kind of party, as the identity vectors say (tests/vectors/identity_cases.py)', () => {
    const identity = (file) => vectors(file).filter((c) => c.source === 'identity_cases.py');
    for (const c of providerNames().flatMap(identity)) {
      test(`${c.provider}: ${c.name}`, async () => {
        const joins = c.settings?.VOICE_THREAD_MINUTES;
        if (joins) await target.reconfigure(options({ VOICE_THREAD_MINUTES: joins }).bindings);
        try {
          for (const earlier of c.before ?? []) assert.ok([200, 202].includes((await webhook(c.provider, earlier)).status));
          reamaze.reset();
          const res = await webhook(c.provider, c.payload);
          if (c.expect.error) {
            assert.equal(res.status, c.expect.error.status, res.text);
            assert.equal(res.json.error, c.expect.error.code);
            assert.equal(res.json.field, c.expect.error.field);
            assert.equal(reamaze.received.length, 0, 'nothing reached Re:amaze');
          } else {
            assert.equal(res.status, 200, res.text);
            assert.deepEqual(reamaze.accepted().map((m) => m.message), c.expect.messages.map((m) => m.message));
          }
        } finally {
          if (joins) await target.reconfigure(options().bindings);
        }
      });
    }
    // The replies' vectors name +16501234567 as the channel; here it is SMS_CHANNEL_NUMBER's.
    for (const c of identity('reamaze-reply')) {
      test(`staff reply: ${c.name}`, async () => {
        const payload = JSON.parse(JSON.stringify(c.payload).replaceAll('+16501234567', options().bindings.SMS_CHANNEL_NUMBER));
        const res = await staffReply(payload);
        assert.equal(res.status, c.expect.error.status, res.text);
        assert.equal(res.json.error, c.expect.error.code);
        assert.equal(voice360.received.length, 0, 'no SMS was sent');
      });
    }
  });

  test('generated parties and ids: never a 5xx, every message delivered in a conversation, no withheld strangers merged', { timeout: 120_000 }, async () => {
    await target.reconfigure(options(GENERATED_SETTINGS).bindings);
    try {
      const { classes } = await checkGenerated({
        seed: GENERATED_SEED,
        count: 150,
        send: webhook,
        posted: () => reamaze.accepted().map((m) => m.message),
        reset: () => reamaze.reset(),
        assert,
      });
      for (const provider of providerNames()) {
        for (const kind of ['number', 'withheld', 'sender', 'junk']) assert.ok(classes.has(`${provider}:${kind}`), `generated no ${kind} for ${provider}`);
      }
    } finally {
      await target.reconfigure(options().bindings);
    }
  });

  test("a queue's rings are acknowledged as ignored and not posted, by default", async () => {
    for (const event of ['QUEUE_MEMBER_DIAL', 'QUEUE_MEMBER_DIAL_HANGUP']) {
      const vector = vectors('voice360').find((c) => c.name.startsWith(`${event} at the default VOICE360_POST_EVENTS`));
      const payload = { ...vector.payload, metadata: { ...vector.payload.metadata, uniqueid: 'rings.1' } };
      const res = await webhook('voice360', payload);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.status, 'ignored');
      assert.equal(res.json.reason, vector.expect.ignored);
    }
    assert.equal(reamaze.received.length, 0, 'nothing reached Re:amaze');
  });

  describe('bad requests get their status and deliver nothing', () => {
    const body = JSON.stringify(incomingCall('bad.1'));
    const cases = [
      ['a bad signature', () => post('/webhooks/voice360', body, { 'X-Voice360-Signature': `sha256=${'0'.repeat(64)}` }), 401, 'signature_mismatch'],
      ['a missing signature header', () => post('/webhooks/voice360', body), 401, 'missing_signature'],
      ['malformed JSON', () => webhook('voice360', '{"event_name": "CALL_'), 400, 'invalid_json'],
      ['a missing required field', () => webhook('voice360', { account_id: '12345', timestamp: 1704067200, metadata: {} }), 400, 'missing_field'],
      ['a number no network could use', () => webhook('voice360', incomingCall('bad.3', { caller_id_number: '9'.repeat(3000) })), 400, 'invalid_field'],
      ['an oversize body', () => webhook('voice360', JSON.stringify({ pad: 'x'.repeat(70_000) })), 413, 'body_too_large'],
      ['an unknown route', () => post('/webhooks/twilio', body), 404, 'not_found'],
      ['a wrong method', () => post('/webhooks/voice360', null, {}, 'GET'), 405, 'method_not_allowed'],
      ['a stale Bird timestamp', () => post('/webhooks/bird', '{}', sign.bird('{}', `${target.base}/webhooks/bird`, Math.floor(Date.now() / 1000) - 200_000)), 401, 'timestamp_too_old'],
    ];
    for (const [name, send, status, code] of cases) {
      test(name, async () => {
        const res = await send();
        assert.equal(res.status, status, res.text);
        assert.equal(res.json.error, code);
        assert.equal(reamaze.received.length, 0, 'nothing reached Re:amaze');
      });
    }
    test('a wrong method says which is allowed', async () => {
      const res = await post('/webhooks/bird', null, {}, 'GET');
      assert.equal(res.headers.get('allow'), 'POST');
    });
  });

  describe('hostile requests (tests/vectors/hostile.json) get their answer and change nothing', () => {
    for (const testCase of hostile.cases) {
      test(testCase.name, async () => {
        const { path, body, headers } = hostileRequest(testCase, target.base, { ...SECRETS, ...options().bindings });
        const res = await target.request(path, { body, headers });
        assertHostileAnswer(testCase, res, SECRETS);
        assert.equal(reamaze.received.length + voice360.received.length, 0, 'nothing reached Re:amaze or Voice360');
      });
    }
  });

  describe("Re:amaze's answers give the sender the right status", () => {
    test('503 with Retry-After: 503 with that Retry-After; the retry delivers', async () => {
      reamaze.respond({ status: 503, headers: { 'Retry-After': '30' }, body: { error: 'maintenance' } });
      const res = await webhook('voice360', incomingCall('up.503'));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '30');
      assert.match(res.json.message, /maintenance/);
      const retry = await webhook('voice360', incomingCall('up.503'));
      assert.equal(retry.status, 200);
      assert.equal(reamaze.accepted().length, 1);
    });
    test('429: 503 with its Retry-After', async () => {
      reamaze.respond({ status: 429, headers: { 'Retry-After': '7' }, body: { error: 'rate limited' } });
      const res = await webhook('voice360', incomingCall('up.429'));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '7');
    });
    test('400: 502, saying what Re:amaze said', async () => {
      reamaze.respond({ status: 400, body: { error: 'phone is invalid' } });
      const res = await webhook('voice360', incomingCall('up.400'));
      assert.equal(res.status, 502);
      assert.equal(res.json.error, 'reamaze_refused');
      assert.match(res.json.upstream.body, /phone is invalid/);
    });
    test('no answer in time: 503', async () => {
      reamaze.respond({ delayMs: TIMEOUT_MS * 3 });
      const started = Date.now();
      const res = await webhook('voice360', incomingCall('up.slow'));
      assert.equal(res.status, 503);
      assert.match(res.json.message, /did not answer within/);
      assert.ok(Date.now() - started < TIMEOUT_MS * 3, 'gave up at the timeout, not when the answer came');
    });
    test('an answer whose body never ends: 503 at the timeout', async () => {
      reamaze.respond({ stallBody: true });
      const started = Date.now();
      const res = await webhook('voice360', incomingCall('up.stall'));
      assert.equal(res.status, 503);
      assert.match(res.json.message, /did not answer within/);
      assert.ok(Date.now() - started < TIMEOUT_MS * 3, 'gave up at the timeout');
    });
    test('a dropped connection: 503', async () => {
      reamaze.respond({ hangUp: true });
      const res = await webhook('voice360', incomingCall('up.hangup'));
      assert.equal(res.status, 503);
    });
    test('a refused connection: 503', async () => {
      const closed = await unusedPort();
      await target.reconfigure(options({ REAMAZE_BASE_URL: `http://127.0.0.1:${closed}` }).bindings);
      try {
        const res = await webhook('voice360', incomingCall('up.refused'));
        assert.equal(res.status, 503, res.text);
        assert.equal(res.json.error, 'reamaze_unavailable');
      } finally {
        await target.reconfigure(options().bindings);
      }
    });
  });

  describe('staff replies', () => {
    const reply = (body) => ({ to: { name: 'Support', phone: '+15559876543' }, from: { name: 'Ann', phone: '+15551234567' }, body, thread_id: 't' });
    const long = 'Your replacement has shipped. '.repeat(8).trim(); // 239 characters: two parts

    test('200 only when Voice360 accepted every part', async () => {
      const res = await staffReply(reply(long));
      assert.equal(res.status, 200, res.text);
      const sent = voice360.accepted().map((r) => r.sms);
      assert.equal(sent.length, 2);
      assert.deepEqual(sent.map((s) => [s.from, s.to]), [['+15559876543', '+15551234567'], ['+15559876543', '+15551234567']]);
      assert.equal(sent.map((s) => s.message).join(' '), long);
      assert.ok(voice360.received.every((r) => r.apiKey === SECRETS.VOICE360_API_KEY));
    });
    test('a refused part: 502 with what Voice360 said', async () => {
      voice360.respond({ status: 400, body: { result: null, error: true, message: 'Number not SMS-capable' } });
      const res = await staffReply(reply('Hello again'));
      assert.equal(res.status, 502);
      assert.match(res.json.message, /Number not SMS-capable/);
    });
    test('a 2xx that says error:true: 502', async () => {
      voice360.respond({ status: 200, body: { result: null, error: true, message: 'Insufficient credit' } });
      const res = await staffReply(reply('Hello a third time'));
      assert.equal(res.status, 502);
    });
    test('a temporary failure on the second part: 503, and the retry sends only that part', async () => {
      voice360.respond({}, { status: 500, body: { error: true, message: 'INTERNAL_ERROR' } });
      const payload = reply(`${long} (second try)`);
      const res = await staffReply(payload);
      assert.equal(res.status, 503);
      assert.equal(voice360.accepted().length, 1);
      const retry = await staffReply(payload);
      assert.equal(retry.status, 200);
      assert.equal(voice360.accepted().length, 2);
    });
    test('Voice360 not answering in time: 503', async () => {
      voice360.respond({ delayMs: TIMEOUT_MS * 3 });
      const res = await staffReply(reply('Are you there?'));
      assert.equal(res.status, 503);
    });
    test("Voice360's SMS_SENT echo of the reply is not posted back to Re:amaze", async () => {
      const text = 'Your order is ready for pickup';
      assert.equal((await staffReply(reply(text))).status, 200);
      const echo = { event_name: 'SMS_SENT', account_id: '12345', timestamp: 1704067300,
        metadata: { from_number: '+15559876543', to_number: ['+15551234567'], body: text, message_id: 'echo-1' } };
      const res = await webhook('voice360', echo);
      assert.equal(res.status, 200);
      assert.equal(res.json.status, 'ignored');
      assert.equal(reamaze.received.length, 0);
    });
  });

  describe('overlapping copies go out once (the sender retries while its first attempt runs)', () => {
    test('20 copies of one Voice360 event: one post; the rest are told to retry, and their retries are duplicates', async () => {
      // Re:amaze holds the first post, so copies overlap it; well inside the
      // upstream timeout, which a busy machine must not reach. Some copies
      // come after it, and are duplicates: when each arrives is the
      // machine's, what each is told is the bridge's.
      reamaze.respond({ delayMs: 300 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => webhook('voice360', incomingCall('overlap.20'))));
      assert.equal(reamaze.received.length, 1, 'posted once');
      const told = (word) => answers.filter((a) => (a.json.error ?? a.json.status) === word);
      const texts = answers.map((a) => a.text).join('\n');
      assert.equal(told('delivered').length, 1, texts);
      assert.ok(told('in_progress').length >= 1, `some copies overlapped the post: ${texts}`);
      assert.equal(told('delivered').length + told('in_progress').length + told('duplicate').length, 20, texts);
      assert.ok(told('in_progress').every((a) => a.status === 503 && a.headers.get('retry-after')));
      assert.ok(told('duplicate').every((a) => a.status === 200));
      const retry = await webhook('voice360', incomingCall('overlap.20'));
      assert.equal(retry.json.status, 'duplicate');
      assert.equal(reamaze.received.length, 1);
    });
    test('5 copies of one signed staff reply: each SMS part sent once', async () => {
      voice360.respond({ delayMs: 300 });
      const payload = { to: { phone: '+15559876543' }, from: { phone: '+15551234567' }, body: 'Your parcel left the depot this morning. '.repeat(5).trim() };
      const answers = await Promise.all(Array.from({ length: 5 }, () => staffReply(payload)));
      const parts = voice360.received.length;
      assert.equal(parts, 2, 'two parts, each sent once');
      // A copy that comes once the SMS went out is told it was sent (200).
      const texts = answers.map((a) => a.text).join('\n');
      assert.ok(answers.some((a) => a.status === 200), texts);
      assert.ok(answers.some((a) => a.status === 503), `some copies overlapped the send: ${texts}`);
      assert.ok(answers.filter((a) => a.status !== 200).every((a) => a.status === 503 && a.json.error === 'in_progress'), texts);
      const retry = await staffReply(payload);
      assert.equal(retry.status, 200, retry.text);
      assert.equal(voice360.received.length, parts, 'the retry sends nothing again');
    });
  });

  test('a repeated delivery is posted once', async () => {
    const first = await webhook('voice360', incomingCall('dup.1'));
    const second = await webhook('voice360', incomingCall('dup.1'));
    assert.equal(first.json.status, 'delivered');
    assert.equal(second.status, 200);
    assert.equal(second.json.status, 'duplicate');
    assert.equal(reamaze.accepted().length, 1);
  });

  test('a transcription is placed through the call parties kept in KV', async () => {
    const vector = vectorCase('voice360', 'TRANSCRIPTION_FINISHED with the documented transcription shape, placed through the remembered parties');
    assert.equal((await webhook('voice360', vector.before[0])).status, 200);
    const res = await webhook('voice360', vector.payload);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(reamaze.accepted().at(-1).message, vector.expect.messages[0].message);
  });

  test("a transcription before its call is held (202), then posted with the call's first event", async () => {
    const held = vectorCase('voice360', "a held transcription is posted with the first event of its call, after that event's own message");
    const first = await webhook('voice360', held.before[0]);
    assert.equal(first.status, 202, first.text);
    assert.equal(first.json.status, 'held');
    assert.equal(reamaze.received.length, 0, 'nothing posted while the call is unknown');
    const res = await webhook('voice360', held.payload);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(reamaze.accepted().map((r) => r.message), held.expect.messages.map((m) => m.message));
    const again = await webhook('voice360', { ...held.payload, event_name: 'USER_ANSWER', metadata: { ...held.payload.metadata, to_user_id: '67890' } });
    assert.equal(again.status, 200, again.text);
    assert.equal(reamaze.accepted().length, 3, 'the held transcription is posted once');
  });

  test('held transcriptions are listed for operators, with the token', async () => {
    const transcription = { ...vectorCase('voice360', "a held transcription is posted with the first event of its call, after that event's own message").before[0] };
    transcription.metadata = { ...transcription.metadata, uniqueid: 'held.listed' };
    await target.reconfigure(options({ ADMIN_TOKEN: 'held-admin-token' }).bindings);
    try {
      assert.equal((await webhook('voice360', transcription)).status, 202);
      const listed = await post('/admin/held', null, { Authorization: 'Bearer held-admin-token' }, 'GET');
      assert.equal(listed.status, 200, listed.text);
      assert.ok(listed.json.held.some((h) => h.provider === 'voice360' && h.call_id === 'held.listed'), listed.text);
      const refused = await post('/admin/held', null, { Authorization: 'Bearer wrong' }, 'GET');
      assert.equal(refused.status, 401, refused.text);
    } finally {
      await target.reconfigure(options().bindings);
    }
  });

    describe('settings as deployments write them', () => {
      const reconfigured = async (overrides, run) => {
        await target.reconfigure(options(overrides).bindings);
        try {
          await run();
        } finally {
          await target.reconfigure(options().bindings);
        }
      };
      test("Voice360's documented setup: a secret for each of its 20 event types, at the defaults", async () => {
        const secrets = Array.from({ length: 20 }, (_, i) => `v360-event-${i}`);
        await reconfigured({ VOICE360_WEBHOOK_SECRETS: secrets.join(',') }, async () => {
          for (const [i, secret] of secrets.entries()) {
            const body = JSON.stringify(incomingCall(`many.${i}`));
            const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
            const res = await post('/webhooks/voice360', body, { 'X-Voice360-Signature': signature });
            assert.equal(res.status, 200, `secret ${i}: ${res.text}`);
          }
          assert.equal(reamaze.accepted().length, 20);
        });
      });
      test("a two-hour call's transcript (about 2.6 MB) at the default size limit: posted whole, the recap then numbered parts", async () => {
        await reconfigured({ MAX_BODY_BYTES: '' }, async () => {
          assert.equal((await webhook('voice360', incomingCall('long.sync'))).status, 200);
          const { event, lines } = longTranscription('long.sync', 120, 1704074500);
          const res = await webhook('voice360', event);
          assert.equal(res.status, 200, res.text);
          const bodies = reamaze.accepted().slice(1).map((r) => r.message.body);
          assert.match(bodies[0], /^Call transcript \(2:00:00\)\nSummary: A long call about an invoice\./);
          assert.ok(bodies.length >= 5 && bodies.every((b) => [...b].length <= 20_000), `${bodies.length} messages`);
          bodies.slice(1).forEach((b, k) => assert.ok(b.startsWith(`Call transcript, part ${k + 1} of ${bodies.length - 1}\n`)));
          assert.deepEqual(turnsPosted(bodies), lines, 'every turn, whole and in order');
          assert.equal((await webhook('voice360', event)).json.status, 'duplicate', 'a redelivery posts nothing');
        });
      });
      test("the agent's view: agents named and assigned, the voice channel's number, card numbers masked", async () => {
        const names = [
          'USER_ANSWER by an agent of VOICE360_AGENTS, call not seen before: named, assigned, and the channel side is VOICE_CHANNEL_NUMBER',
          'CALL_ENDED after USER_ANSWER by a known agent: the remembered agent names and assigns it',
          'SMS_SENT by a known agent: sent by their name, assigned to them',
          'SMS_RECEIVED with a card number: masked but for its last four, the rest of the text as it was',
        ];
        // Fresh call and message ids, so that what the store remembers from
        // other tests (the same ids in other vectors) does not meet these.
        const fresh = (vector) =>
          JSON.parse(JSON.stringify(vector).replaceAll('1704067200.12345', '1704067200.agents').replaceAll('msg_', 'msg_agents_'));
        const cases = names.map((name) => fresh(vectorCase('voice360', name)));
        await reconfigured(cases[0].settings, async () => {
          for (const vector of cases) {
            reamaze.reset();
            for (const earlier of vector.before ?? []) assert.equal((await webhook('voice360', earlier)).status, 200);
            const res = await webhook('voice360', vector.payload);
            assert.equal(res.status, 200, res.text);
            const posted = reamaze.accepted().at(-1);
            assert.ok(posted.signatureValid);
            assert.deepEqual(posted.message, vector.expect.messages[0].message, vector.name);
          }
        });
      });
      test('a setting that cannot be used turns off only its provider, and /healthz names it', async () => {
        const tooMany = Array.from({ length: 41 }, (_, i) => `k${i}`).join(',');
        await reconfigured({ VOLUBILE_WEBHOOK_SECRETS: tooMany }, async () => {
          const health = await post('/healthz', null, {}, 'GET');
          assert.equal(health.status, 200, health.text);
          assertProviders(health.json.providers, { voice360: true, bird: true, volubile: false });
          assert.deepEqual(health.json.invalid_settings.map((s) => s.setting), ['VOLUBILE_WEBHOOK_SECRETS']);
          assert.ok(!health.text.includes('k40'), 'no secret in /healthz');
          const off = await post('/webhooks/volubile', '{}', { 'X-Webhook-Signature': '00' });
          assert.equal(off.status, 503, off.text);
          assert.equal(off.json.error, 'invalid_setting');
          assert.match(off.json.message, /VOLUBILE_WEBHOOK_SECRETS/);
          const on = await webhook('voice360', incomingCall('still.on'));
          assert.equal(on.status, 200, 'Voice360 keeps working');
        });
      });
    });

    test('GET /healthz says what is configured, and no secret', async () => {
      const health = await post('/healthz', null, {}, 'GET');
      assert.equal(health.status, 200);
      assertProviders(health.json.providers, { voice360: true, bird: true, volubile: true });
      for (const secret of Object.values(SECRETS).flatMap((s) => s.split(','))) {
        assert.ok(!health.text.includes(secret), 'no secret in /healthz');
      }
    });
  });

  return handle;
}

/** `/healthz`'s providers: every provider of the registry, in its order; those named here as given. */
function assertProviders(listed, expected) {
  assert.deepEqual(Object.keys(listed), providerNames(), 'every provider, in the registry\'s order');
  for (const [name, ready] of Object.entries(expected)) assert.equal(listed[name], ready, name);
}
