// The package's API over the wasm core, written once for every runtime:
// the Node and browser entries call `makeApi(core)` with their loaded core.
// Bodies and secrets may be strings or Uint8Arrays (Buffer is one, but is
// never required); results are plain objects; failures are BridgeErrors
// with a stable `code`.

const encoder = new TextEncoder();

/**
 * An Error with a stable machine-readable `code` (and `field`, for a payload
 * missing one; `status`, the HTTP status the bridge answers it with).
 */
export class BridgeError extends Error {
  constructor(code, message, field, status) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
    if (field !== undefined) this.field = field;
    if (status !== undefined) this.status = status;
  }
}

/** A body or secret as a frame takes it: text, or bytes. */
function input(value, what) {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  return bytes(value, what);
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
    if (e && typeof e.code === 'string') throw new BridgeError(e.code, e.message, e.field, e.status);
    throw e;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** A stored value as the core reads it: text, or null for none. */
const storedText = (v) => (v === undefined || v === null ? null : String(v));
const defaultLog = (line) => console.log(line);

/** The operators' console page, as the Worker serves it. */
const optionalText = (v) => (v === undefined || v === null ? undefined : String(v));
/** A header as Node gives it (a list for one sent twice) or as Headers.get does (joined by ", "). */
const headerText = (v) => (Array.isArray(v) ? v.join(', ') : optionalText(v));

/** The core's keys for refused webhooks' records, and the most a listing reads (src/store.rs, src/bridge/admin.rs). */
const RECORD_PREFIX = 'rejected:';
const MAX_RECORDS = 1000;

/**
 * A store of time-to-live entries in memory: the default for createBridge.
 * `claim` is atomic within this process (JavaScript runs one call at a time),
 * so overlapping copies of one webhook or staff reply send once.
 */
export class MemoryStore {
  #entries = new Map();

  get(key) {
    return this.#live(key);
  }

  #live(key) {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Puts `value` only if `key` holds none: undefined when written, else the value held. */
  claim(key, value, ttlSeconds) {
    const held = this.#live(key);
    if (held === undefined) this.#set(key, value, ttlSeconds);
    return held;
  }

  delete(key) {
    this.#entries.delete(key);
  }

  /** The live keys under `prefix`, in byte order (the admin routes' listings). */
  list(prefix) {
    const keys = [];
    for (const key of this.#entries.keys()) if (key.startsWith(prefix) && this.#live(key) !== undefined) keys.push(key);
    return keys.sort();
  }

  put(key, value, ttlSeconds) {
    this.#set(key, value, ttlSeconds);
  }

  #set(key, value, ttlSeconds) {
    if (this.#entries.size > 10_000) {
      const now = Date.now();
      for (const [k, e] of this.#entries) if (e.expires <= now) this.#entries.delete(k);
    }
    this.#entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
    if (key.startsWith(RECORD_PREFIX) && (this.#records += 1) > MAX_RECORDS) this.#dropOldestRecord();
  }

  #records = 0;

  /**
   * Refused webhooks' records are the one kind of entry a stranger can add
   * (each up to 64 KiB, kept a week): in memory, at most MAX_RECORDS, the
   * most the admin routes ever list. Their keys sort newest first.
   */
  #dropOldestRecord() {
    let oldest;
    let count = 0;
    for (const key of this.#entries.keys()) {
      if (!key.startsWith(RECORD_PREFIX)) continue;
      count += 1;
      if (oldest === undefined || key > oldest) oldest = key;
    }
    this.#records = count;
    if (count > MAX_RECORDS) {
      this.#entries.delete(oldest);
      this.#records -= 1;
    }
  }
}

/**
 * A request body read as a stream, chunk by chunk, up to `limit` bytes: the
 * bytes, or null as soon as it is over the limit (the rest is not read, so
 * memory stays bounded whatever the sender sends).
 */
export async function readBody(stream, limit) {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/** The length from which a text is given room for ASCII only in a frame (see `frames`). */
const LONG_TEXT = 64 * 1024;

/** What a core frame operation answers for an argument it cannot take (src/js.rs). */
const THROWN = -2;

/**
 * Frames (the core's src/js/frame.rs): a webhook's arguments written into
 * one buffer in the core's memory, and the answer's strings read from one,
 * so that `verify` and `process` cross into the core once, bytes in and
 * bytes out, with no conversion per argument.
 */
function frames(core) {
  const memory = core.frameMemory();
  const decoder = new TextDecoder();
  let base = 0;
  let room = 0;
  let u8 = null;
  let dv = null;
  // The core's memory moves to a new buffer when it grows.
  const current = () => {
    if (u8 === null || u8.buffer !== memory.buffer) {
      u8 = new Uint8Array(memory.buffer);
      dv = new DataView(memory.buffer);
    }
  };
  // A text's room in a frame. A UTF-16 unit takes at most three bytes of
  // UTF-8, but the core's memory never shrinks: room for three times a
  // transcript of megabytes would stay taken for good. A long text is given
  // its length, all an ASCII text needs.
  const textRoom = (text) => (text.length > LONG_TEXT ? text.length : 3 * text.length);
  // Short ASCII text (a scheme, a signature, most secrets) written here: a
  // call to encodeInto costs more than the loop. The bytes written, or -1
  // for a long text that did not fit in the room `textRoom` gave it.
  const putText = (text, at) => {
    const length = text.length;
    if (length <= 128) {
      let i = 0;
      for (; i < length; i += 1) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) break;
        u8[at + i] = code;
      }
      if (i === length) return length;
    }
    const { read, written } = encoder.encodeInto(text, u8.subarray(at, at + textRoom(text)));
    return read === length ? written : -1;
  };
  /** Writes `items` (numbers; strings and byte arrays; undefined for absent) as the next frame: its length. */
  const write = (items) => {
    let bound = 0;
    for (const item of items) {
      bound += typeof item === 'number' ? 8 : 4 + (item === undefined ? 0 : typeof item === 'string' ? textRoom(item) : item.byteLength);
    }
    if (bound > room) {
      base = core.frameInput(bound);
      room = Math.max(bound, 8);
    }
    current();
    let at = base;
    for (const item of items) {
      if (typeof item === 'number') {
        dv.setFloat64(at, item, true);
        at += 8;
      } else if (item === undefined) {
        dv.setUint32(at, 0xffffffff, true);
        at += 4;
      } else if (typeof item === 'string') {
        const written = putText(item, at + 4);
        // A long text with more bytes than characters: encoded apart, and
        // the frame written again with its bytes.
        if (written < 0) return write(items.map((other) => (other === item ? encoder.encode(item) : other)));
        dv.setUint32(at, written, true);
        at += 4 + written;
      } else {
        u8.set(item, at + 4);
        dv.setUint32(at, item.byteLength, true);
        at += 4 + item.byteLength;
      }
    }
    return at - base;
  };
  return {
    write,
    /** The strings the last operation answered: its text decoded once, then sliced. */
    read() {
      current();
      const ptr = dv.getUint32(base, true);
      const end = ptr + dv.getUint32(base + 4, true);
      const count = dv.getUint32(ptr, true);
      const text = decoder.decode(u8.subarray(ptr + 4 + 4 * count, end));
      const strings = new Array(count);
      let from = 0;
      for (let i = 0; i < count; i += 1) {
        const to = from + dv.getUint32(ptr + 4 + 4 * i, true);
        strings[i] = text.slice(from, to);
        from = to;
      }
      return strings;
    },
  };
}

/** A signature check's frame (`verify`, `diagnose`): its items in the core's order (src/js.rs, `Check`). */
function checkArguments({ scheme, secret, secrets, body, signature, timestamp, url, now, maxAgeSeconds, maxFutureSeconds }) {
  const items = [String(scheme), optionalText(signature), optionalText(timestamp), optionalText(url)];
  items.push(Number(now ?? nowSeconds()), Number(maxAgeSeconds ?? NaN), Number(maxFutureSeconds ?? NaN), input(body ?? '', 'body'));
  for (const s of secretList(secret, secrets)) items.push(input(s, 'secret'));
  return items;
}

/** The secrets to verify against, as given: one or a list (rotation). */
function secretList(secret, secrets) {
  if (secrets === undefined) return secret === undefined ? [] : [secret];
  if (!Array.isArray(secrets)) throw new BridgeError('invalid_argument', 'secrets must be an array');
  return secrets;
}

export function makeApi(core) {
  const frame = frames(core);
  // What the HTTP contract fixes, from the core: its schemes and providers
  // are the package's, with no list of its own.
  const contractOnce = deepFreeze(JSON.parse(core.contract()));
  // The console's headers (its policy allows its inline script by hash), from
  // the core: worked out once for the page served.
  let consoleHeaders = { html: null, headers: null };
  const consoleResponse = (html) => {
    if (consoleHeaders.html !== html) consoleHeaders = { html, headers: JSON.parse(core.pageHeaders('console', html)) };
    return new Response(html, { status: 200, headers: consoleHeaders.headers });
  };
  const contract = () => contractOnce;
  const stamped = new Set(contractOnce.schemes.filter((s) => s.timestampHeader).map((s) => s.name));
  const reamazeHeader = contractOnce.signatureHeaders.reamaze;

  /**
   * The signature header value for `body`. A scheme that signs a
   * timestamp also signs `timestamp` (default: now) and the full `url`.
   */
  function sign({ scheme, secret, body, timestamp, url } = {}) {
    const ts = stamped.has(scheme) ? optionalText(timestamp) ?? String(nowSeconds()) : optionalText(timestamp);
    return core_(() => core.sign(String(scheme), bytes(secret, 'secret'), bytes(body ?? '', 'body'), ts, optionalText(url)));
  }

  /**
   * Checks a received signature against one secret or several (rotation).
   * Never throws for a bad signature: returns `{ ok: true, secretIndex }` or
   * `{ ok: false, code, message, headline }`, the code saying which check
   * failed and the headline saying it in a few words.
   */
  function verify(options = {}) {
    const answer = core.verifyFrame(frame.write(checkArguments(options)));
    if (answer >= 0) return { ok: true, secretIndex: answer };
    const [code, message, headline] = frame.read();
    if (answer === THROWN) throw new BridgeError(code, message);
    return { ok: false, code, message, headline };
  }

  /**
   * Verifies as `verify` does, and names the likely causes of the outcome:
   * the usual mistakes (the right MAC in the wrong encoding, a re-serialized
   * body, whitespace in a secret, another channel's secret, a signed URL or
   * timestamp). Returns verify's result with `causes: [{ title, detail }]`.
   */
  function diagnose(options = {}) {
    const answer = core.diagnoseFrame(frame.write(checkArguments(options)));
    const [code, message, headline, ...found] = frame.read();
    if (answer === THROWN) throw new BridgeError(code, message);
    const causes = [];
    for (let i = 0; i < found.length; i += 2) causes.push({ title: found[i], detail: found[i + 1] });
    return answer >= 0 ? { ok: true, secretIndex: answer, causes } : { ok: false, code, message, headline, causes };
  }

  /**
   * What a provider payload becomes in Re:amaze: `{ provider, event,
   * messages: [{ channel, endpoint, message }] }`, or `{ provider, event,
   * ignored }`, or `{ provider, event, held }` for a payload kept until it can be
   * placed. Throws a BridgeError for a payload that cannot be used.
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
   * signed Re:amaze requests to make), `{ ok: true, event, ignored }`,
   * `{ ok: true, event, held }` (kept until it can be placed), or
   * `{ ok: false, status, code, message, field? }` with the status the
   * bridge would answer. Remembers call parties between calls, in memory.
   */
  function createProcessor(settings = {}) {
    const processor = core_(() => new core.CoreBridge(JSON.stringify(settings)));
    return {
      process(provider, { body, signature, timestamp, url, now } = {}) {
        const args = [String(provider), headerText(signature), headerText(timestamp), optionalText(url), Number(now ?? nowSeconds()), input(body ?? '', 'body')];
        const answer = processor.processFrame(frame.write(args));
        // The core's answer is a list of strings (see CoreBridge::processFrame).
        const [kind, ...items] = frame.read();
        if (answer === THROWN) throw new BridgeError(kind, items[0]);
        if (kind === 'refused') {
          const [status, code, message, field] = items;
          return field === undefined ? { ok: false, status: Number(status), code, message } : { ok: false, status: Number(status), code, message, field };
        }
        if (kind === 'ignored') return { ok: true, event: items[0], ignored: items[1] };
        if (kind === 'held') return { ok: true, event: items[0], held: items[1] };
        const deliveries = [];
        for (let i = 1; i < items.length; i += 3) {
          deliveries.push({
            url: items[i],
            headers: { 'Content-Type': 'application/json', [reamazeHeader]: items[i + 1] },
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
   * outbound fetch to Re:amaze and the SMS provider. `store` keeps state between
   * requests, and may be async: `get(key)`, `put(key, value, ttlSeconds)`,
   * `delete(key)`, and `claim(key, value, ttlSeconds)`, which must be atomic
   * across every process sharing the store (put only if absent; resolve to
   * undefined or null when written, else to the value held; Redis: `SET key
   * value NX GET EX ttl`); and optionally `list(prefix, limit)`, the keys
   * under a prefix in byte order, with which refused webhooks are kept and
   * the admin routes list them. `log(line)` gets one JSON line per request
   * and per aftermath (default: stdout; null for none). `consolePage`, where
   * the entry has one, is the operators' console served at `GET /admin`.
   */
  function createBridge(settings = {}, { store = new MemoryStore(), fetch: fetchImpl = globalThis.fetch, log = defaultLog, consolePage } = {}) {
    const missing = ['get', 'put', 'claim', 'delete'].filter((m) => typeof store?.[m] !== 'function');
    if (missing.length) {
      throw new BridgeError('invalid_store', `the store has no ${missing.join(', ')}: it needs get, put, claim and delete (see the README)`);
    }
    if (log !== null && typeof log !== 'function') throw new BridgeError('invalid_argument', 'log must be a function, or null for no log');
    const bridge = core_(() => new core.CoreBridge(JSON.stringify(settings)));
    if (typeof store.list === 'function') bridge.keepRecords();
    const timeoutMs = bridge.upstreamTimeoutMs;
    const maxBodyBytes = bridge.maxBodyBytes;
    const followsUp = bridge.followsUp;
    const page = bridge.adminEnabled ? consolePage : undefined;
    const write = (line) => {
      try {
        log?.(line);
      } catch {
        // A log that throws changes no answer.
      }
    };

    /** Sends a delivery and answers the exchange with what came of it. */
    async function send(exchange, delivery) {
      try {
        const res = await fetchImpl(delivery.url, {
          method: delivery.method,
          headers: delivery.headers,
          body: delivery.body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        exchange.delivered(res.status, res.headers.get('retry-after') ?? undefined, text.slice(0, 4096));
      } catch (e) {
        exchange.unanswered(e?.name === 'TimeoutError', timeoutMs, String(e?.cause?.code ?? e?.message ?? e));
      }
    }

    /** A store step's calls to the store: a promise of what they gave. */
    function storeCalls(step) {
      if (step.read) return Promise.all(step.read.map((key) => store.get(key)));
      if (step.claim) return Promise.all(step.claim.map((e) => store.claim(e.key, e.value, e.ttlSeconds)));
      if (step.write) return Promise.all(step.write.map((e) => store.put(e.key, e.value, e.ttlSeconds)));
      if (step.release) return Promise.all(step.release.map((key) => store.delete(key)));
      return Promise.resolve(store.list(step.list.prefix, step.list.limit));
    }

    /** Answers a store step with what the store gave. */
    function answerStore(exchange, step, given) {
      if (step.read) exchange.provide(JSON.stringify(given.map(storedText)));
      else if (step.claim) exchange.claimed(JSON.stringify(given.map(storedText)));
      else if (step.list) {
        const { prefix, limit } = step.list;
        const keys = [...given].map(String).filter((k) => k.startsWith(prefix)).sort();
        exchange.listed(JSON.stringify(keys.slice(0, limit)), keys.length > limit);
      } else exchange.done();
    }

    /** Runs an exchange's steps until it answers: the answer, and the upstream requests made. */
    async function run(exchange) {
      let deliveries = 0;
      for (;;) {
        const step = JSON.parse(exchange.step());
        if (step.respond) return { answer: step.respond, deliveries };
        if (step.deliver) {
          deliveries += 1;
          await send(exchange, step.deliver);
          continue;
        }
        // The store is the user's: whatever it throws or rejects with ends
        // the exchange as an unavailable store (503, Retry-After).
        let given;
        try {
          given = await storeCalls(step);
        } catch (e) {
          exchange.storeFailed(String(e?.message ?? e));
          continue;
        }
        answerStore(exchange, step, given);
      }
    }

    /** What follows an answer, run once it is sent: its failure changes nothing answered. */
    async function afterwards(exchange) {
      try {
        await run(exchange);
        write(exchange.aftermathLine());
      } catch (e) {
        write(JSON.stringify({ aftermath: 'internal', reason: String(e?.message ?? e) }));
      } finally {
        exchange.free();
      }
    }

    async function handle(request) {
      const started = Date.now();
      const url = new URL(request.url);
      const method = request.method;
      if (page && method === 'GET' && url.pathname === '/admin') return consoleResponse(await page());
      const declared = Number(request.headers.get('content-length') ?? 0);
      const body = declared > maxBodyBytes ? null : await readBody(request.body, maxBodyBytes);
      let exchange;
      let after;
      let answer;
      let deliveries = 0;
      if (body === null) {
        exchange = bridge.bodyTooLarge(method, url.pathname, declared > maxBodyBytes ? declared : undefined);
        answer = JSON.parse(exchange.step()).respond;
      } else {
        const headers = JSON.stringify([...request.headers]);
        exchange = bridge.exchange(method, url.pathname, request.url, headers, body, nowSeconds());
        try {
          ({ answer, deliveries } = await run(exchange));
          if (followsUp) after = bridge.aftermath(exchange, method, url.pathname, request.url, headers, body, nowSeconds());
        } catch (e) {
          exchange.free();
          throw e;
        }
      }
      try {
        if (log !== null) write(exchange.logLine(method, url.pathname, deliveries, Date.now() - started));
        return new Response(answer.body, { status: answer.status, headers: answer.headers });
      } finally {
        exchange.free();
        if (after) afterwards(after);
      }
    }

    return { fetch: handle };
  }

  return {
    contract,
    sign,
    verify,
    diagnose,
    translate,
    replyToSms,
    createProcessor,
    createBridge,
  };
}

/** `value`, frozen all the way down: the contract is shared by every caller. */
function deepFreeze(value) {
  if (value && typeof value === 'object') Object.values(value).forEach(deepFreeze);
  return Object.freeze(value);
}
