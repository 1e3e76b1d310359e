// The signature debugger (www/dist/index.html, built by scripts/build-page.sh)
// in headless Chromium, opened as a static file. Signatures are made here
// with node:crypto; each usual mistake must be named as the cause, and the
// page must make no request once loaded. Screenshots go to target/screenshots.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { providerNames } from '../support/helpers.mjs';

const PAGE = new URL('../../www/dist/index.html', import.meta.url).href;
const SHOTS = new URL('../../target/screenshots/', import.meta.url).pathname;
const BIRD_URL = 'https://bridge.example.com/webhooks/bird';

const hmac = (secret, data) => createHmac('sha256', secret).update(data).digest();
const sig = {
  reamaze: (secret, body) => hmac(secret, body).toString('base64'),
  voice360: (secret, body) => `sha256=${hmac(secret, body).toString('hex')}`,
  volubile: (secret, body) => hmac(secret, body).toString('hex'),
  bird: (secret, body, ts, url) => hmac(secret, Buffer.concat([Buffer.from(`${ts}\n${url}\n`), createHash('sha256').update(body).digest()])).toString('base64'),
};
const now = () => Math.floor(Date.now() / 1000);

const CALL = '{"event_name":"INCOMING_EXTERNAL_CALL","account_id":"12345","timestamp":1704067200,"metadata":{"caller_id_number":"+15551234567","caller_id_name":"Zoë Doe","dnis":"+15559876543","uniqueid":"1704067200.12345","recording":"https://x.example/a/b"}}';
const BIRD = '{"service":"channels","event":"voice.inbound","payload":{"id":"c1","direction":"incoming","status":"completed","from":"+31612345678","to":"+31201234567","duration":95}}';
const REPLY = '{"to":{"phone":"+16501234567"},"from":{"phone":"+15105559999"},"body":"On its way"}';
const VOLUBILE = '{"id":"v1","phone":"+33612345678","type":"INBOUND","status":"COMPLETED","duration":60}';
const reformat = (body, fn) => fn(JSON.parse(body));
const sortKeys = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);

let browser;
let page;
const requests = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(PAGE);
  await page.waitForSelector('html[data-ready=true]', { timeout: 20_000 });
  assert.deepEqual(errors, []);
  // From here on, every request the page makes is recorded (and refused).
  await page.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.abort();
  });
  page.on('request', (r) => requests.push(r.url()));
});

after(async () => {
  await browser?.close();
});

async function setInputs({ scheme, body, secrets, signature, timestamp = '', url = BIRD_URL, crlf = false }) {
  await page.selectOption('#scheme', scheme);
  await page.fill('#body', body);
  await page.setChecked('#crlf', crlf);
  await page.fill('#secret', secrets.join('\n'));
  // Hidden unless the scheme is Bird: set as a script would.
  await page.$eval('#timestamp', (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input'));
  }, String(timestamp));
  await page.fill('#url', url);
  await page.fill('#signature', signature);
  await page.waitForFunction(() => !document.querySelector('#verdict').textContent.startsWith('Paste'));
  await page.waitForTimeout(50);
  return { verdict: await page.textContent('#verdict'), tone: await page.getAttribute('#verdict', 'class'), cause: await page.textContent('#cause') };
}

