// The npm package in Node, through its published entry points (the repo
// links pkg/ as node_modules/reamaze-bridge): the shared vectors, agreement
// with node:crypto on thousands of random inputs, the providers' own
// verification samples, and the error model.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as bridge from 'reamaze-bridge';
import { vectorFiles } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const root = new URL('../../', import.meta.url);
const load = (path) => JSON.parse(readFileSync(new URL(`tests/vectors/${path}`, root), 'utf8'));
const bodyOf = (v) => (v.body !== undefined ? v.body : new Uint8Array(Buffer.from(v.body_base64, 'base64')));

describe('shared vectors', () => {
  test('signatures computed outside our code', () => {
    const { vectors } = load('signatures.json');
    assert.ok(vectors.length >= 40);
    for (const v of vectors) {
      const options = { scheme: v.scheme, secret: v.secret, body: bodyOf(v), timestamp: v.timestamp, url: v.url };
      assert.equal(bridge.sign(options), v.signature, v.name);
      const now = v.timestamp ? Number(v.timestamp) : undefined;
      assert.deepEqual(bridge.verify({ ...options, signature: v.signature, now }), { ok: true, secretIndex: 0 }, v.name);
    }
  });

  test('whole verifications', () => {
    for (const c of load('verify-cases.json').cases) {
      const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const header = bridge.SIGNATURE_HEADERS[c.scheme].toLowerCase();
      const result = bridge.verify({
        scheme: c.scheme, secrets: c.secrets, body: c.body, url: c.url, now: c.now,
        signature: headers[header], timestamp: headers['messagebird-request-timestamp'],
      });
      if (c.expect.ok) assert.deepEqual(result, { ok: true, secretIndex: c.expect.secret_index }, c.name);
      else assert.equal(result.code, c.expect.error, `${c.name}: ${result.message}`);
    }
  });

  test('the likely cause of each verification is the one the vectors name', () => {
    for (const c of load('verify-cases.json').cases) {
      const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const header = bridge.SIGNATURE_HEADERS[c.scheme].toLowerCase();
      const options = {
        scheme: c.scheme, secrets: c.secrets, body: c.body, url: c.url, now: c.now,
        signature: headers[header], timestamp: headers['messagebird-request-timestamp'],
      };
      const { causes, ...result } = bridge.diagnose(options);
      assert.deepEqual(result, bridge.verify(options), `${c.name}: diagnose verifies as verify does`);
      assert.equal(causes[0]?.title, c.expect.cause, `${c.name}: ${JSON.stringify(causes)}`);
      if (c.expect.cause_count !== undefined) assert.equal(causes.length, c.expect.cause_count, `${c.name}: ${JSON.stringify(causes)}`);
    }
  });

  for (const file of vectorFiles()) {
    test(`translations: ${file}`, async () => {
      for (const c of load(`translations/${file}.json`).cases) {
        const body = c.payload_text ?? JSON.stringify(c.payload);
        const settings = c.settings ?? {};
        if (c.before) {
          await throughTheBridge(c);
          continue;
        }
        let got;
        try {
          if (c.provider === 'reamaze-reply') {
            got = { sms: bridge.replyToSms(body, settings) };
          } else {
            const t = bridge.translate(c.provider, body, settings);
            got = t.messages ? { messages: t.messages.map(({ channel, message }) => ({ channel, message })) } : t.held ? { held: t.held } : { ignored: t.ignored };
          }
        } catch (e) {
          assert.ok(e instanceof bridge.BridgeError && e instanceof Error, `${c.name}: ${e}`);
          got = { error: { code: e.code, status: c.expect.error?.status, ...(e.field ? { field: e.field } : {}) } };
        }
        assert.deepEqual(got, c.expect, c.name);
      }
    });
  }

  /** Cases that need what the bridge remembers: through createBridge with a stand-in fetch. */
  async function throughTheBridge(c) {
    const posted = [];
    const fetch = async (url, init) => {
      posted.push(JSON.parse(init.body));
      return new Response('{}', { status: 200 });
    };
    const secrets = Object.fromEntries(bridge.contract().providers.map((p) => [p.secretsSetting, 'k']));
    const b = bridge.createBridge({ ...secrets, REAMAZE_VOICE_SECRET: 'v', REAMAZE_SMS_SECRET: 's', ...c.settings }, { fetch });
    const send = (payload) => {
      const body = JSON.stringify(payload);
      const url = `http://b.test/webhooks/${c.provider}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers = { [bridge.SIGNATURE_HEADERS[c.provider]]: bridge.sign({ scheme: c.provider, secret: 'k', body, timestamp, url }) };
      const stamp = bridge.contract().schemes.find((s) => s.name === c.provider).timestampHeader;
      if (stamp) headers[stamp] = timestamp;
      return b.fetch(new Request(url, { method: 'POST', body, headers }));
    };
    for (const earlier of c.before) assert.ok([200, 202].includes((await send(earlier)).status), c.name);
    posted.length = 0;
    const res = await send(c.payload);
    if (c.expect.error) {
      assert.equal(res.status, c.expect.error.status, c.name);
      assert.equal((await res.json()).error, c.expect.error.code, c.name);
    } else if (c.expect.ignored) {
      assert.equal(res.status, 200, c.name);
      assert.equal((await res.json()).reason, c.expect.ignored, c.name);
      assert.deepEqual(posted, [], c.name);
    } else {
      assert.deepEqual(posted, c.expect.messages.map((m) => m.message), c.name);
    }
  }
});

describe('agreement with node:crypto on random input', () => {
  const ROUNDS = 1500;
  const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
  const expected = {
    reamaze: (secret, body) => hmac(secret, body).toString('base64'),
    voice360: (secret, body) => `sha256=${hmac(secret, body).toString('hex')}`,
    volubile: (secret, body) => hmac(secret, body).toString('hex'),
    bird: (secret, body, ts, url) =>
      hmac(secret, Buffer.concat([Buffer.from(`${ts}\n${url}\n`), createHash('sha256').update(body).digest()])).toString('base64'),
  };
  for (const scheme of Object.keys(expected)) {
    test(`${scheme}: ${ROUNDS} random bodies and secrets`, () => {
      for (let i = 0; i < ROUNDS; i += 1) {
        const body = new Uint8Array(randomBytes(randomInt(0, 2048)));
        // Secrets as text (any UTF-8) half the time, raw bytes the other half.
        const secret = i % 2 ? randomBytes(randomInt(1, 80)).toString('base64') + 'é☎' : new Uint8Array(randomBytes(randomInt(1, 80)));
        const ts = String(1_700_000_000 + randomInt(0, 1e8));
        const url = `https://h${i}.example/webhooks/bird?x=${i}`;
        const want = expected[scheme](secret, body, ts, url);
        assert.equal(bridge.sign({ scheme, secret, body, timestamp: ts, url }), want);
        const checked = bridge.verify({ scheme, secret, body, signature: want, timestamp: ts, url, now: Number(ts) });
        assert.equal(checked.ok, true, JSON.stringify(checked));
      }
    });
  }
});

