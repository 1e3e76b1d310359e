// Operating the bridge, in the Worker inside workerd (Miniflare): the shared
// operations suite (tests/support/operations.mjs), then what only queue
// mode has, the dead letter alert.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startReamaze } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, waitFor, webhook, workerTarget } from '../support/helpers.mjs';
import { operationsSuite } from '../support/operations.mjs';

const handle = operationsSuite(async (options) => {
  const target = await workerTarget(options);
  target.storedUnder = async (prefix) => (await (await target.kv()).list({ prefix })).keys.length;
  return target;
});

test('dead_letter.created: when Re:amaze refuses a message in queue mode', async () => {
  const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const queued = await workerTarget({ logs: handle.logs, queues: true, bindings: { ...handle.bindings(), REAMAZE_BASE_URL: reamaze.url } });
  try {
    reamaze.policy = () => ({ status: 400, body: { error: 'phone number is invalid' } });
    assert.equal((await webhook(queued, 'voice360', incomingCall('alert.dead'))).status, 202);
    await waitFor(() => handle.receiver.received.some((r) => r.body.type === 'dead_letter.created'), 20_000, 'the dead letter alert');
    const [alert] = handle.receiver.received.filter((r) => r.body.type === 'dead_letter.created');
    assert.ok(alert.signed);
    assert.equal(alert.body.data.message_id, 'voice360:INCOMING_EXTERNAL_CALL:alert.dead');
    assert.equal(alert.body.data.upstream_status, 400);
    assert.equal(alert.body.bridge, 'ops-test');
    // The deployment first, "1 attempt", and Re:amaze's answer said once.
    assert.equal(
      alert.body.text,
      '[ops-test] Dead letter: voice360 INCOMING_EXTERNAL_CALL message voice360:INCOMING_EXTERNAL_CALL:alert.dead was not delivered after 1 attempt: Re:amaze answered 400: {"error":"phone number is invalid"}. Replay it from the admin console.',
    );
  } finally {
    await queued.close();
    await reamaze.close();
  }
});
