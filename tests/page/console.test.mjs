// The operator console (www/dist/admin.html, built by scripts/build-page.sh)
// in headless Chromium, served by the Worker in workerd (Miniflare, listening
// on loopback) at GET /admin with the headers its assets' _headers gives it,
// against a loopback Re:amaze that refuses. It lists a dead letter, a held
// transcription and a refused webhook with its likely cause, each with its
// time, replays the dead letter once confirmed, and opens refused webhooks in
// the debugger, byte for byte. No Content-Security-Policy violation may be
// reported on either page. Screenshots go to target/screenshots.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
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
  // Every CSP violation either page reports, and every console line about one.
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspMessages.push(message.text());
  });
});

const cspMessages = [];
/** No CSP violation reported by the page now open, nor logged by any page so far. */
async function assertNoViolation(what) {
  assert.deepEqual(await page.evaluate(() => window.__violations), [], `${what}: CSP violations`);
  assert.deepEqual(cspMessages, [], `${what}: CSP messages`);
}
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

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
  await assertNoViolation('the console');
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
  // Each row names what on-call looks for: the event and call refused, when
  // a letter died, how long a transcription has waited; one time style.
  const rejectedRow = await page.textContent('#rejected tbody tr');
  assert.match(rejectedRow, /COMPLETED/);
  assert.match(rejectedRow, /call v1/);
  assert.match(await page.textContent('#dead-letters thead'), /Died/);
  assert.match(await page.textContent('#held'), /2024-01-01T00:05:00Z/, 'the transcription\'s time, from its payload');
  assert.match(await page.textContent('#held'), /\d+ d( \d+ (h|min|s))? ago/);
  const times = await page.$$eval('td .mono', (cells) => cells.map((c) => c.textContent).filter((t) => /^\d{4}-/.test(t)));
  assert.ok(times.length >= 3, `${times}`);
  for (const time of times) assert.match(time, ISO);
  assert.match(await page.textContent('#status'), /Loaded at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/);
  // Load again with the box empty: the token given before is kept.
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('ok'));
  assert.doesNotMatch(await page.textContent('#status'), /Type the bridge/);
  assert.match(await page.textContent('#dead-letters'), /console\.dead/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reamaze-bridge-admin-token')), ADMIN_TOKEN);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept beyond the tab');
  await page.screenshot({ path: `${SHOTS}console.png`, fullPage: true });

  // Replay the dead letter: refused at the confirmation first; then
  // confirmed while Re:amaze still refuses, which the console says it did;
  // then confirmed once Re:amaze accepts, which the console says too.
  const dialogs = [];
  page.once('dialog', (dialog) => dialogs.push(dialog.message()) && dialog.dismiss());
  await page.click('#dead-letters button:has-text("Replay")');
  await waitFor(() => dialogs.length === 1, 5_000, 'the confirmation');
  assert.match(dialogs[0], /Replay the message voice360:INCOMING_EXTERNAL_CALL:console\.dead\?/);
  await new Promise((r) => setTimeout(r, 500));
  const posted = () => reamaze.accepted().some((r) => r.message.id === 'voice360:INCOMING_EXTERNAL_CALL:console.dead');
  assert.ok(!posted(), 'nothing replayed unconfirmed');
  assert.match(await page.textContent('#dead-letters'), /console\.dead/, 'still a dead letter');
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#dead-letters button:has-text("Replay")');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('failed again'), undefined, { timeout: 30_000 });
  assert.match(await page.textContent('#status'), /^Replayed: 0 of 1 delivered to Re:amaze; 1 failed again \(Re:amaze answered 400/);
  assert.match(await page.textContent('#dead-letters'), /console\.dead/, 'a dead letter again');
  reamaze.policy = null;
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#dead-letters button:has-text("Replay")');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Replayed: 1 of 1 delivered'), undefined, { timeout: 30_000 });
  assert.ok(posted(), 'the replayed message reached Re:amaze');
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Loaded'));
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
  await assertNoViolation('the debugger');
  assert.deepEqual(errors, []);
});

/** The causes a page lists, by title. */
const titles = (selector) => page.$$eval(`${selector} li strong`, (items) => items.map((i) => i.textContent.replace(/\.\s*$/, '')));

/** The console, opened and loaded with the token. */
async function loadConsole() {
  await open();
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('#load');
}

/**
 * The refused webhook whose row shows `marker`: its causes in the console,
 * then in the debugger its link opens, once the secret is typed there.
 */
async function causesInBoth(marker) {
  await loadConsole();
  await page.waitForFunction((text) => document.querySelector('#rejected').textContent.includes(text), marker);
  const row = page.locator('#rejected tbody tr', { hasText: marker });
  const inConsole = (await row.locator('li strong').allTextContents()).map((t) => t.replace(/\.\s*$/, ''));
  await page.goto(`${base}${await row.locator('a').getAttribute('href')}`);
  await page.waitForSelector('html[data-ready=true]', { timeout: 20_000 });
  await page.fill('#secret', SECRETS.VOLUBILE_WEBHOOK_SECRETS);
  await page.waitForFunction(() => document.querySelector('#cause li'));
  return { inConsole, inDebugger: await titles('#cause') };
}