test('a valid signature matches, for every scheme', async () => {
  const ts = now();
  const cases = [
    { scheme: 'reamaze', body: REPLY, secrets: ['sms-secret'], signature: sig.reamaze('sms-secret', REPLY) },
    { scheme: 'voice360', body: CALL, secrets: ['whsec_1'], signature: sig.voice360('whsec_1', CALL) },
    { scheme: 'bird', body: BIRD, secrets: ['bird-key'], signature: sig.bird('bird-key', BIRD, ts, BIRD_URL), timestamp: ts },
    { scheme: 'volubile', body: VOLUBILE, secrets: ['vol'], signature: sig.volubile('vol', VOLUBILE) },
  ];
  for (const c of cases) {
    const shown = await setInputs(c);
    assert.match(shown.tone, /\bok\b/, `${c.scheme}: ${shown.verdict}`);
    assert.match(shown.verdict, /Signature matches \(secret #1\)/);
    assert.equal(await page.textContent('#expected'), c.signature);
    await page.screenshot({ path: `${SHOTS}debugger-${c.scheme}-match.png`, fullPage: true });
  }
  assert.match(await page.textContent('#preview'), /Inbound call with the AI agent: completed after 0:01:00/);
  assert.match(await page.textContent('#curl'), /X-Webhook-Signature: [0-9a-f]{64}/);
});

test('each usual mistake is named as the cause', async () => {
  const ts = now();
  const withNewline = `${CALL}\n`;
  const multiline = '{\n  "event_name": "SMS_RECEIVED",\n  "timestamp": 1704067200,\n  "metadata": {"from_number": "+1555", "body": "hi"}\n}';
  const cases = [
    ['a trailing newline added', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('k', withNewline) }, /signed with a trailing newline added/],
    ['the final newline removed', { scheme: 'voice360', body: withNewline, secrets: ['k'], signature: sig.voice360('k', CALL) }, /its final newline removed/],
    ['CRLF instead of LF', { scheme: 'volubile', body: multiline, secrets: ['k'], signature: sig.volubile('k', multiline.replace(/\n/g, '\r\n')) }, /CRLF line endings instead of LF/],
    ['LF instead of CRLF', { scheme: 'volubile', body: multiline, crlf: true, secrets: ['k'], signature: sig.volubile('k', multiline) }, /LF line endings instead of CRLF/],
    ['JSON keys re-ordered', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('k', reformat(CALL, (v) => JSON.stringify(sortKeys(v)))) }, /keys sorted/],
    ['JSON re-spaced', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('k', reformat(CALL, (v) => JSON.stringify(v, null, 2))) }, /2-space indentation/],
    ['JSON with escaped slashes', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('k', CALL.replace(/\//g, '\\/')) }, /escaped slashes/],
    ['JSON with escaped unicode', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('k', CALL.replace('ë', '\\u00eb')) }, /non-ASCII escaped/],
    ['hex where base64 was expected', { scheme: 'reamaze', body: REPLY, secrets: ['k'], signature: hmac('k', REPLY).toString('hex') }, /Hex where base64 was expected/],
    ['base64 where hex was expected', { scheme: 'volubile', body: VOLUBILE, secrets: ['k'], signature: hmac('k', VOLUBILE).toString('base64') }, /Base64 where hex was expected/],
    ['uppercase hex', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: `sha256=${hmac('k', CALL).toString('hex').toUpperCase()}` }, /Uppercase hex/],
    ['missing sha256= prefix', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: hmac('k', CALL).toString('hex') }, /Missing sha256= prefix/],
    ['extra sha256= prefix', { scheme: 'volubile', body: VOLUBILE, secrets: ['k'], signature: `sha256=${sig.volubile('k', VOLUBILE)}` }, /Extra sha256= prefix/],
    ['whitespace in the secret', { scheme: 'reamaze', body: REPLY, secrets: ['channel-secret '], signature: sig.reamaze('channel-secret', REPLY) }, /Whitespace or a newline in the secret/],
    ['a newline at the end of the secret', { scheme: 'reamaze', body: REPLY, secrets: ['channel-secret'], signature: sig.reamaze('channel-secret\n', REPLY) }, /Whitespace or a newline in the secret/],
    ["another channel's secret", { scheme: 'reamaze', body: REPLY, secrets: ['sms-channel-secret', 'voice-channel-secret'], signature: sig.reamaze('voice-channel-secret', REPLY) }, /another secret than this route's/],
    ["Bird's body hash as hex", { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts,
      signature: hmac('bk', `${ts}\n${BIRD_URL}\n${createHash('sha256').update(BIRD).digest('hex')}`).toString('base64') }, /body hash taken as hex/],
    ["Bird's URL: another scheme", { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts, signature: sig.bird('bk', BIRD, ts, BIRD_URL.replace('https:', 'http:')) }, /another URL: the scheme http/],
    ["Bird's URL: another host", { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts, signature: sig.bird('bk', BIRD, ts, BIRD_URL.replace('://', '://www.')) }, /another URL: the host www\.bridge\.example\.com/],
    ["Bird's URL: a trailing slash", { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts, signature: sig.bird('bk', BIRD, ts, `${BIRD_URL}/`) }, /another URL: a trailing slash/],
    ["Bird's URL: a query string", { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts, url: `${BIRD_URL}?env=prod`, signature: sig.bird('bk', BIRD, ts, BIRD_URL) }, /another URL: no query string/],
    ['a timestamp in milliseconds', { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: `${ts}000`, signature: sig.bird('bk', BIRD, `${ts}000`, BIRD_URL) }, /Timestamp in milliseconds/],
    ['a timestamp too old', { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts - 200_000, signature: sig.bird('bk', BIRD, ts - 200_000, BIRD_URL) }, /Timestamp outside the window[\s\S]*s old/],
    ['a timestamp in the future', { scheme: 'bird', body: BIRD, secrets: ['bk'], timestamp: ts + 3_600, signature: sig.bird('bk', BIRD, ts + 3_600, BIRD_URL) }, /Timestamp outside the window[\s\S]*in the future/],
    ['a secret that simply differs', { scheme: 'voice360', body: CALL, secrets: ['k'], signature: sig.voice360('other', CALL) }, /No usual mistake explains it/],
  ];
  const missed = [];
  for (const [name, inputs, cause] of cases) {
    const shown = await setInputs(inputs);
    if (!cause.test(shown.cause)) missed.push(`${name}: got "${shown.cause}" (${shown.verdict})`);
    if (name === 'CRLF instead of LF') await page.screenshot({ path: `${SHOTS}debugger-cause-crlf.png`, fullPage: true });
    if (name === "Bird's body hash as hex") await page.screenshot({ path: `${SHOTS}debugger-cause-bird-hex-hash.png`, fullPage: true });
  }
  assert.deepEqual(missed, []);
});

