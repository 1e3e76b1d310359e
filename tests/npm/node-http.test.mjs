// The package's node:http adapter (nodeListener) on loopback: the headers as
// sent, the origin a sender signs, and a store that fails answering 500
// without stopping the server. The whole contract through it is the
// behaviour suite's (server.test.mjs, through examples/node-server.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { MemoryStore, createBridge, nodeListener } from '../../pkg/src/node.mjs';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, sign } from '../support/helpers.mjs';

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
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
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

test('a store that throws is answered 500, and the server keeps serving', async () => {
  const failing = new MemoryStore();
  failing.claim = () => {
    throw new Error('the store is down');
  };
  const base = await serve(nodeListener(bridge(failing)));
  const body = JSON.stringify({ id: 'node-http-2', phone: '+33612345678', type: 'INBOUND', status: 'COMPLETED', duration: 60 });
  const failed = await send(base, '/webhooks/volubile', Object.entries(sign.volubile(body)), body);
  assert.equal(failed.status, 500);
  assert.equal(failed.json.error, 'internal');
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
});
