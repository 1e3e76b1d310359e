// Shared by the JS tests: the bridge under test as a *target* (the built
// Worker in Miniflare, or the npm package's example Node server on
// loopback), and webhooks signed as each provider signs them (node:crypto,
// independently of the bridge's code).
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { contract } from '../../pkg/src/node.mjs';

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

/** Every file of translation vectors, by name (`voice360`, `reamaze-reply`…): a new one is picked up as it lands. */
export const vectorFiles = () =>
  readdirSync(new URL('tests/vectors/translations/', root))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .sort();

/** Every provider's name, from the core's registry (through the package's contract). */
export const providerNames = () => contract().providers.map((p) => p.name);

/** Miniflare options for the built Worker with the given bindings. */
export function workerOptions({ bindings, logs, queues = false }) {
  const options = {
    modules: true,
    scriptPath: new URL('build/index.js', root).pathname,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['BRIDGE_KV'],
    // As wrangler.toml declares it: the claims that deduplicate deliveries.
    durableObjects: { CLAIMS: { className: 'Claims', useSQLite: true } },
    // As wrangler.toml's [assets]: the debugger page at GET /.
    assets: { directory: new URL('www/dist', root).pathname, routerConfig: { has_user_worker: true } },
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
  // Loaded here, not at the top: the npm package's suite, which shares these
  // helpers, also runs on Node.js versions older than Miniflare needs.
  const { Miniflare } = await import('miniflare');
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

async function answer(res) {
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, json, text };
}

/**
 * The built Worker in workerd (Miniflare). A target: `base` (the URL it is
 * reached at), `request(path, init)`, `reconfigure(bindings)`, `close()`,
 * `kv()`, its KV namespace as the runtime holds it, and `claims()`, its
 * Claims Durable Object namespace.
 */
export async function workerTarget({ bindings, logs, queues } = {}) {
  const mf = await startWorker({ bindings, logs, queues });
  return {
    base: BRIDGE,
    request: async (path, { method = 'POST', body, headers = {} } = {}) =>
      answer(await mf.dispatchFetch(`${BRIDGE}${path}`, { method, body: method === 'GET' ? undefined : body, headers })),
    reconfigure: (next) => mf.setOptions(workerOptions({ bindings: next, logs, queues })),
    kv: () => mf.getKVNamespace('BRIDGE_KV'),
    claims: () => mf.getDurableObjectNamespace('CLAIMS'),
    close: () => mf.dispose(),
  };
}

/**
 * The npm package's example server (examples/node-server.mjs) on loopback, as a
 * target, over a MemoryStore (a new one at each `reconfigure`):
 * `storedUnder(prefix)` counts its keys under a prefix. Log lines go to `logs`.
 */
export async function nodeServerTarget({ bindings, logs } = {}) {
  const { startServer } = await import('../../examples/node-server.mjs');
  const { MemoryStore } = await import('../../pkg/src/node.mjs');
  let store;
  const start = (next) => {
    store = new MemoryStore();
    return startServer({ settings: { ...SECRETS, ...next }, store, log: logs ? (line) => logs.push(line) : undefined });
  };
  let server = await start(bindings);
  return {
    storedUnder: (prefix) => store.list(prefix).length,
    get base() {
      return server.url;
    },
    request: async (path, { method = 'POST', body, headers = {} } = {}) =>
      answer(await fetch(`${server.url}${path}`, { method, body: method === 'GET' ? undefined : body, headers })),
    reconfigure: async (next) => {
      await server.close();
      server = await start(next);
    },
    close: () => server.close(),
  };
}

/** A request to a target, with the answer's status, headers, text and JSON. */
export function request(target, path, init) {
  return target.request(path, init);
}

/** A provider webhook, signed as the provider signs it (Bird: over the URL the target is reached at). */
export function webhook(target, provider, payload) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const path = `/webhooks/${provider}`;
  return target.request(path, { body, headers: { 'content-type': 'application/json', ...sign[provider](body, `${target.base}${path}`) } });
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
