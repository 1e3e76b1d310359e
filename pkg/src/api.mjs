// The package's API over the wasm core, written once for every runtime:
// the Node and browser entries call `makeApi(core)` with their loaded core.
// Bodies and secrets may be strings or Uint8Arrays (Buffer is one, but is
// never required); results are plain objects; failures are BridgeErrors
// with a stable `code`.

const encoder = new TextEncoder();

/** The signature header each scheme uses. */
export const SIGNATURE_HEADERS = Object.freeze({
  reamaze: 'X-Reamaze-Hmac-SHA256',
  voice360: 'X-Voice360-Signature',
  bird: 'messagebird-signature',
  volubile: 'X-Webhook-Signature',
});

/** An Error with a stable machine-readable `code` (and `field`, for a payload missing one). */
export class BridgeError extends Error {
  constructor(code, message, field) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

function bytes(value, what) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new BridgeError('invalid_argument', `${what} must be a string or a Uint8Array`);
}

/** Runs a core call, turning its errors into BridgeErrors. */
function core_(call) {
  try {
    return call();
  } catch (e) {
    if (e instanceof BridgeError) throw e;
    if (e && typeof e.code === 'string') throw new BridgeError(e.code, e.message, e.field);
    throw e;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const optionalText = (v) => (v === undefined || v === null ? undefined : String(v));

/** A store of time-to-live entries in memory: the default for createBridge. */
export class MemoryStore {
  #entries = new Map();

  get(key) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  put(key, value, ttlSeconds) {
    if (this.#entries.size > 10_000) {
      const now = Date.now();
      for (const [k, e] of this.#entries) if (e.expires <= now) this.#entries.delete(k);
    }
    this.#entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
  }
}

export function makeApi(core) {
  /**
   * The signature header value for `body`. Bird also signs `timestamp`
   * (default: now) and the full `url`.
   */
  function sign({ scheme, secret, body, timestamp, url } = {}) {
    const ts = scheme === 'bird' ? optionalText(timestamp) ?? String(nowSeconds()) : optionalText(timestamp);
    return core_(() => core.sign(String(scheme), bytes(secret, 'secret'), bytes(body ?? '', 'body'), ts, optionalText(url)));
  }

  /**
   * Checks a received signature against one secret or several (rotation).
   * Never throws for a bad signature: returns `{ ok: true, secretIndex }` or
   * `{ ok: false, code, message }`, the code saying which check failed.
   */
  function verify({ scheme, secret, secrets, body, signature, timestamp, url, now, maxAgeSeconds, maxFutureSeconds } = {}) {
    const list = (secrets ?? (secret === undefined ? [] : [secret])).map((s) => bytes(s, 'secret'));
    const [first, message] = core_(() =>
      core.verify(
        String(scheme),
        list,
        bytes(body ?? '', 'body'),
        optionalText(signature),
        optionalText(timestamp),
        optionalText(url),
        now ?? nowSeconds(),
        maxAgeSeconds,
        maxFutureSeconds,
      ),
    );
    return message === undefined ? { ok: true, secretIndex: Number(first) } : { ok: false, code: first, message };
  }

  /**
   * What a provider payload becomes in Re:amaze: `{ provider, event,
   * messages: [{ channel, endpoint, message }] }`, or `{ provider, event,
   * ignored }`. Throws a BridgeError for a payload that cannot be used.
   */
  function translate(provider, body, settings = {}) {
    return JSON.parse(core_(() => core.translate(String(provider), bytes(body, 'body'), JSON.stringify(settings))));
  }

  /** A Re:amaze staff reply as the SMS requests to send: `[{ from, to, message }]`. */
  function replyToSms(body, settings = {}) {
    return JSON.parse(core_(() => core.replyToSms(bytes(body, 'body'), JSON.stringify(settings))));
  }

  /**
   * Verify, translate and sign in one call, with the settings read once:
   * `processor.process(provider, { body, signature, timestamp, url, now })`
   * gives `{ ok: true, event, deliveries: [{ url, headers, body }] }` (the
   * signed Re:amaze requests to make), `{ ok: true, event, ignored }`, or
   * `{ ok: false, status, code, message, field? }` with the status the
   * bridge would answer. Remembers call parties between calls, in memory.
   */
  function createProcessor(settings = {}) {
    const processor = core_(() => new core.CoreProcessor(JSON.stringify(settings)));
    return {
      process(provider, { body, signature, timestamp, url, now } = {}) {
        // The core's answer is a list of strings (see CoreProcessor::process).
        const [kind, ...items] = core_(() =>
          processor.process(String(provider), bytes(body ?? '', 'body'), optionalText(signature), optionalText(timestamp), optionalText(url), now ?? nowSeconds()),
        );
        if (kind === 'refused') return JSON.parse(items[0]);
        if (kind === 'ignored') return { ok: true, event: items[0], ignored: items[1] };
        const deliveries = [];
        for (let i = 1; i < items.length; i += 3) {
          deliveries.push({
            url: items[i],
            headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADERS.reamaze]: items[i + 1] },
            body: items[i + 2],
          });
        }
        return { ok: true, event: items[0], deliveries };
      },
    };
  }

  /**
   * The whole bridge on the Fetch API: `bridge.fetch(request)` answers a
   * standard Request with a Response, per the HTTP contract, doing its own
   * outbound fetch to Re:amaze and Voice360. `store` keeps state between
   * requests (get, put with a time-to-live in seconds; may be async).
   */
  function createBridge(settings = {}, { store = new MemoryStore(), fetch: fetchImpl = globalThis.fetch } = {}) {
    const bridge = core_(() => new core.CoreBridge(JSON.stringify(settings)));
    const timeoutMs = bridge.upstreamTimeoutMs;
    const maxBodyBytes = bridge.maxBodyBytes;

    async function send(delivery) {
      try {
        const res = await fetchImpl(delivery.url, {
          method: delivery.method,
          headers: delivery.headers,
          body: delivery.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        return { status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined, body: text.slice(0, 4096) };
      } catch (e) {
        const upstream = new URL(delivery.url).host;
        const why = e?.name === 'TimeoutError' ? `${upstream} did not answer within ${timeoutMs} ms` : `${upstream} could not be reached: ${e?.cause?.code ?? e?.message ?? e}`;
        return { status: undefined, retryAfter: undefined, body: why };
      }
    }

    async function handle(request) {
      const url = new URL(request.url);
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > maxBodyBytes) {
        return Response.json(
          { status: 'error', error: 'body_too_large', message: `the body has ${declared} bytes; the limit is ${maxBodyBytes} (MAX_BODY_BYTES)` },
          { status: 413 },
        );
      }
      const body = new Uint8Array(await request.arrayBuffer());
      const exchange = bridge.exchange(request.method, url.pathname, request.url, JSON.stringify([...request.headers]), body, nowSeconds());
      try {
        for (;;) {
          const step = JSON.parse(exchange.step());
          if (step.read) {
            const values = await Promise.all(step.read.map((key) => store.get(key)));
            exchange.provide(JSON.stringify(values.map((v) => (v === undefined || v === null ? null : String(v)))));
          } else if (step.write) {
            await Promise.all(step.write.map((e) => store.put(e.key, e.value, e.ttlSeconds)));
          } else if (step.deliver) {
            const result = await send(step.deliver);
            exchange.delivered(result.status, result.retryAfter, result.body);
          } else {
            const { status, headers, body: text } = step.respond;
            return new Response(text, { status, headers });
          }
        }
      } finally {
        exchange.free();
      }
    }

    return { fetch: handle };
  }

  return {
    sign,
    verify,
    translate,
    replyToSms,
    createProcessor,
    createBridge,
  };
}
