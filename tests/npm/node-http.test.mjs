// The package's node:http adapter (nodeListener) on loopback: the headers as
// sent, the origin a sender signs, and a store that fails answering 503
// store_unavailable without stopping the server. The whole contract through it is the
// behaviour suite's (server.test.mjs, through examples/node-server.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { MemoryStore, createBridge, nodeListener } from '../../pkg/src/node.mjs';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, sign } from '../support/helpers.mjs';

let reamaze;
const servers = [];

before(async () => {
  reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
});

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await reamaze?.close();
});

/** A server for `listener` on a loopback port: its base URL. */
async function serve(listener) {
  const server = http.createServer(listener);
  servers.push(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

/** A request with its headers as a list of pairs, so one may be sent twice. */
function send(base, path, headers, body) {
  return new Promise((resolve, reject) => {
    // A name given a list of values is sent as one line per value.
    const grouped = {};
    for (const [name, value] of headers) (grouped[name] ??= []).push(value);
    const req = http.request(`${base}${path}`, { method: 'POST', headers: grouped }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bridge = (store) => createBridge({ ...SECRETS, REAMAZE_BASE_URL: reamaze.url }, { store });
const volubile = JSON.stringify({ id: 'node-http-1', phone: '+33612345678', type: 'INBOUND', status: 'COMPLETED', duration: 60 });

test('a signed webhook is delivered, and a signature header sent twice is refused as repeated', async () => {
  const base = await serve(nodeListener(bridge()));
  const [[name, value]] = Object.entries(sign.volubile(volubile));
  const once = await send(base, '/webhooks/volubile', [[name, value]], volubile);
  assert.equal(once.status, 200, JSON.stringify(once.json));
  assert.equal(once.json.status, 'delivered');
  const twice = await send(base, '/webhooks/volubile', [[name, value], [name, value]], volubile);
  assert.equal(twice.status, 401, JSON.stringify(twice.json));
  assert.equal(twice.json.error, 'repeated_header');
});

test('behind a proxy, `origin` gives the URL the sender signed', async () => {
  const signedUrl = 'https://bridge.example/webhooks/bird';
  const payload = JSON.stringify({ service: 'channels', event: 'voice.inbound', payload: { id: 'node-http-bird', direction: 'incoming', status: 'completed', from: '+31612345678', to: '+31201234567', duration: 5 } });
  const headers = Object.entries(sign.bird(payload, signedUrl));
  const direct = await send(await serve(nodeListener(bridge())), '/webhooks/bird', headers, payload);
  assert.equal(direct.status, 401, 'the loopback URL is not the one signed');
  const proxied = await send(await serve(nodeListener(bridge(), { origin: 'https://bridge.example' })), '/webhooks/bird', headers, payload);
  assert.equal(proxied.status, 200, JSON.stringify(proxied.json));
});

// Every way a store can fail a call (each operation; thrown or rejected):
// the bridge answers 503 store_unavailable with Retry-After, says nothing of
// the store's own error (it may name a host or a password), and serves on.
const failures = ['get', 'put', 'claim', 'delete'].flatMap((op) => [
  [op, 'throws', () => {
    throw new Error('redis://:hunter2@10.0.0.5 is down');
  }],
  [op, 'rejects', async () => {
    throw new Error('redis://:hunter2@10.0.0.5 is down');
  }],
]);
for (const [op, how, fail] of failures) {
  test(`a store whose ${op} ${how}: 503 store_unavailable, and the server keeps serving`, async () => {
    const failing = new MemoryStore();
    failing[op] = fail;
    // A Voice360 call's first event reaches get, put and claim; its claim
    // is let go (delete) when Re:amaze fails, so for delete Re:amaze answers 500.
    const reamazeAnswer = op === 'delete' ? 500 : 200;
    const settings = { ...SECRETS, REAMAZE_BASE_URL: 'http://reamaze.test' };
    const base = await serve(nodeListener(createBridge(settings, { store: failing, fetch: async () => new Response('{}', { status: reamazeAnswer }) })));
    const body = JSON.stringify(incomingCall(`node-http-${op}-${how}`));
    const answers = [];
    for (let i = 0; i < 2; i += 1) answers.push(await send(base, '/webhooks/voice360', Object.entries(sign.voice360(body)), body));
    const failed = answers.filter((a) => a.json.error === 'store_unavailable');
    assert.ok(failed.length > 0, `no answer says the store failed: ${JSON.stringify(answers.map((a) => a.json))}`);
    for (const answer of failed) {
      assert.equal(answer.status, 503, JSON.stringify(answer.json));
      assert.ok(Number(answer.headers['retry-after']) > 0, 'Retry-After says when to come back');
      assert.doesNotMatch(JSON.stringify(answer.json), /hunter2|10\.0\.0\.5/);
    }
    assert.ok(answers.every((a) => a.status !== 500), JSON.stringify(answers.map((a) => a.json)));
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
  });
}
