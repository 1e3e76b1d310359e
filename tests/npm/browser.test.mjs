// The package's browser build, loaded by headless Chromium (Debian's, driven
// by playwright-core) from a loopback server: init() loads the .wasm, then
// the shared signature vectors sign and verify in the page, and the hostile
// requests go through createBridge there.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { chromium } from 'playwright-core';
import { SECRETS, vectorFiles } from '../support/helpers.mjs';
import { assertHostileAnswer, hostile, hostileRequest } from '../support/hostile.mjs';

const pkg = new URL('../../pkg/', import.meta.url);
const vectors = JSON.parse(await readFile(new URL('../vectors/signatures.json', import.meta.url), 'utf8')).vectors;
const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

let server;
let base;
let browser;

before(async () => {
  server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><title>reamaze-bridge in a browser</title>');
    }
    try {
      const file = await readFile(new URL(`.${path}`, pkg));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(file);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
});

test('the browser build loads with init() and passes the signature vectors', { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  const result = await page.evaluate(async (vectors) => {
    const m = await import('/src/browser.mjs');
    let before;
    try {
      m.sign({ scheme: 'reamaze', secret: 'k', body: '' });
    } catch (e) {
      before = e.code;
    }
    await m.init();
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const failures = [];
    for (const v of vectors) {
      const body = v.body ?? bytes(v.body_base64);
      const options = { scheme: v.scheme, secret: v.secret, body, timestamp: v.timestamp, url: v.url };
      const signed = m.sign(options);
      const checked = m.verify({ ...options, signature: v.signature, now: v.timestamp ? Number(v.timestamp) : undefined });
      if (signed !== v.signature || !checked.ok) failures.push(v.name);
    }
    const tampered = m.verify({ scheme: 'reamaze', secret: 'your_shared_secret', body: '{"id":"1","body":"hellO"}', signature: 'FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=' });
    return { before, failures, checked: vectors.length, tampered: tampered.code, userAgent: navigator.userAgent };
  }, vectors);
  assert.equal(result.before, 'not_initialized');
  assert.deepEqual(result.failures, []);
  assert.equal(result.checked, vectors.length);
  assert.equal(result.tampered, 'signature_mismatch');
  assert.deepEqual(errors, []);
  console.log(`browser: ${result.checked} vectors signed and verified in ${result.userAgent.match(/(HeadlessChrome|Chrome)\/[\d.]+/)?.[0]}`);
  await page.close();
});

test('every kind of party reads in the browser as the identity vectors say', { timeout: 60_000 }, async () => {
  const cases = [];
  for (const file of vectorFiles()) {
    const all = JSON.parse(await readFile(new URL(`../vectors/translations/${file}.json`, import.meta.url), 'utf8')).cases;
    cases.push(...all.filter((c) => c.source === 'identity_cases.py' && !c.before));
  }
  const page = await browser.newPage();
  await page.goto(base);
  const got = await page.evaluate(async (cases) => {
    const m = await import('/src/browser.mjs');
    await m.init();
    return cases.map((c) => {
      const body = JSON.stringify(c.payload);
      try {
        if (c.provider === 'reamaze-reply') return { sms: m.replyToSms(body, c.settings ?? {}) };
        const t = m.translate(c.provider, body, c.settings ?? {});
        return { messages: t.messages.map(({ channel, message }) => ({ channel, message })) };
      } catch (e) {
        return { error: { code: e.code, status: e.status, ...(e.field ? { field: e.field } : {}) } };
      }
    });
  }, cases);
  assert.ok(cases.length >= 20, `${cases.length} identity vectors`);
  cases.forEach((c, i) => assert.deepEqual(got[i], c.expect, c.name));
  await page.close();
});

test('the hostile requests get their answer from createBridge in the browser, with no store write and no fetch', { timeout: 60_000 }, async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  // A host name that resolves nowhere: the bridge must not try it.
  const origin = 'https://bridge.invalid';
  const settings = { ...SECRETS, ...hostile.settings, REAMAZE_BASE_URL: `${origin}/reamaze` };
  const requests = hostile.cases.map((testCase) => {
    const { path, body, headers } = hostileRequest(testCase, origin, settings);
    return { url: `${origin}${path}`, body: body.toString('base64'), headers };
  });
  const answers = await page.evaluate(async ({ requests, settings }) => {
    const m = await import('/src/browser.mjs');
    await m.init();
    let writes = 0;
    let fetches = 0;
    const entries = new Map();
    const store = {
      get: (key) => entries.get(key),
      put: (key, value) => {
        writes += 1;
        entries.set(key, value);
      },
      claim: (key, value) => {
        writes += 1;
        if (entries.has(key)) return entries.get(key);
        entries.set(key, value);
        return undefined;
      },
      delete: (key) => {
        writes += 1;
        entries.delete(key);
      },
    };
    const fetch = () => {
      fetches += 1;
      return Promise.reject(new Error('no request may leave the bridge'));
    };
    const bridge = m.createBridge(settings, { store, fetch });
    const answers = [];
    for (const { url, body, headers } of requests) {
      const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
      const response = await bridge.fetch(new Request(url, { method: 'POST', headers, body: bytes }));
      const text = await response.text();
      answers.push({ status: response.status, text, writes, fetches });
    }
    return answers;
  }, { requests, settings });
  assert.equal(answers.length, hostile.cases.length);
  hostile.cases.forEach((testCase, i) => {
    const answer = { ...answers[i], json: JSON.parse(answers[i].text) };
    try {
      assertHostileAnswer(testCase, answer, SECRETS);
    } catch (e) {
      e.message = `${testCase.name}: ${e.message}`;
      throw e;
    }
    assert.deepEqual([answer.writes, answer.fetches], [0, 0], `${testCase.name}: no store write, no fetch`);
  });
  assert.deepEqual(errors, []);
  await page.close();
});
