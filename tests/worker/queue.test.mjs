// The Worker in queue mode (DELIVERIES and DEAD_LETTERS bound, as in
// wrangler.toml), inside workerd (Miniflare, which simulates Queues and KV),
// against a loopback Re:amaze stand-in that fails on purpose. Prints its
// counts; asserts that nothing is lost and nothing is posted twice.

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { reamazeSignature, startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, request, waitFor, webhook, workerTarget } from '../support/helpers.mjs';
import { longTranscription, turnsPosted } from '../support/transcript.mjs';

const ADMIN_TOKEN = 'admin-token-for-tests';
const WEBHOOKS = 300;
const RE_AMAZE_LATENCY_MS = 50;
/** The bridge's patience with Re:amaze (UPSTREAM_TIMEOUT_MS) in this run. */
const TIMEOUT_MS = 3000;

let reamaze;
let queued;
const logs = [];

before(async () => {
  reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  queued = await workerTarget({
    logs,
    queues: true,
    bindings: {
      REAMAZE_BASE_URL: reamaze.url,
      ADMIN_TOKEN,
      // Fast retries, so the run takes seconds rather than hours.
      QUEUE_RETRY_BASE_SECONDS: '1',
      QUEUE_RETRY_MAX_SECONDS: '2',
      QUEUE_MAX_ATTEMPTS: '15',
      UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
    },
  });
});

after(async () => {
  await queued?.close();
  await reamaze?.close();
});

beforeEach(() => {
  reamaze.reset();
  logs.length = 0;
});

const consumerLines = () =>
  logs.map((m) => {
    try {
      return JSON.parse(m);
    } catch {
      return null;
    }
  }).filter((l) => l?.queue === 'deliveries');

/**
 * What Re:amaze does with a message's first attempt, spread over the whole
 * run by a hash of its id: half succeed; of the rest, 503s, 429s, dropped
 * connections, and posts Re:amaze accepts only after the bridge has given up
 * waiting (the usual cause of duplicates).
 */
function firstAttempt(id) {
  const n = createHash('sha256').update(id).digest()[0] % 12;
  if (n < 6) return { kind: 'ok' };
  if (n < 8) return { kind: '503', answer: { status: 503, body: { error: 'temporarily unavailable' } } };
  if (n === 8) return { kind: '429', answer: { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'slow down' } } };
  if (n === 9) return { kind: 'dropped', answer: { hangUp: true } };
  if (n === 10) return { kind: 'late', answer: { delayMs: TIMEOUT_MS + 700 } };
  return { kind: 'ok' };
}

async function sendAll(mf, ids) {
  const answers = [];
  for (let i = 0; i < ids.length; i += 25) {
    answers.push(...(await Promise.all(ids.slice(i, i + 25).map((id) => webhook(mf, 'voice360', incomingCall(id))))));
  }
  return answers;
}

/**
 * Counts a run: each expected id accepted once is delivered; none is lost;
 * an id accepted more than once is a duplicate, unless its first post was
 * accepted after the bridge gave up (`late`), which no sender can avoid:
 * Re:amaze then receives the same `id` twice.
 */