describe('what crosses into the core comes back as it went (one frame per call)', () => {
  // Text of every width: ASCII, accents, CJK, emoji beyond the Basic
  // Multilingual Plane, joiners and lone surrogates (which UTF-8 cannot
  // hold: the core gets U+FFFD, as TextEncoder gives).
  const pieces = ['a', 'Z ', 'é', 'ß', '日本', '☎', '😀', '👩‍👩‍👧', '\u0301', '\ud800', '"', '\\', '/', '\n'];
  const text = (n) => Array.from({ length: n }, () => pieces[randomInt(0, pieces.length)]).join('');
  const sms = (from, body) => JSON.stringify({ event_name: 'SMS_RECEIVED', timestamp: 1704067200, metadata: { from_number: from, to_number: '+15559876543', message_id: `m-${text(3)}`, body } });
  const signed = (secret, body) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

  test('verify agrees with node:crypto for generated secrets, signatures and bodies of every width', () => {
    for (let i = 0; i < 600; i += 1) {
      const secret = text(randomInt(1, 200));
      // Strings and bytes, from empty to past the first room for a frame.
      const body = i % 3 ? text(randomInt(0, 3000)) : new Uint8Array(randomBytes(randomInt(0, 70_000)));
      const right = signed(secret, body);
      const signature = [right, right.toUpperCase(), `${right.slice(0, -1)}0`, text(randomInt(0, 300))][i % 4];
      const ok = signature.toLowerCase() === right || signature === right.toUpperCase();
      const matches = ok && timingSafeEqual(Buffer.from(signature.slice(7).toLowerCase(), 'hex'), Buffer.from(right.slice(7), 'hex'));
      const result = bridge.verify({ scheme: 'voice360', secrets: ['another', secret], body, signature });
      assert.equal(result.ok, matches, `${i}: ${JSON.stringify(result)}`);
      if (result.ok) assert.equal(result.secretIndex, 1);
      else assert.match(result.code, /^(signature_mismatch|malformed_signature|missing_signature)$/);
    }
  });

  test('a processor gives back the text, fields and signatures it was given, whatever their width', () => {
    const processor = bridge.createProcessor({ VOICE360_WEBHOOK_SECRETS: ['k☎'], REAMAZE_SMS_SECRET: 'sms-é' });
    for (let i = 0; i < 400; i += 1) {
      // Every fifth sender is not a phone number: refused, naming its field.
      const from = i % 5 ? '+15551234567' : `+1 ${text(randomInt(1, 20))}x`;
      // Now and then a body large enough to grow the core's memory mid-run.
      const body = sms(from, text(i % 50 === 0 ? 200_000 : randomInt(1, 2000)));
      const result = processor.process('voice360', { body, signature: signed('k☎', body) });
      if (i % 7 === 3) {
        // An event the bridge does not know, named in text of every width:
        // ignored, and named back whole.
        const name = `NEW_${text(randomInt(1, 30)).replace(/[\n\\"]/g, '')}`;
        const unknown = JSON.stringify({ event_name: name, timestamp: 1704067200 });
        const ignored = processor.process('voice360', { body: unknown, signature: signed('k☎', unknown) });
        assert.equal(ignored.event, name.replace(/\ud800/g, '\ufffd').trim());
        assert.ok(ignored.ignored.startsWith(`${ignored.event} is not`), ignored.ignored);
      }
      if (i % 5 === 0) {
        assert.equal(result.ok, false, JSON.stringify(result).slice(0, 300));
        assert.equal(result.field, 'metadata.from_number');
        assert.equal(result.status, 400);
        continue;
      }
      assert.equal(result.ok, true, JSON.stringify(result).slice(0, 300));
      const [delivery] = result.deliveries;
      assert.equal(delivery.headers['X-Reamaze-Hmac-SHA256'], createHmac('sha256', 'sms-é').update(delivery.body).digest('base64'));
      // The same message as translate's (which answers through JSON, not a frame).
      assert.deepEqual(JSON.parse(delivery.body), bridge.translate('voice360', body).messages[0].message);
    }
  });
});

