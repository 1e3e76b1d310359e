// The reference the Rust Worker is measured against: the same work for a
// Voice360 webhook, hand-written as a JS Worker with WebCrypto. It verifies
// sha256=<hex> against each secret (crypto.subtle.verify: constant time),
// parses, reads the call's remembered parties from KV, claims the message's
// id in its Durable Object (bench/claims.mjs, as the Rust Worker does),
// builds the Re:amaze message, signs it, posts it, and writes the call's
// parties and the done-mark back: the reads, writes and claims the bridge
// does.
import { Claims, storeOf } from './claims.mjs';

export { Claims };

const encoder = new TextEncoder();
const keyCache = new Map();

function hmacKey(secret) {
  if (!keyCache.has(secret)) {
    keyCache.set(secret, crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));
  }
  return keyCache.get(secret);
}

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const hexBytes = (hex) => Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16));
const base64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));

export default {
  // The same one log line per request as the Rust Worker.
  async fetch(request, env) {
    const started = Date.now();
    const response = await handle(request, env);
    console.log(JSON.stringify({ method: request.method, route: new URL(request.url).pathname, provider: 'voice360', status: response.status, duration_ms: Date.now() - started }));
    return response;
  },
};

const handler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/webhooks/voice360') return json(404, { status: 'error', error: 'not_found' });
    const body = new Uint8Array(await request.arrayBuffer());
    const header = request.headers.get('X-Voice360-Signature') ?? '';
    if (!/^sha256=[0-9a-fA-F]{64}$/.test(header)) return json(401, { status: 'error', error: 'malformed_signature' });
    const mac = hexBytes(header.slice(7));
    let ok = false;
    for (const secret of env.VOICE360_WEBHOOK_SECRETS.split(',')) {
      if (await crypto.subtle.verify('HMAC', await hmacKey(secret), mac, body)) {
        ok = true;
        break;
      }
    }
    if (!ok) return json(401, { status: 'error', error: 'signature_mismatch' });
    let event;
    try {
      event = JSON.parse(new TextDecoder().decode(body));
    } catch (e) {
      return json(400, { status: 'error', error: 'invalid_json', message: e.message });
    }
    const meta = event.metadata ?? {};
    if (!meta.caller_id_number) return json(400, { status: 'error', error: 'missing_field', field: 'metadata.caller_id_number' });
    const store = storeOf(env);
    const callKey = `call:voice360:${meta.uniqueid}`;
    const memory = JSON.parse((await store.get(callKey)) ?? '{}');
    const id = `voice360:${event.event_name}:${meta.uniqueid}`;
    const held = await store.claim(`seen:${id}`, 'pending', 300);
    if (held === 'pending') return json(503, { status: 'error', error: 'in_progress' });
    if (held !== null) return json(200, { status: 'duplicate' });
    const name = meta.caller_id_name ?? memory.customer_name;
    const message = {
      id,
      direction: 'inbound',
      from: name ? { name, phone: meta.caller_id_number } : { phone: meta.caller_id_number },
      to: { phone: meta.dnis ?? memory.channel_phone },
      body: `Incoming call from ${name ?? meta.caller_id_number}`,
      thread_id: `voice360:${meta.uniqueid}`,
      created_at: new Date(event.timestamp * 1000).toISOString().replace(/Z$/, '+00:00'),
    };
    await store.put(callKey, JSON.stringify({ direction: 'inbound', customer_phone: meta.caller_id_number, customer_name: name, channel_phone: meta.dnis }), 604800);
    const text = JSON.stringify(message);
    const signature = base64(await crypto.subtle.sign('HMAC', await hmacKey(env.REAMAZE_VOICE_SECRET), encoder.encode(text)));
    const posted = await fetch(`${env.REAMAZE_BASE_URL}/incoming/voice`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Reamaze-Hmac-SHA256': signature },
      body: text,
      signal: AbortSignal.timeout(10_000),
    });
    await posted.text();
    if (!posted.ok) {
      await store.delete(`seen:${id}`);
      return json(posted.status >= 500 || posted.status === 429 ? 503 : 502, { status: 'error', error: 'reamaze' });
    }
    await store.put(`seen:${id}`, '1', 259200);
    return json(200, { status: 'delivered', event: event.event_name, messages: [{ id, channel: 'voice', result: 'delivered' }] });
  },
};
const handle = (request, env) => handler.fetch(request, env);