test('a body signed with LF and delivered with CRLF: refused, and the console and the debugger name the same cause', async () => {
  const lf = `${JSON.stringify(JSON.parse(VOLUBILE.replace('"v1"', '"crlf.1"')), null, 2)}\n`;
  const crlf = lf.replace(/\n/g, '\r\n');
  const mac = createHmac('sha256', SECRETS.VOLUBILE_WEBHOOK_SECRETS).update(lf).digest('hex');
  assert.equal((await post('/webhooks/volubile', crlf, { 'X-Webhook-Signature': mac })).status, 401);
  const { inConsole, inDebugger } = await causesInBoth('crlf.1');
  assert.deepEqual(inConsole, ['The body was signed with LF line endings instead of CRLF']);
  assert.deepEqual(inDebugger, ['The body was signed with LF line endings instead of CRLF']);
  assert.match(await page.textContent('#exact'), new RegExp(`exact ${Buffer.byteLength(crlf)} bytes`));
  assert.match(await page.textContent('#bytes'), /CR/);
  await assertNoViolation('the debugger, from the link');
});

test('a body that is not UTF-8, with a NUL, reaches the debugger byte for byte', async () => {
  const sent = Buffer.concat([Buffer.from('{"id":"bytes.1","x":"'), Buffer.from([0xff, 0x00, 0x0d]), Buffer.from('"}')]);
  const received = Buffer.concat([sent, Buffer.from('\n')]);
  const mac = createHmac('sha256', SECRETS.VOLUBILE_WEBHOOK_SECRETS).update(sent).digest('hex');
  assert.equal((await post('/webhooks/volubile', received, { 'X-Webhook-Signature': mac })).status, 401);
  // Not JSON, so no event or call to name it by: found by its cause.
  const { inConsole, inDebugger } = await causesInBoth('final newline removed');
  assert.deepEqual(inConsole, ['The body was signed with its final newline removed']);
  assert.deepEqual(inDebugger, inConsole);
  assert.match(await page.textContent('#exact'), new RegExp(`exact ${received.length} bytes`));
});

test('a payload refused with 400 says its message once, and what to do', async () => {
  const body = '{"id":"missing.1"}';
  const mac = createHmac('sha256', SECRETS.VOLUBILE_WEBHOOK_SECRETS).update(body).digest('hex');
  const refused = await post('/webhooks/volubile', body, { 'X-Webhook-Signature': mac });
  assert.equal(refused.status, 400);
  const { message } = await refused.json();
  await loadConsole();
  await page.waitForFunction(() => document.querySelector('#rejected').textContent.includes('400 '));
  const row = await page.locator('#rejected tbody tr', { hasText: '400 ' }).first().textContent();
  assert.equal(row.split(message).length - 1, 1, `the message once: ${row}`);
  assert.match(row, /The payload is not what the bridge reads\. The signature was right/);
});

test('at 390 px wide, the loaded console does not scroll sideways', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await loadConsole();
    await page.waitForFunction(() => document.querySelector('#status').classList.contains('ok'));
    assert.ok(await page.$('#rejected tbody tr'), 'rows are shown');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    await page.screenshot({ path: `${SHOTS}console-390.png`, fullPage: true });
    assert.equal(overflow, 0, `${overflow} px sideways`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 1000 });
  }
});

test('the pages are served with their headers: a strict policy, no framing, no sniffing, no referrer', async () => {
  for (const [path, cache] of [['/', 'no-cache'], ['/admin', 'no-store']]) {
    const answer = await fetch(`${base}${path}`);
    const html = await answer.text();
    const policy = answer.headers.get('content-security-policy') ?? '';
    const script = html.match(/<script>([\s\S]*?)<\/script>/)[1];
    const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
    assert.ok(policy.includes(`script-src ${hash}`), `${path}: ${policy}`);
    assert.ok(policy.includes("frame-ancestors 'none'") && policy.includes("connect-src 'self'"), `${path}: ${policy}`);
    assert.ok(!policy.includes('unsafe-inline'), `${path}: ${policy}`);
    assert.equal(answer.headers.get('x-frame-options'), 'DENY', path);
    assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(answer.headers.get('referrer-policy'), 'no-referrer', path);
    assert.equal(answer.headers.get('cache-control'), cache, path);
  }
  const listing = await fetch(`${base}/admin/rejected`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(listing.headers.get('cache-control'), 'no-store');
  assert.equal(listing.headers.get('x-content-type-options'), 'nosniff');
});

test('forgetting the token clears what was shown', async () => {
  await loadConsole();
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('ok'));
  await page.click('#forget');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reamaze-bridge-admin-token')), null);
  assert.match(await page.textContent('#rejected'), /Not loaded/);
});