test('long bodies, on each side of the size where the host hashes them without a copy', () => {
  for (const size of [65_535, 65_536, 65_600, 1_048_576]) {
    const body = new Uint8Array(randomBytes(size));
    for (const secret of ['short', 'a key longer than one SHA-256 block, which HMAC hashes before use: '.repeat(2)]) {
      const want = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      assert.equal(bridge.sign({ scheme: 'voice360', secret, body }), want, `${size} bytes`);
      assert.equal(bridge.verify({ scheme: 'voice360', secret, body, signature: want }).ok, true, `${size} bytes`);
    }
  }
});

test('long texts, ASCII or not, are verified as their UTF-8 bytes, on each side of the length a frame gives ASCII room only', () => {
  // From 64 KiB characters, a text is given room for its length in the
  // core's frame, and encoded apart when it has more bytes than that.
  const tails = ['', 'é', '👍', '\ud83d', 'a\u0000'];
  for (const length of [65_535, 65_536, 65_537, 200_000]) {
    for (const tail of tails) {
      for (const head of ['', 'ü']) {
        const body = head + 'x'.repeat(length - head.length - tail.length) + tail;
        const want = `sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`;
        const what = `${length} characters, ${JSON.stringify(head)} first, ${JSON.stringify(tail)} last`;
        assert.deepEqual(bridge.verify({ scheme: 'voice360', secrets: ['other', 'k'], body, signature: want }), { ok: true, secretIndex: 1 }, what);
        assert.equal(bridge.verify({ scheme: 'voice360', secret: 'k', body: body + ' ', signature: want }).ok, false, what);
      }
    }
  }
});

