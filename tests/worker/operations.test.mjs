// Operating the bridge, in the Worker inside workerd (Miniflare): refused
// webhooks kept with their likely cause (GET /admin/rejected), and each
// alert type posted to a loopback receiver. Each alert's signature is
// checked here as the Standard Webhooks specification writes it, with
// node:crypto: v1, then base64 of HMAC-SHA256 over `id.timestamp.body`,
// keyed with the bytes of the whsec_ secret.

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, request, waitFor, webhook, workerTarget } from '../support/helpers.mjs';

const ADMIN_TOKEN = 'operations-admin-token';
const ALERT_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** A loopback receiver of alerts: what came, and whether each is signed. */
async function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw), signed: standardWebhooksValid(req.headers, raw) });
      res.writeHead(received.failing ? 503 : 204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/alerts`, received, close: () => new Promise((r) => server.close(r)) };
}

/** The specification's check, written from it: never the bridge's code. */
function standardWebhooksValid(headers, raw) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const key = Buffer.from(ALERT_SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${raw}`).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && String(headers['webhook-signature']).split(' ').some((part) => {
    const [version, value] = part.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

let receiver;
let worker;
const logs = [];
const bindings = () => ({
  ADMIN_TOKEN,
  ALERT_WEBHOOK_URL: receiver.url,
  ALERT_WEBHOOK_SECRET: ALERT_SECRET,
  ALERT_REJECTED_THRESHOLD: '3',
  REJECTED_KEEP: '4',
});

before(async () => {
  receiver = await startReceiver();
  worker = await workerTarget({ logs, bindings: bindings() });
});

after(async () => {
  await worker?.close();
  await receiver?.close();
});

beforeEach(() => {
  receiver.received.length = 0;
  receiver.received.failing = false;
  logs.length = 0;
});

const VOLUBILE = '{"id":"v1","phone":"+33612345678","type":"INBOUND","status":"COMPLETED","duration":60}';
const volubileMac = createHmac('sha256', SECRETS.VOLUBILE_WEBHOOK_SECRETS).update(VOLUBILE).digest();
const volubile = (signature) => request(worker, '/webhooks/volubile', { body: VOLUBILE, headers: { 'X-Webhook-Signature': signature } });

test('a refused webhook is kept with its likely cause, for the token holder only', async () => {
  const refused = await volubile(volubileMac.toString('base64'));
  assert.equal(refused.status, 401, refused.text);
  let listed;
  for (let i = 0; i < 50; i += 1) {
    listed = await request(worker, '/admin/rejected', { method: 'GET', headers: admin });
    if (listed.json?.count > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(listed.status, 200, listed.text);
  const [record] = listed.json.rejected;
  assert.equal(record.route, '/webhooks/volubile');
  assert.equal(record.status, 401);
  assert.equal(record.code, 'malformed_signature');
  assert.deepEqual(record.headers, [['X-Webhook-Signature', volubileMac.toString('base64')]]);
  assert.equal(record.body, VOLUBILE);
  assert.equal(record.causes[0].title, 'Base64 where hex was expected');
  for (const headers of [{}, { Authorization: 'Bearer wrong' }]) {
    const refusedListing = await request(worker, '/admin/rejected', { method: 'GET', headers });
    assert.equal(refusedListing.status, 401);
    assert.ok(!refusedListing.text.includes(VOLUBILE), 'no body without the token');
  }
});

test('only the last REJECTED_KEEP are kept: the older are deleted when listed', async () => {
  for (let i = 0; i < 6; i += 1) assert.equal((await volubile(`not-a-mac-${i}`)).status, 401);
  await waitFor(() => logs.filter((l) => l.includes('"aftermath"')).length >= 6, 10_000, 'the records written');
  const listed = await request(worker, '/admin/rejected', { method: 'GET', headers: admin });
  assert.equal(listed.json.count, 4);
  assert.equal(listed.json.keep, 4);
  const keys = await (await worker.kv()).list({ prefix: 'rejected:' });
  assert.equal(keys.keys.length, 4, 'the older records are gone from KV');
});

test('webhooks.rejected_spike: at the threshold, once per route per hour, signed as Standard Webhooks', async () => {
  for (let i = 0; i < 5; i += 1) assert.equal((await request(worker, '/webhooks/bird', { body: '{}' })).status, 401);
  const birdSpikes = () => receiver.received.filter((r) => r.body.type === 'webhooks.rejected_spike' && r.body.data.route === '/webhooks/bird');
  await waitFor(() => birdSpikes().length > 0, 10_000, 'the spike alert');
  await waitFor(() => logs.filter((l) => l.includes('"aftermath"')).length >= 5, 10_000, 'every refusal counted');
  const spikes = birdSpikes();
  assert.equal(spikes.length, 1, 'one alert for the hour');
  const [spike] = spikes;
  assert.ok(spike.signed, 'the Standard Webhooks signature verifies');
  assert.equal(spike.body.data.route, '/webhooks/bird');
  assert.ok(spike.body.data.count >= 3);
  assert.match(spike.body.text, /^\d+ webhooks refused on \/webhooks\/bird in the last 10 minutes/);
  assert.match(spike.headers['webhook-id'], /^msg_/);
});

test('settings.invalid: once, naming the setting and never its value', async () => {
  await worker.reconfigure({ ...bindings(), VOICE360_AGENTS: 'secretive value' });
  try {
    for (let i = 0; i < 3; i += 1) assert.equal((await request(worker, '/healthz', { method: 'GET' })).status, 200);
    await waitFor(() => receiver.received.some((r) => r.body.type === 'settings.invalid'), 10_000, 'the settings alert');
    await new Promise((r) => setTimeout(r, 500));
    const alerts = receiver.received.filter((r) => r.body.type === 'settings.invalid');
    assert.equal(alerts.length, 1);
    assert.ok(alerts[0].signed);
    assert.equal(alerts[0].body.data.settings[0].setting, 'VOICE360_AGENTS');
    assert.ok(!alerts[0].raw.includes('secretive value'));
  } finally {
    await worker.reconfigure(bindings());
  }
});

test('an alert that fails is tried again, and never changes the answer', async () => {
  receiver.received.failing = true;
  await worker.reconfigure({ ...bindings(), ALERT_REJECTED_THRESHOLD: '1' });
  try {
    const refused = await request(worker, '/webhooks/voice360', { body: '{}' });
    assert.equal(refused.status, 401, 'the refusal, whatever the alert receiver answers');
    await waitFor(() => receiver.received.length >= 3, 10_000, 'three attempts');
    await waitFor(() => logs.some((l) => l.includes('"aftermath":"alert_failed"')), 10_000, 'the failure logged');
  } finally {
    receiver.received.failing = false;
    await worker.reconfigure(bindings());
  }
});

test('dead_letter.created: when Re:amaze refuses a message in queue mode', async () => {
  const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const queued = await workerTarget({ logs, queues: true, bindings: { ...bindings(), REAMAZE_BASE_URL: reamaze.url } });
  try {
    reamaze.policy = () => ({ status: 400, body: { error: 'phone number is invalid' } });
    assert.equal((await webhook(queued, 'voice360', incomingCall('alert.dead'))).status, 202);
    await waitFor(() => receiver.received.some((r) => r.body.type === 'dead_letter.created'), 20_000, 'the dead letter alert');
    const [alert] = receiver.received.filter((r) => r.body.type === 'dead_letter.created');
    assert.ok(alert.signed);
    assert.equal(alert.body.data.message_id, 'voice360:INCOMING_EXTERNAL_CALL:alert.dead');
    assert.equal(alert.body.data.upstream_status, 400);
    assert.match(alert.body.text, /^Dead letter: voice360 INCOMING_EXTERNAL_CALL message/);
  } finally {
    await queued.close();
    await reamaze.close();
  }
});
