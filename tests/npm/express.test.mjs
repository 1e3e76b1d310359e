// examples/express-route.mjs: an Express route built on the low-level
// verify, translate and sign, against the loopback Re:amaze stand-in.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../examples/express-route.mjs';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, sign } from '../support/helpers.mjs';

let reamaze;
let server;
let base;

before(async () => {
  reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const app = createApp({ ...SECRETS, REAMAZE_BASE_URL: reamaze.url });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await new Promise((r) => server?.close(r));
  await reamaze?.close();
});

test('a signed Voice360 webhook is verified, translated and posted, signed, to Re:amaze', async () => {
  const body = JSON.stringify(incomingCall('express.1'));
  const res = await fetch(`${base}/voice360`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...sign.voice360(body) } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { event: 'INCOMING_EXTERNAL_CALL', posted: 1 });
  const [posted] = reamaze.accepted();
  assert.ok(posted.signatureValid);
  assert.equal(posted.message.body, 'Incoming call from John Doe');
});

test('a bad signature is refused with the reason', async () => {
  const res = await fetch(`${base}/voice360`, { method: 'POST', body: '{}', headers: { 'X-Voice360-Signature': 'sha256=abc' } });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error, 'malformed_signature');
});