function tally(acceptedIds, expected, late) {
  const counts = new Map();
  for (const id of acceptedIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  return {
    delivered: [...expected].filter((id) => counts.has(id)).length,
    lost: [...expected].filter((id) => !counts.has(id)),
    duplicated: twice.filter((id) => !late.has(id)),
    late_duplicates: twice.filter((id) => late.has(id)),
  };
}

test(`fault run: ${WEBHOOKS} webhooks through faults spread over the run, each delivered exactly once`, async () => {
  const ids = Array.from({ length: WEBHOOKS }, (_, i) => `fault.${i}`);
  const expected = new Set(ids.map((id) => `voice360:INCOMING_EXTERNAL_CALL:${id}`));
  const attempted = new Set();
  const faults = {};
  const late = new Set();
  reamaze.policy = ({ message }) => {
    if (!message || attempted.has(message.id)) return undefined;
    attempted.add(message.id);
    const { kind, answer } = firstAttempt(message.id);
    faults[kind] = (faults[kind] ?? 0) + 1;
    if (kind === 'late') late.add(message.id);
    return answer;
  };

  // A short span in the middle in which Re:amaze refuses connections.
  const answers = await sendAll(queued, ids.slice(0, (WEBHOOKS * 2) / 3));
  await reamaze.pause();
  const pausedAt = Date.now();
  answers.push(...(await sendAll(queued, ids.slice((WEBHOOKS * 2) / 3))));
  await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (Date.now() - pausedAt))));
  await reamaze.resume();
  const refusedFor = Date.now() - pausedAt;

  assert.ok(answers.every((a) => a.status === 202 && a.json.status === 'queued'), 'every webhook answered 202 queued');
  await waitFor(() => new Set(reamaze.accepted().map((r) => r.message.id)).size >= expected.size, 120_000, 'every message delivered');
  // Let any stray retry or duplicate surface before counting.
  await new Promise((r) => setTimeout(r, TIMEOUT_MS + 2000));

  const accepted = reamaze.accepted().map((r) => r.message.id);
  const counted = tally(accepted, expected, late);
  const lines = consumerLines();
  const report = {
    webhooks: WEBHOOKS,
    answered_202: answers.filter((a) => a.status === 202).length,
    first_attempts: faults,
    attempts_refused_connection: lines.filter((l) => l.outcome === 'retry' && l.upstream_status === null).length,
    refused_span_ms: refusedFor,
    retries: lines.filter((l) => l.outcome === 'retry').length,
    delivered: counted.delivered,
    lost: counted.lost.length,
    duplicated: counted.duplicated.length,
    late_duplicates: counted.late_duplicates.length,
    dead_letters: lines.filter((l) => l.outcome === 'dead_letter').length,
  };
  console.log(`fault run: ${JSON.stringify(report)}`);
  assert.ok(faults.ok >= WEBHOOKS / 3, 'many first attempts succeed, so a duplicate of them would show');
  assert.ok(faults['503'] > 0 && faults['429'] > 0 && faults.dropped > 0 && faults.late > 0, 'every fault happened');
  assert.deepEqual(counted.lost, [], 'none lost');
  assert.deepEqual(counted.duplicated, [], 'none duplicated');
  assert.equal(report.dead_letters, 0);
  assert.ok(reamaze.accepted().every((r) => r.signatureValid), 'signed at send time with the channel secret');

  // The count catches a partial duplicate: a consumer that posted every
  // tenth message twice would fail the run.
  const posted = reamaze.accepted().filter((r) => !late.has(r.message.id)).filter((_, i) => i % 10 === 0);
  for (const { raw } of posted) {
    const res = await fetch(`${reamaze.url}/incoming/voice`, { method: 'POST', body: raw, headers: { 'X-Reamaze-Hmac-SHA256': reamazeSignature(SECRETS.REAMAZE_VOICE_SECRET, raw) } });
    assert.equal(res.status, 200);
  }
  const withRogue = tally(reamaze.accepted().map((r) => r.message.id), expected, late);
  assert.equal(withRogue.duplicated.length, posted.length, 'every duplicated message is counted');
  assert.ok(posted.length >= WEBHOOKS / 12, `${posted.length} duplicated`);
});

test("a two-hour call's transcript (about 2.6 MB) reaches Re:amaze whole through the queue: the recap, then numbered parts", async () => {
  assert.equal((await webhook(queued, 'voice360', incomingCall('long.queue'))).status, 202);
  const { event, lines } = longTranscription('long.queue', 120, 1704074500);
  const body = JSON.stringify(event);
  assert.ok(body.length > 2_400_000, `${body.length} bytes`);
  const answer = await webhook(queued, 'voice360', body);
  assert.equal(answer.status, 202, answer.text);
  const parts = answer.json.messages.length;
  assert.ok(parts >= 5, `${parts} messages`);
  const posted = () => reamaze.accepted().filter((r) => r.message.thread_id === 'voice360:long.queue' && r.message.id.includes('TRANSCRIPTION'));
  await waitFor(() => posted().length >= parts, 30_000, 'every part delivered');
  const bodies = answer.json.messages.map(({ id }) => posted().find((r) => r.message.id === id).message.body);
  assert.match(bodies[0], /^Call transcript \(2:00:00\)\nSummary: A long call about an invoice\./);
  bodies.slice(1).forEach((b, k) => assert.ok(b.startsWith(`Call transcript, part ${k + 1} of ${parts - 1}\n`), b.slice(0, 60)));
  assert.ok(bodies.every((b) => [...b].length <= 20_000));
  assert.deepEqual(turnsPosted(bodies), lines, 'every turn, whole and in order');
});

