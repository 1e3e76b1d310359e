// The operator console (www/dist/admin.html, built by scripts/build-page.sh)
// in headless Chromium, served by the Worker in workerd (Miniflare, listening
// on loopback) at GET /admin, against a loopback Re:amaze that refuses. It
// lists a dead letter, a held transcription and a refused webhook with its
// likely cause, replays the dead letter, and opens the refused webhook in the
// debugger. Screenshots go to target/screenshots.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, sign, waitFor, workerOptions } from '../support/helpers.mjs';

const SHOTS = new URL('../../target/screenshots/', import.meta.url).pathname;
const ADMIN_TOKEN = 'console-admin-token';
const VOLUBILE = '{"id":"v1","phone":"+33612345678","type":"INBOUND","status":"COMPLETED","duration":60}';
const TRANSCRIPTION = JSON.stringify({
  event_name: 'TRANSCRIPTION_FINISHED', account_id: '12345', timestamp: 1704067500,
  metadata: { uniqueid: 'console.held', transcription: null, success: false, error: 'x' },
});

let reamaze;
let mf;
let base;
let browser;
let page;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const options = workerOptions({ queues: true, bindings: { ADMIN_TOKEN, REAMAZE_BASE_URL: reamaze.url } });
  mf = new Miniflare({ ...options, host: '127.0.0.1', port: 0 });
  base = String(await mf.ready).replace(/\/$/, '');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
});

after(async () => {
  await browser?.close();
  await mf?.dispose();
  await reamaze?.close();
});

const post = (path, body, headers) => fetch(`${base}${path}`, { method: 'POST', body, headers });

async function open() {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/admin`);
  await page.waitForSelector('html[data-ready=true]', { timeout: 20_000 });
  return errors;
}

test('the console lists, explains and replays, with the token kept in the tab only', async () => {
  // A dead letter: Re:amaze refuses the message.
  reamaze.policy = () => ({ status: 400, body: { error: 'phone number is invalid' } });
  const call = JSON.stringify(incomingCall('console.dead'));
  assert.equal((await post('/webhooks/voice360', call, sign.voice360(call))).status, 202);
  // A held transcription, and a refused webhook: the right MAC, in base64.
  assert.equal((await post('/webhooks/voice360', TRANSCRIPTION, sign.voice360(TRANSCRIPTION))).status, 202);
  const base64Mac = createHmac('sha256', SECRETS.VOLUBILE_WEBHOOK_SECRETS).update(VOLUBILE).digest('base64');
  assert.equal((await post('/webhooks/volubile', VOLUBILE, { 'X-Webhook-Signature': base64Mac })).status, 401);
  const admin = { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } };
  for (let i = 0; i < 100; i += 1) {
    const dead = await (await fetch(`${base}/admin/dead-letters`, admin)).json();
    if (dead.count > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  const errors = await open();
  assert.match(await page.textContent('#status'), /Type the bridge’s ADMIN_TOKEN/);
  const html = await page.content();
  assert.ok(!html.includes(ADMIN_TOKEN), 'no secret in the page');

  await page.fill('#token', 'not-the-token');
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('not this bridge'));

  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('ok'));
  assert.match(await page.textContent('#dead-letters'), /voice360:INCOMING_EXTERNAL_CALL:console\.dead/);
  assert.match(await page.textContent('#dead-letters'), /phone number is invalid/);
  assert.match(await page.textContent('#held'), /console\.held/);
  assert.match(await page.textContent('#rejected'), /Base64 where hex was expected/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reamaze-bridge-admin-token')), ADMIN_TOKEN);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept beyond the tab');
  await page.screenshot({ path: `${SHOTS}console.png`, fullPage: true });

  // Replay the dead letter, now that Re:amaze accepts.
  reamaze.policy = null;
  await page.click('#dead-letters button:has-text("Replay")');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Replayed 1'));
  await waitFor(() => reamaze.accepted().some((r) => r.message.id === 'voice360:INCOMING_EXTERNAL_CALL:console.dead'), 20_000, 'the replayed delivery');
  assert.match(await page.textContent('#dead-letters'), /No dead letters/);

  // The refused webhook, in the debugger, with what was received filled in.
  const href = await page.getAttribute('#rejected a', 'href');
  await page.goto(`${base}${href}`);
  await page.waitForSelector('html[data-ready=true]', { timeout: 20_000 });
  assert.equal(await page.inputValue('#body'), VOLUBILE);
  assert.equal(await page.inputValue('#signature'), base64Mac);
  await page.fill('#secret', SECRETS.VOLUBILE_WEBHOOK_SECRETS);
  await page.waitForFunction(() => document.querySelector('#cause').textContent.includes('Base64 where hex was expected'));
  await page.screenshot({ path: `${SHOTS}console-to-debugger.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('forgetting the token clears what was shown', async () => {
  await open();
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('ok'));
  await page.click('#forget');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reamaze-bridge-admin-token')), null);
  assert.match(await page.textContent('#rejected'), /Not loaded/);
});
