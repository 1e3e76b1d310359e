// Shared by the Worker tests: the Miniflare set-up for the built Worker, and
// webhooks signed as each provider signs them (node:crypto, independently
// of the bridge's code).
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Miniflare } from 'miniflare';

const root = new URL('../../', import.meta.url);
export const BRIDGE = 'http://bridge.test';

export const SECRETS = {
  REAMAZE_VOICE_SECRET: 'voice-channel-secret',
  REAMAZE_SMS_SECRET: 'sms-channel-secret',
  VOICE360_WEBHOOK_SECRETS: 'v360-old,v360-current',
  VOICE360_API_KEY: 'v360_dev_test_key',
  BIRD_SIGNING_KEYS: 'bird-signing-key',
  VOLUBILE_WEBHOOK_SECRETS: 'volubile-secret',
};

export const vectors = (name) =>
  JSON.parse(readFileSync(new URL(`tests/vectors/translations/${name}.json`, root), 'utf8')).cases;

/** Miniflare options for the built Worker with the given bindings. */
export function workerOptions({ bindings, logs, queues = false }) {
  const options = {
    modules: true,
    scriptPath: new URL('build/index.js', root).pathname,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['BRIDGE_KV'],
    bindings: { ...SECRETS, ...bindings },
    handleStructuredLogs: ({ message }) => {
      logs?.push(message);
    },
  };
  if (queues) {
    // As wrangler.toml declares them.
    options.queueProducers = {
      DELIVERIES: { queueName: 'reamaze-bridge-deliveries' },
      DEAD_LETTERS: { queueName: 'reamaze-bridge-dead-letters' },
    };
    options.queueConsumers = {
      'reamaze-bridge-deliveries': { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 20, deadLetterQueue: 'reamaze-bridge-dead-letters' },
      'reamaze-bridge-dead-letters': { maxBatchSize: 10, maxBatchTimeout: 1 },
    };
  }
  return options;
}

export async function startWorker(options) {
  const mf = new Miniflare(workerOptions(options));
  await mf.ready;
  return mf;
}

const hmac = (key, data) => createHmac('sha256', key).update(data);
export const sign = {
  voice360: (body) => ({ 'X-Voice360-Signature': `sha256=${hmac('v360-current', body).digest('hex')}` }),
  volubile: (body) => ({ 'X-Webhook-Signature': hmac(SECRETS.VOLUBILE_WEBHOOK_SECRETS, body).digest('hex') }),
  bird: (body, url, ts = Math.floor(Date.now() / 1000)) => {
    const digest = createHash('sha256').update(body).digest();
    const message = Buffer.concat([Buffer.from(`${ts}\n${url}\n`), digest]);
    return { 'messagebird-signature': hmac(SECRETS.BIRD_SIGNING_KEYS, message).digest('base64'), 'messagebird-request-timestamp': String(ts) };
  },
  reamaze: (body) => ({ 'X-Reamaze-Hmac-SHA256': hmac(SECRETS.REAMAZE_SMS_SECRET, body).digest('base64') }),
};

/** A request to the Worker, with the answer's status, headers, text and JSON. */
export async function request(mf, path, { method = 'POST', body, headers = {} } = {}) {
  const res = await mf.dispatchFetch(`${BRIDGE}${path}`, { method, body: method === 'GET' ? undefined : body, headers });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

/** A provider webhook, signed as the provider signs it. */
export function webhook(mf, provider, payload) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const path = `/webhooks/${provider}`;
  return request(mf, path, { body, headers: { 'content-type': 'application/json', ...sign[provider](body, `${BRIDGE}${path}`) } });
}

/** A Voice360 INCOMING_EXTERNAL_CALL for call `uniqueid`. */
export const incomingCall = (uniqueid, extra = {}) => ({
  event_name: 'INCOMING_EXTERNAL_CALL', account_id: '12345', timestamp: 1704067200,
  metadata: { caller_id_number: '+15551234567', caller_id_name: 'John Doe', dnis: '+15559876543', uniqueid, ...extra },
});

/** Waits until `condition()` holds, polling, for at most `ms`. */
export async function waitFor(condition, ms, what) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function unusedPort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