test('secrets used again after many others, on both sides of 256 bytes, sign as node:crypto does', () => {
  // The core keeps each key's HMAC state for its last 64 keys: 130 keys in
  // turn push each one out before it comes back; "secret-1" is a prefix of
  // "secret-10".
  for (let round = 0; round < 400; round += 1) {
    const secret = `secret-${round % 130}`;
    const body = new Uint8Array(randomBytes(round % 2 ? 300 : 100));
    const want = createHmac('sha256', secret).update(body).digest('base64');
    assert.equal(bridge.sign({ scheme: 'reamaze', secret, body }), want, `${secret}, ${body.length} bytes`);
  }
});

test("Node's SHA-256 is the one used from 256 bytes, and a host that fails is done without", async () => {
  // A second instance of the package's core, whose host hash the test picks.
  const core = await import(new URL('pkg/dist/reamaze_bridge.js?host-test', root).href);
  core.initSync({ module: readFileSync(new URL('pkg/dist/reamaze_bridge_bg.wasm', root)) });
  const { makeApi } = await import(new URL('pkg/src/api.mjs', root).href);
  const api = makeApi(core);
  const secret = 'webhook-secret';
  const verifies = (size) => {
    const body = new Uint8Array(randomBytes(size));
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    return api.verify({ scheme: 'voice360', secret, body, signature }).ok;
  };
  core.setHostSha256(() => '00'.repeat(32));
  assert.equal(verifies(255), true, 'below 256 bytes the wasm hash is used');
  assert.equal(verifies(256), false, "from 256 bytes the host's answer is used");
  for (const broken of [() => 'not hex', () => '00', () => new Uint8Array(32), () => { throw new Error('no'); }]) {
    core.setHostSha256(broken);
    assert.equal(verifies(1024), true, `a host answering ${broken} is done without`);
  }
  core.setHostSha256((data) => createHash('sha256').update(data).digest('hex'));
  assert.equal(verifies(1024), true);
});