test('a message Re:amaze refuses is a dead letter, and replays once Re:amaze accepts', async () => {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  reamaze.policy = () => ({ status: 400, body: { error: 'phone number is invalid' } });
  assert.equal((await webhook(queued, 'voice360', incomingCall('dead.1'))).status, 202);
  let listed;
  await waitFor(() => consumerLines().some((l) => l.outcome === 'dead_letter'), 20_000, 'the dead letter');
  await waitFor(() => logs.some((m) => m.includes('"queue":"dead_letters"')), 20_000, 'the dead letter kept');
  listed = await request(queued, '/admin/dead-letters', { method: 'GET', headers: admin });
  assert.equal(listed.status, 200, listed.text);
  const [dead] = listed.json.dead_letters.filter((d) => d.queued.message.id === 'voice360:INCOMING_EXTERNAL_CALL:dead.1');
  assert.ok(dead, listed.text);
  assert.equal(dead.attempts, 1, 'a refusal is not retried');
  assert.equal(dead.upstream_status, 400);
  assert.match(dead.last_error, /phone number is invalid/);

  reamaze.policy = null;
  const replay = await request(queued, '/admin/dead-letters/replay', { headers: admin, body: JSON.stringify({ ids: [dead.queued.message.id] }) });
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.replayed, 1);
  await waitFor(() => reamaze.accepted().some((r) => r.message.id === dead.queued.message.id), 20_000, 'the replayed delivery');
  const after = await request(queued, '/admin/dead-letters', { method: 'GET', headers: admin });
  assert.ok(!after.json.dead_letters.some((d) => d.queued.message.id === dead.queued.message.id), 'no longer a dead letter');
});

test('600-character Voice360 and Bird ids: posted once, and as dead letters listed and replayed', async () => {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const long = (tag) => `${tag}.${'x'.repeat(600)}`;
  const birdCall = { service: 'channels', event: 'voice.inbound', payload: { id: long('bird'), direction: 'incoming', status: 'starting', from: '+31612345678', to: '+31201234567', createdAt: '2026-03-02T09:15:00Z' } };
  const ids = [`voice360:INCOMING_EXTERNAL_CALL:${long('v360')}`, `bird:${long('bird')}:starting`];
  reamaze.policy = () => ({ status: 400, body: { error: 'refused for the test' } });
  assert.equal((await webhook(queued, 'voice360', incomingCall(long('v360')))).status, 202);
  assert.equal((await webhook(queued, 'bird', birdCall)).status, 202);
  await waitFor(() => logs.filter((m) => m.includes('"queue":"dead_letters"') && m.includes('"kept"')).length >= 2, 20_000, 'both dead letters kept');
  const listed = await request(queued, '/admin/dead-letters', { method: 'GET', headers: admin });
  const letters = listed.json.dead_letters.filter((d) => ids.includes(d.queued.message.id));
  assert.equal(letters.length, 2, listed.text.slice(0, 500));

  reamaze.policy = null;
  const replay = await request(queued, '/admin/dead-letters/replay', { headers: admin, body: JSON.stringify({ ids }) });
  assert.equal(replay.json.replayed, 2, replay.text.slice(0, 500));
  await waitFor(() => ids.every((id) => reamaze.accepted().some((r) => r.message.id === id)), 20_000, 'both replayed');
  for (const line of logs) assert.ok(!/file:\/\/|__wbg|\n\s+at /.test(line), `a log line speaks of the runtime: ${line.slice(0, 300)}`);
  // A copy of each, now: duplicates, nothing posted again.
  reamaze.reset();
  assert.equal((await webhook(queued, 'voice360', incomingCall(long('v360')))).json.status, 'duplicate');
  assert.equal(reamaze.received.length, 0);
});

test('the admin routes need the bearer token', async () => {
  for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: ADMIN_TOKEN }]) {
    const res = await request(queued, '/admin/dead-letters', { method: 'GET', headers });
    assert.equal(res.status, 401);
    assert.ok(!res.text.includes(ADMIN_TOKEN));
  }
  const replay = await request(queued, '/admin/dead-letters/replay', { headers: { Authorization: 'Bearer nope' } });
  assert.equal(replay.status, 401);
});

test('time to answer the sender: queue mode beside sync mode, same run', async () => {
  const sync = await workerTarget({ bindings: { REAMAZE_BASE_URL: reamaze.url } });
  try {
    reamaze.policy = () => ({ delayMs: RE_AMAZE_LATENCY_MS });
    const timeIt = async (mf, prefix) => {
      const times = [];
      for (let i = 0; i < 60; i += 1) {
        const started = process.hrtime.bigint();
        const res = await webhook(mf, 'voice360', incomingCall(`${prefix}.${i}`));
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        assert.ok(res.status === 200 || res.status === 202, res.text);
      }
      times.sort((a, b) => a - b);
      const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
      return { p50: at(0.5), p95: at(0.95) };
    };
    const syncTimes = await timeIt(sync, 'time.sync');
    const queueTimes = await timeIt(queued, 'time.queue');
    console.log(
      `time to answer (ms, 60 webhooks each, Re:amaze answering in ${RE_AMAZE_LATENCY_MS} ms): ` +
        `sync p50 ${syncTimes.p50} p95 ${syncTimes.p95} | queue p50 ${queueTimes.p50} p95 ${queueTimes.p95}`,
    );
  } finally {
    await sync.close();
  }
});
