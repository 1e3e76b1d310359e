// The Worker in queue mode (DELIVERIES and DEAD_LETTERS bound, as in
// wrangler.toml), inside workerd (Miniflare, which simulates Queues and KV),
// against a loopback Re:amaze stand-in that fails on purpose. Prints its
// counts; asserts that nothing is lost and nothing is posted twice.

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, request, waitFor, webhook, workerTarget } from '../support/helpers.mjs';

const ADMIN_TOKEN = 'admin-token-for-tests';
const WEBHOOKS = 300;
const RE_AMAZE_LATENCY_MS = 50;

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
      UPSTREAM_TIMEOUT_MS: '3000',
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

/** Whether a message's first attempt fails, and how: a fixed third 503, a twelfth 429. */
function firstAttemptFault(id) {
  const n = createHash('sha256').update(id).digest()[0] % 12;
  if (n < 4) return { status: 503, body: { error: 'temporarily unavailable' } };
  if (n === 4) return { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'slow down' } };
  return undefined;
}

async function sendAll(mf, ids) {
  const answers = [];
  for (let i = 0; i < ids.length; i += 25) {
    answers.push(...(await Promise.all(ids.slice(i, i + 25).map((id) => webhook(mf, 'voice360', incomingCall(id))))));
  }
  return answers;
}

test(`fault run: ${WEBHOOKS} webhooks through 503s, 429s and refused connections, each delivered exactly once`, async () => {
  const ids = Array.from({ length: WEBHOOKS }, (_, i) => `fault.${i}`);
  const expected = new Set(ids.map((id) => `voice360:INCOMING_EXTERNAL_CALL:${id}`));
  const attempted = new Set();
  let faults503 = 0;
  let faults429 = 0;
  reamaze.policy = ({ message }) => {
    if (!message || attempted.has(message.id)) return undefined;
    attempted.add(message.id);
    const fault = firstAttemptFault(message.id);
    if (fault?.status === 503) faults503 += 1;
    if (fault?.status === 429) faults429 += 1;
    return fault;
  };

  const answers = await sendAll(queued, ids.slice(0, WEBHOOKS / 2));
  // A span in which Re:amaze refuses connections, while webhooks keep coming.
  await reamaze.pause();
  const pausedAt = Date.now();
  answers.push(...(await sendAll(queued, ids.slice(WEBHOOKS / 2))));
  await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - pausedAt))));
  await reamaze.resume();
  const refusedFor = Date.now() - pausedAt;

  assert.ok(answers.every((a) => a.status === 202 && a.json.status === 'queued'), 'every webhook answered 202 queued');
  await waitFor(() => new Set(reamaze.accepted().map((r) => r.message.id)).size >= expected.size, 120_000, 'every message delivered');
  // Let any stray retry or duplicate surface before counting.
  await new Promise((r) => setTimeout(r, 2500));

  const accepted = reamaze.accepted().map((r) => r.message.id);
  const counts = new Map();
  for (const id of accepted) counts.set(id, (counts.get(id) ?? 0) + 1);
  const lost = [...expected].filter((id) => !counts.has(id));
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const lines = consumerLines();
  const refused = lines.filter((l) => l.outcome === 'retry' && l.upstream_status === null).length;
  const report = {
    webhooks: WEBHOOKS,
    answered_202: answers.filter((a) => a.status === 202).length,
    first_attempts_503: faults503,
    first_attempts_429: faults429,
    attempts_refused_connection: refused,
    refused_span_ms: refusedFor,
    retries: lines.filter((l) => l.outcome === 'retry').length,
    delivered: counts.size,
    lost: lost.length,
    duplicated: duplicated.length,
    dead_letters: lines.filter((l) => l.outcome === 'dead_letter').length,
  };
  console.log(`fault run: ${JSON.stringify(report)}`);
  assert.ok(faults503 >= WEBHOOKS / 5 && faults429 > 0, 'the faults happened');
  assert.ok(refused > 0, 'some attempts met the refused span');
  assert.deepEqual(lost, [], 'none lost');
  assert.deepEqual(duplicated, [], 'none duplicated');
  assert.equal(report.dead_letters, 0);
  assert.ok(reamaze.accepted().every((r) => r.signatureValid), 'signed at send time with the channel secret');
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
