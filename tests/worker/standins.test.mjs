// The loopback stand-ins themselves (scripts/standins.mjs): a connection
// dropped halfway through a request must not become an unhandled rejection,
// which Node's test runner pins on whatever test file is running (the queue
// fault run pauses Re:amaze while workerd is mid-request, and CI once failed
// that way).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { reamazeSignature, startReamaze } from '../../scripts/standins.mjs';

let reamaze;
const unhandled = [];
const onUnhandled = (error) => unhandled.push(error);

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  reamaze = await startReamaze({ voiceSecret: 'voice-secret', smsSecret: 'sms-secret' });
});

after(async () => {
  await reamaze?.close();
  process.off('unhandledRejection', onUnhandled);
});

/** Sends the headers and part of a body, then waits: a request left mid-body. */
function halfRequest(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /incoming/voice HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"message":');
      // Once the stand-in has the headers it is reading the body.
      setTimeout(() => resolve(socket), 100);
    });
    // Before it resolves, an error is a failure; after, it is the stand-in
    // dropping the connection, which is the point (and reject a no-op).
    socket.on('error', reject);
  });
}

test('a request cut off mid-body by pause() is dropped quietly, and the stand-in still serves after resume()', async () => {
  await halfRequest(reamaze.port);
  await reamaze.pause();
  await new Promise((r) => setTimeout(r, 100)); // where an unhandled rejection would surface
  await reamaze.resume();

  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
  assert.deepEqual(reamaze.received, [], 'the cut-off request is not recorded');

  const body = JSON.stringify({ message: 'whole' });
  const res = await fetch(`${reamaze.url}/incoming/voice`, {
    method: 'POST',
    body,
    headers: { 'X-Reamaze-Hmac-SHA256': reamazeSignature('voice-secret', body) },
  });
  assert.equal(res.status, 200, await res.text());
  assert.equal(reamaze.accepted().length, 1);
});
