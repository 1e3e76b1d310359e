// Operating the bridge with the npm package alone: the shared operations
// suite (tests/support/operations.mjs) against createBridge in the example
// Node server, then what is the package's own: its log lines, the console
// page, the dead letters it cannot have, and a store that cannot list.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, createBridge } from '../../pkg/src/node.mjs';
import { SECRETS, incomingCall, nodeServerTarget, request, waitFor } from '../support/helpers.mjs';
import { ADMIN_TOKEN, admin, operationsSuite } from '../support/operations.mjs';

const handle = operationsSuite(nodeServerTarget);

test('one JSON log line per request and per aftermath, with no secret and no body', async () => {
  const { target, logs } = handle;
  const body = '{"id":"log.1","phone":"+33612345678","type":"INBOUND","status":"COMPLETED","duration":60}';
  assert.equal((await request(target, '/webhooks/volubile', { body, headers: { 'X-Webhook-Signature': 'not-a-mac' } })).status, 401);
  assert.equal((await request(target, '/healthz', { method: 'GET' })).status, 200);
  await waitFor(() => logs.some((l) => l.includes('"aftermath"')), 5_000, 'the aftermath line');
  const lines = logs.map((l) => JSON.parse(l));
  const requests = lines.filter((l) => 'route' in l);
  assert.deepEqual(requests.map((l) => [l.method, l.route, l.status, l.outcome]), [
    ['POST', '/webhooks/volubile', 401, 'malformed_signature'],
    ['GET', '/healthz', 200, 'ok'],
  ]);
  assert.equal(requests[0].provider, 'volubile');
  assert.ok(requests.every((l) => Number.isInteger(l.duration_ms) && l.deliveries === 0));
  const text = logs.join('\n');
  for (const secret of [...Object.values(SECRETS), ADMIN_TOKEN, 'not-a-mac', '+33612345678']) assert.ok(!text.includes(secret), `the log holds ${secret}`);
});

test('GET /admin serves the operators\' console, which reads the admin routes', async () => {
  const page = await fetch(`${handle.target.base}/admin`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  const html = await page.text();
  assert.match(html, /<title>[^<]*console/i);
  assert.ok(html.includes('/admin/rejected') && !html.includes(ADMIN_TOKEN), 'the page calls the routes, and holds no secret');
});

test('held transcriptions are listed; dead letters are said to need a queue', async () => {
  const { target } = handle;
  const held = await request(target, '/admin/held', { method: 'GET', headers: admin });
  assert.equal(held.status, 200, held.text);
  assert.ok(Array.isArray(held.json.held));
  const dead = await request(target, '/admin/dead-letters', { method: 'GET', headers: admin });
  assert.equal(dead.status, 404, dead.text);
  assert.match(dead.json.message, /no delivery queue, so it keeps no dead letters/);
  assert.equal((await request(target, '/admin/dead-letters', { method: 'GET' })).status, 401, 'the token first');
});

test('without ADMIN_TOKEN: no console page and no admin routes', async () => {
  const bridge = createBridge({ ...SECRETS }, { log: null });
  assert.equal((await bridge.fetch(new Request('http://b.test/admin'))).status, 404);
  assert.equal((await bridge.fetch(new Request('http://b.test/admin/rejected', { headers: admin }))).status, 404);
});

test('a store without list: nothing is kept, and the admin routes say why', async () => {
  const data = new Map();
  const store = {
    get: (key) => data.get(key),
    put: (key, value) => void data.set(key, value),
    claim: (key, value) => (data.has(key) ? data.get(key) : void data.set(key, value)),
    delete: (key) => void data.delete(key),
  };
  const bridge = createBridge({ ...SECRETS, ADMIN_TOKEN }, { store, log: null });
  const body = JSON.stringify(incomingCall('unlisted'));
  const refused = await bridge.fetch(new Request('http://b.test/webhooks/voice360', { method: 'POST', body, headers: { 'X-Voice360-Signature': 'sha256=00' } }));
  assert.equal(refused.status, 401);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(![...data.keys()].some((k) => k.startsWith('rejected:')), 'no record kept');
  const listed = await bridge.fetch(new Request('http://b.test/admin/rejected', { headers: admin }));
  assert.equal(listed.status, 404);
  assert.match((await listed.json()).message, /a store with list/);
});

test('in memory, refused webhooks are kept up to the 1,000 a listing reads: the oldest go first', () => {
  const store = new MemoryStore();
  // As the core writes them: newest first in byte order (99999999999 minus the time).
  const key = (at) => `rejected:${String(99_999_999_999 - at).padStart(11, '0')}:${at}`;
  for (let at = 1; at <= 1_500; at += 1) store.put(key(at), 'x'.repeat(100), 604_800);
  store.put('seen:voice360:CALL_ENDED:1', 'done', 60);
  const kept = store.list('rejected:');
  assert.equal(kept.length, 1_000);
  assert.equal(kept[0], key(1_500), 'the newest kept');
  assert.equal(kept.at(-1), key(501), 'the oldest gone');
  assert.equal(store.get('seen:voice360:CALL_ENDED:1'), 'done', 'no other entry touched');
});