test('the exact bytes are shown with invisible characters made visible', async () => {
  await setInputs({ scheme: 'volubile', body: '\ufeff{"a":\t1}\n', crlf: true, secrets: ['k'], signature: 'x' });
  const bytes = await page.textContent('#bytes');
  for (const marker of ['BOM', 'TAB', 'CR', 'LF', 'final newline']) assert.ok(bytes.includes(marker), `${marker} in ${bytes}`);
});

test('the generator fills in a correctly signed sample for each provider', async () => {
  await page.fill('#secret', '');
  await page.fill('#url', 'http://127.0.0.1:8787/webhooks/voice360');
  // Every provider the core lists, and Re:amaze's staff reply.
  for (const provider of [...providerNames(), 'reamaze']) {
    await page.selectOption('#generate-provider', provider);
    await page.click('#generate');
    await page.waitForTimeout(100);
    assert.match(await page.getAttribute('#verdict', 'class'), /\bok\b/, `${provider}: ${await page.textContent('#verdict')}`);
    assert.equal(await page.inputValue('#scheme'), provider);
    assert.match(await page.textContent('#curl'), new RegExp(`curl -sS -X POST 'http://127\\.0\\.0\\.1:8787/webhooks/${provider === 'reamaze' ? 'reamaze/sms' : provider}'`));
  }
});

test('the generator shows how a withheld caller reads', async () => {
  await page.selectOption('#generate-provider', 'voice360-withheld');
  await page.click('#generate');
  await page.waitForTimeout(100);
  assert.equal(await page.inputValue('#scheme'), 'voice360');
  const preview = await page.textContent('#preview');
  assert.match(preview, /Incoming call from a withheld number/);
  assert.match(preview, /"name": "Withheld number"/);
  assert.match(preview, /"phone": "withheld:[0-9a-f]{16}"/);
  assert.doesNotMatch(preview, /"phone": "anonymous"/);
});

test('accessible: every control is labelled, and the generator works from the keyboard', async () => {
  const unlabelled = await page.$$eval('input, select, textarea', (els) => els.filter((el) => !el.labels?.length).map((el) => el.id));
  assert.deepEqual(unlabelled, []);
  for (const id of ['scheme', 'body', 'secret', 'signature', 'timestamp', 'url', 'verdict', 'cause', 'preview', 'curl']) {
    assert.ok(await page.$(`#${id}`), `#${id} exists`);
  }
  await page.selectOption('#generate-provider', 'volubile');
  await page.focus('#generate');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(100);
  assert.equal(await page.inputValue('#scheme'), 'volubile');
});

test('readable on a phone: no sideways scrolling at 390 px', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.selectOption('#generate-provider', 'bird');
  await page.click('#generate');
  await page.waitForTimeout(100);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${overflow} px too wide`);
  await page.screenshot({ path: `${SHOTS}debugger-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 1000 });
});

test('after load, the page made no network request', () => {
  assert.deepEqual(requests, []);
});
