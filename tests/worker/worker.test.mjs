// The Worker in sync mode (no queue bound), built by `make worker` and run
// inside workerd (Miniflare): the shared behaviour suite, plus what only the
// Worker does (the page at GET /, its log lines).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { behaviourSuite } from '../support/behaviour.mjs';
import { SECRETS, incomingCall, sign, webhook, workerTarget } from '../support/helpers.mjs';

const worker = behaviourSuite('the Worker in workerd', workerTarget);

test('GET / serves the signature debugger (static assets, as wrangler.toml declares)', async () => {
  const page = await worker.target.request('/', { method: 'GET' });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /<title>reamaze-bridge · signature debugger<\/title>/);
  assert.match(page.text, /id="verdict"/);
  const webhook = await worker.target.request('/webhooks/voice360', { body: '{}' });
  assert.equal(webhook.status, 401, 'other routes still reach the Worker');
});

test('one JSON log line per request, with no secret and no body', async () => {
  worker.logs.length = 0;
  await webhook(worker.target, 'voice360', incomingCall('log.1', { caller_id_name: 'Zelda Quux' }));
  await worker.target.request('/webhooks/voice360', { body: '{}', headers: { 'X-Voice360-Signature': 'sha256=00' } });
  // A staff reply: the one request that carries a secret itself (Voice360's API key).
  const reply = JSON.stringify({ id: 'log.r', body: 'Hi from Zelda Quux', to: { phone: '+15551234567' }, from: { phone: '+15559876543' } });
  const sent = await worker.target.request('/webhooks/reamaze/sms', { body: reply, headers: sign.reamaze(reply) });
  assert.equal(sent.status, 200, sent.text);
  const lines = worker.logs.map((m) => {
    try {
      return JSON.parse(m);
    } catch {
      return null;
    }
  }).filter((l) => l && 'route' in l);
  assert.equal(lines.length, 3, worker.logs.join('\n'));
  assert.deepEqual(
    { ...lines[0], duration_ms: 0 },
    { method: 'POST', route: '/webhooks/voice360', provider: 'voice360', event: 'INCOMING_EXTERNAL_CALL', outcome: 'delivered', status: 200, upstream_status: 200, deliveries: 1, duration_ms: 0 },
  );
  assert.equal(lines[1].status, 401);
  assert.equal(lines[1].outcome, 'malformed_signature');
  assert.equal(lines[2].route, '/webhooks/reamaze/sms');
  const all = worker.logs.join('\n');
  for (const secret of Object.values(SECRETS).flatMap((s) => s.split(','))) assert.ok(!all.includes(secret));
  assert.ok(!all.includes('Zelda Quux'), 'no body content in the logs');
});

test('KV keeps a call\'s parties a week, as the core asks; the delivered id is a claim, held by the Durable Object, not KV', async () => {
  const before = Math.floor(Date.now() / 1000);
  const answer = await webhook(worker.target, 'voice360', incomingCall('ttl.1'));
  assert.equal(answer.status, 200, answer.text);
  const after = Math.ceil(Date.now() / 1000);
  const { keys } = await (await worker.target.kv()).list();
  const expiration = (prefix) => keys.find((k) => k.name.startsWith(prefix) && k.name.endsWith(':ttl.1'))?.expiration;
  const ttl = 7 * 86_400;
  const expires = expiration('call:voice360:');
  assert.ok(expires >= before + ttl && expires <= after + ttl, `call:voice360:ttl.1 expires at ${expires}, not ${ttl} s after the request`);
  assert.equal(expiration('seen:voice360:'), undefined, 'claims are not in KV, which cannot claim atomically');
  assert.equal((await webhook(worker.target, 'voice360', incomingCall('ttl.1'))).json.status, 'duplicate', 'the claim is held');
});

test('a claim left in the Claims Durable Object by a Worker that died mid-send is taken over once it lapses', async () => {
  // A claim as a dying Worker leaves it, with a short lease so the test is
  // quick: the object itself lets it lapse, as it lets the bridge's 30 s ones.
  const namespace = await worker.target.claims();
  const key = 'seen:voice360:INCOMING_EXTERNAL_CALL:lease.1';
  const held = await namespace.get(namespace.idFromName(key)).fetch('https://claims/claim/2/pending', { method: 'POST' });
  assert.equal(await held.text(), 'free', 'the planted claim was written');
  const meanwhile = await webhook(worker.target, 'voice360', incomingCall('lease.1'));
  assert.equal(meanwhile.status, 503, meanwhile.text);
  assert.equal(meanwhile.json.error, 'in_progress');
  assert.equal(meanwhile.headers.get('retry-after'), '30', 'the bridge\'s own lease: when that claim lapses at the latest');
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const after = await webhook(worker.target, 'voice360', incomingCall('lease.1'));
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.status, 'delivered');
});