describe("the reference texts' own verifiers accept what the package signs", () => {
  test("Voice360's Node sample (voice360-api-v3.txt, verbatim)", () => {
    // From the reference text:
    function verifyVoice360Signature(rawBody, signatureHeader, signingSecret) {
      // signatureHeader format: "sha256=<hex>"
      const [scheme, providedHex] = (signatureHeader || '').split('=');
      if (scheme !== 'sha256' || !providedHex) return false;

      const expectedHex = require('crypto')
        .createHmac('sha256', signingSecret)
        .update(rawBody)  // raw bytes of the request body
        .digest('hex');

      // Constant-time comparison
      const a = Buffer.from(providedHex, 'hex');
      const b = Buffer.from(expectedHex, 'hex');
      return a.length === b.length && timingSafeEqual(a, b);
    }
    for (const body of ['', '{"event_name":"CALL_ENDED"}', randomBytes(500)]) {
      const signature = bridge.sign({ scheme: 'voice360', secret: 'whsec_123', body });
      assert.ok(verifyVoice360Signature(Buffer.from(body), signature, 'whsec_123'));
      assert.ok(!verifyVoice360Signature(Buffer.from(body), signature, 'another'));
    }
  });

  test("Re:amaze's algorithm (base64 of HMAC-SHA256 of the body, keyed by the channel's shared secret)", () => {
    // PHP: base64_encode(hash_hmac('sha256', $data, $shared_secret, true));
    // Ruby: Base64.strict_encode64(OpenSSL::HMAC.digest('sha256', SHARED_SECRET, data))
    const data = '{"id":"1","body":"hello"}';
    const calculated = createHmac('sha256', 'your_shared_secret').update(data).digest('base64');
    assert.equal(bridge.sign({ scheme: 'reamaze', secret: 'your_shared_secret', body: data }), calculated);
    assert.equal(calculated, 'FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=');
    // Ruby's sending example uses Base64.encode64(...).strip: the same value for a 32-byte digest.
    assert.equal(Buffer.from(createHmac('sha256', 'your_shared_secret').update(data).digest()).toString('base64').trim(), calculated);
  });

  test("Bird's documented algorithm, written out with node:crypto", () => {
    function birdVerify(rawBody, signature, timestamp, url, signingKey) {
      const bodyHash = createHash('sha256').update(rawBody).digest(); // the raw 32 bytes
      const payload = Buffer.concat([Buffer.from(`${timestamp}\n${url}\n`), bodyHash]);
      const expected = createHmac('sha256', signingKey).update(payload).digest();
      const given = Buffer.from(signature, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    const body = '{"service":"channels","event":"voice.inbound","payload":{"id":"c1","status":"completed"}}';
    const url = 'https://bridge.example.com/webhooks/bird';
    const signature = bridge.sign({ scheme: 'bird', secret: 'mysecretkey', body, timestamp: 1704067200, url });
    assert.ok(birdVerify(body, signature, '1704067200', url, 'mysecretkey'));
    assert.ok(!birdVerify(body, signature, '1704067200', `${url}/`, 'mysecretkey'));
  });

  test("Volubile's Java sample (hex of HMAC-SHA256 of the payload), in node:crypto", () => {
    const payload = '{\n"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",\n"type": "INBOUND"\n}\n';
    const hex = createHmac('sha256', '{volubile - webhook - secret}').update(payload).digest('hex');
    assert.equal(bridge.sign({ scheme: 'volubile', secret: '{volubile - webhook - secret}', body: payload }), hex);
  });
});

describe('the API', () => {
  test('CommonJS and ESM give the same functions and results', () => {
    const cjs = require('reamaze-bridge');
    for (const name of ['sign', 'verify', 'translate', 'replyToSms', 'createProcessor', 'createBridge', 'init', 'MemoryStore', 'BridgeError', 'SIGNATURE_HEADERS']) {
      assert.ok(cjs[name], `require() lacks ${name}`);
    }
    const options = { scheme: 'bird', secret: 'k', body: 'x', timestamp: 1, url: 'https://u' };
    assert.equal(cjs.sign(options), bridge.sign(options));
  });

  test("the contract is the core's: schemes, providers, signature headers, webhook paths, Bird's window", () => {
    const { schemes, providers, signatureHeaders, webhookPaths, birdWindow } = bridge.contract();
    assert.deepEqual(signatureHeaders, { ...bridge.SIGNATURE_HEADERS }, 'SIGNATURE_HEADERS is the contract\'s');
    // As the providers' references give them.
    const documented = { reamaze: 'X-Reamaze-Hmac-SHA256', voice360: 'X-Voice360-Signature', bird: 'messagebird-signature', volubile: 'X-Webhook-Signature' };
    for (const [scheme, header] of Object.entries(documented)) assert.equal(signatureHeaders[scheme], header, scheme);
    assert.equal(webhookPaths.reamaze, '/webhooks/reamaze/sms');
    assert.deepEqual(Object.keys(webhookPaths), [...providers.map((p) => p.name), 'reamaze']);
    for (const p of providers) {
      assert.equal(webhookPaths[p.name], `/webhooks/${p.name}`, p.name);
      const scheme = schemes.find((s) => s.name === p.scheme);
      assert.equal(signatureHeaders[p.scheme], scheme.header, p.name);
      assert.equal(p.settings[0], p.secretsSetting, `${p.name}: its secrets' setting comes first`);
      for (const sample of p.samples) assert.doesNotThrow(() => bridge.translate(p.name, sample.json), `${p.name}'s sample ${sample.key}`);
    }
    assert.deepEqual(birdWindow, { maxAgeSeconds: 86400, maxFutureSeconds: 300 });
    assert.deepEqual(schemes.find((s) => s.name === 'bird').window, birdWindow);
  });

  test('a BridgeError carries the status the bridge answers it with', () => {
    const reply = JSON.stringify({ to: { phone: '+15551112222' }, from: { phone: '+15553334444' }, body: 'hi' });
    assert.throws(() => bridge.replyToSms(reply, { SMS_CHANNEL_NUMBER: '+16501234567' }), (e) => e.code === 'recipient_unclear' && e.status === 422);
    assert.throws(() => bridge.translate('voice360', '{'), (e) => e.code === 'invalid_json' && e.status === 400);
  });

  test('bodies and secrets as strings, Uint8Array, ArrayBuffer or DataView give the same signature', () => {
    const text = '{"a":"é"}';
    const u8 = new TextEncoder().encode(text);
    const forms = [text, u8, u8.buffer.slice(0), new DataView(u8.buffer.slice(0))];
    const signatures = forms.map((body) => bridge.sign({ scheme: 'volubile', secret: forms[0], body }));
    assert.equal(new Set(signatures).size, 1);
  });

  test('createBridge starts with a setting that cannot be used, turns off only what depends on it, and says so', async () => {
    const b = bridge.createBridge({ REAMAZE_BASE_URL: 'nope', VOICE360_WEBHOOK_SECRETS: 'k', REAMAZE_VOICE_SECRET: 'v' });
    const health = await (await b.fetch(new Request('http://b.test/healthz'))).json();
    assert.deepEqual(health.invalid_settings, [{ setting: 'REAMAZE_BASE_URL', expected: 'an http:// or https:// URL' }]);
    assert.deepEqual(health.reamaze, { voice: false, sms: false });
  });

  test('errors are Errors with a stable code', () => {
    const cases = [
      [() => bridge.sign({ scheme: 'twilio', secret: 'k', body: '' }), 'unknown_scheme'],
      [() => bridge.sign({ scheme: 'bird', secret: 'k', body: '' }), 'missing_url'],
      [() => bridge.sign({ scheme: 'reamaze', secret: 42, body: '' }), 'invalid_argument'],
      [() => bridge.translate('voice360', 'not json'), 'invalid_json'],
      [() => bridge.translate('twilio', '{}'), 'unknown_provider'],
      [() => bridge.translate('voice360', '{}', { BIRD_MAX_AGE_SECONDS: 'a day' }), 'invalid_settings'],
      [() => bridge.replyToSms('{}', {}), 'not_configured'],
    ];
    for (const [run, code] of cases) {
      assert.throws(run, (e) => e instanceof Error && e instanceof bridge.BridgeError && e.code === code, code);
    }
    const missing = (() => {
      try {
        bridge.translate('voice360', '{"event_name":"CALL_ENDED","timestamp":1,"metadata":{"caller_id_number":"+1555CALLME"}}');
      } catch (e) {
        return e;
      }
    })();
    assert.equal(missing.field, 'metadata.caller_id_number');
  });

  test('a bad signature is a result, not an exception; secrets never appear in it', () => {
    const result = bridge.verify({ scheme: 'reamaze', secrets: ['super-secret-value'], body: '{}', signature: 'AAAA' });
    assert.equal(result.ok, false);
    assert.equal(result.code, 'malformed_signature');
    assert.ok(!JSON.stringify(result).includes('super-secret-value'));
    assert.equal(bridge.verify({ scheme: 'reamaze', secrets: [], body: '{}', signature: 'x' }).code, 'no_secrets_configured');
  });

  test('createProcessor verifies, translates and signs in one call, and remembers calls', () => {
    const processor = bridge.createProcessor({ VOICE360_WEBHOOK_SECRETS: ['old', 'k'], REAMAZE_VOICE_SECRET: 'voice' });
    const call = JSON.stringify({ event_name: 'INCOMING_EXTERNAL_CALL', timestamp: 1704067200, metadata: { caller_id_number: '+1555', caller_id_name: 'Ann', dnis: '+1666', uniqueid: 'p1' } });
    const signature = `sha256=${createHmac('sha256', 'k').update(call).digest('hex')}`;
    const result = processor.process('voice360', { body: call, signature });
    assert.equal(result.ok, true);
    assert.equal(result.event, 'INCOMING_EXTERNAL_CALL');
    const [delivery] = result.deliveries;
    assert.equal(delivery.url, 'https://www.reamaze.io/incoming/voice');
    assert.equal(delivery.headers['X-Reamaze-Hmac-SHA256'], createHmac('sha256', 'voice').update(delivery.body).digest('base64'));
    assert.equal(JSON.parse(delivery.body).body, 'Incoming call from Ann');

    const transcript = JSON.stringify({ event_name: 'TRANSCRIPTION_FINISHED', timestamp: 1704067300, metadata: { uniqueid: 'p1', success: false, error: 'too short' } });
    const placed = processor.process('voice360', { body: transcript, signature: `sha256=${createHmac('sha256', 'k').update(transcript).digest('hex')}` });
    assert.deepEqual(JSON.parse(placed.deliveries[0].body).from, { name: 'Ann', phone: '+1555' }, 'placed through the remembered call');

    assert.deepEqual(
      { ...processor.process('voice360', { body: call, signature: 'sha256=00' }), message: undefined },
      { ok: false, status: 401, code: 'malformed_signature', message: undefined },
    );
    const junk = '{"event_name":"CALL_ENDED","timestamp":1,"metadata":{"caller_id_number":"+1555CALLME"}}';
    const missing = processor.process('voice360', { body: junk, signature: `sha256=${createHmac('sha256', 'k').update(junk).digest('hex')}` });
    assert.equal(missing.status, 400);
    assert.equal(missing.code, 'invalid_field');
    assert.equal(missing.field, 'metadata.caller_id_number');
    assert.equal(bridge.createProcessor({}).process('bird', { body: '{}' }).status, 503, 'not configured');
    const unknown = JSON.stringify({ event_name: 'SOMETHING_NEW', timestamp: 1704067200 });
    assert.deepEqual(processor.process('voice360', { body: unknown, signature: `sha256=${createHmac('sha256', 'k').update(unknown).digest('hex')}` }), {
      ok: true,
      event: 'SOMETHING_NEW',
      ignored: 'SOMETHING_NEW is not a Voice360 event the bridge knows: nothing to post',
    });
  });

  test('createBridge uses a custom async store', async () => {
    const data = new Map();
    const calls = [];
    const store = {
      async get(key) {
        calls.push(['get', key]);
        return data.get(key);
      },
      async put(key, value, ttl) {
        calls.push(['put', key, ttl]);
        data.set(key, value);
      },
      // As Redis's SET key value NX GET EX ttl: the value held, or null when written.
      async claim(key, value, ttl) {
        calls.push(['claim', key, ttl]);
        if (data.has(key)) return data.get(key);
        data.set(key, value);
        return null;
      },
      async delete(key) {
        calls.push(['delete', key]);
        data.delete(key);
      },
    };
    const b = bridge.createBridge({ VOICE360_WEBHOOK_SECRETS: 'k', REAMAZE_VOICE_SECRET: 'v' }, { store, fetch: async () => new Response('', { status: 201 }) });
    const body = JSON.stringify({ event_name: 'USER_DIAL', timestamp: 1704067200, metadata: { dialed_number: '+1555', uniqueid: 'u1' } });
    const request = () => new Request('http://b.test/webhooks/voice360', { method: 'POST', body, headers: { 'X-Voice360-Signature': bridge.sign({ scheme: 'voice360', secret: 'k', body }) } });
    assert.equal((await (await b.fetch(request())).json()).status, 'delivered');
    assert.equal((await (await b.fetch(request())).json()).status, 'duplicate');
    assert.ok(calls.some(([op, key, ttl]) => op === 'claim' && key === 'seen:voice360:USER_DIAL:u1' && ttl > 0));
    assert.ok(calls.some(([op, key, ttl]) => op === 'put' && key === 'seen:voice360:USER_DIAL:u1' && ttl > 0));
  });

  test('createProcessor takes a header as Node gives it: a string, or a list', () => {
    const processor = bridge.createProcessor({ VOICE360_WEBHOOK_SECRETS: 'k', REAMAZE_VOICE_SECRET: 'v' });
    const body = JSON.stringify({ event_name: 'USER_DIAL', timestamp: 1704067200, metadata: { dialed_number: '+1555', uniqueid: 'h1' } });
    const signature = bridge.sign({ scheme: 'voice360', secret: 'k', body });
    assert.equal(processor.process('voice360', { body, signature: [signature] }).ok, true);
    assert.equal(processor.process('voice360', { body, signature: [signature, signature] }).code, 'repeated_header', 'sent twice: joined, as Headers.get joins it, and refused');
  });

  test('createBridge refuses a store that cannot claim, naming what is missing', () => {
    const store = { get() {}, put() {} };
    assert.throws(() => bridge.createBridge({}, { store }), (e) => e.code === 'invalid_store' && /claim, delete/.test(e.message));
  });
});
