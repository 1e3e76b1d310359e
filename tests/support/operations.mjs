// The operators' side of the bridge, run against each shell that has it
// (the Worker in workerd, the npm package's createBridge): refused webhooks
// kept with their likely cause (GET /admin/rejected), only the newest
// REJECTED_KEEP of them, and the alerts, each checked as the Standard
// Webhooks specification writes it (tests/support/alerts.mjs).

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { ALERT_SECRET, startReceiver } from './alerts.mjs';
import { SECRETS, request, waitFor } from './helpers.mjs';

export const ADMIN_TOKEN = 'operations-admin-token';
export const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * `makeTarget({ bindings, logs })` starts the bridge under test; the target
 * also answers `storedUnder(prefix)`, how many keys its store holds under a
 * prefix. Returns a handle whose `target`, `receiver`, `logs` and
 * `bindings()` are set once the suite's `before` has run, for a shell's own
 * tests beside the suite.
 */
export function operationsSuite(makeTarget) {
  const handle = { target: null, receiver: null, logs: null, bindings: null };
  let receiver;
  let worker;
  const logs = [];
  handle.logs = logs;
  const bindings = () => ({
    ADMIN_TOKEN,
    ALERT_WEBHOOK_URL: receiver.url,
    ALERT_WEBHOOK_SECRET: ALERT_SECRET,
    ALERT_REJECTED_THRESHOLD: '3',
    REJECTED_KEEP: '4',
    BRIDGE_NAME: 'ops-test',
  });

  before(async () => {
    receiver = await startReceiver();
    worker = await makeTarget({ logs, bindings: bindings() });
    Object.assign(handle, { target: worker, receiver, bindings });
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

  test('the console and every admin answer are served hardened, the console\'s script allowed by its own hash', async () => {
    const page = await request(worker, '/admin', { method: 'GET' });
    const html = page.text;
    assert.equal(page.status, 200);
    const policy = page.headers.get('content-security-policy') ?? '';
    // The hashes, worked out here from the page as served (node:crypto).
    const inline = (tag) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
    assert.equal(inline('script').length, 1);
    assert.match(policy, new RegExp(`script-src ${inline('script').join(' ').replace(/[+/=]/g, '\\$&')};`));
    assert.match(policy, new RegExp(`style-src ${inline('style').join(' ').replace(/[+/=]/g, '\\$&')};`));
    for (const part of ["default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) assert.ok(policy.includes(part), `${part} in ${policy}`);
    assert.ok(!policy.includes('unsafe-inline'), policy);
    const hardened = (answer, what) => {
      assert.equal(answer.headers.get('cache-control'), 'no-store', what);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', what);
      assert.equal(answer.headers.get('referrer-policy'), 'no-referrer', what);
      assert.equal(answer.headers.get('x-frame-options'), 'DENY', what);
    };
    hardened(page, 'GET /admin');
    for (const path of ['/admin/rejected', '/admin/held']) {
      for (const headers of [admin, {}]) {
        const answer = await request(worker, path, { method: 'GET', headers });
        hardened(answer, `GET ${path} (${answer.status})`);
        assert.match(answer.headers.get('content-security-policy'), /frame-ancestors 'none'/);
      }
    }
  });

  test('only the last REJECTED_KEEP are kept: the older are deleted when listed', async () => {
    for (let i = 0; i < 6; i += 1) assert.equal((await volubile(`not-a-mac-${i}`)).status, 401);
    await waitFor(() => logs.filter((l) => l.includes('"aftermath"')).length >= 6, 10_000, 'the records written');
    const listed = await request(worker, '/admin/rejected', { method: 'GET', headers: admin });
    assert.equal(listed.json.count, 4);
    assert.equal(listed.json.keep, 4);
    assert.equal(await worker.storedUnder('rejected:'), 4, 'the older records are gone from the store');
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
    assert.equal(spike.body.bridge, 'ops-test', 'the deployment named');
    assert.match(spike.body.text, /^\[ops-test\] \d+ webhooks refused on \/webhooks\/bird in the last 10 minutes/);
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
  return handle;
}
