// A store for createBridge over Redis, through a node-redis client (v4 or
// later), so that several bridge processes share deduplication, call
// parties and echo suppression.
//
// The client is the user's: this module imports nothing from `redis`. Its
// commands are sent with `sendCommand`, whose shape is the same in every
// node-redis version, and the claim is one atomic `SET key value NX GET EX
// ttl` (Redis 7 or later).

/** How long one store call may wait on Redis before the bridge answers 503. */
const DEFAULT_TIMEOUT_MS = 2000;

/**
 * A createBridge store over a connected node-redis client. It listens for
 * the client's errors, so that a Redis restart never kills the process.
 * While Redis is down, every call fails at once (or after `timeoutMs`, for
 * a command that goes unanswered), and the bridge answers `503
 * store_unavailable` with Retry-After; the client reconnects by itself, and
 * delivery resumes. `onError(error)` hears of each outage once (default: a
 * line on stderr); keys are written under `prefix`.
 */
export function redisStore(client, { prefix = 'reamaze-bridge:', timeoutMs = DEFAULT_TIMEOUT_MS, onError = report } = {}) {
  if (typeof client?.sendCommand !== 'function' || typeof client?.on !== 'function') {
    throw new TypeError('redisStore needs a node-redis client (createClient() from the redis package, v4 or later)');
  }
  const outage = watch(client, onError);
  const command = (args) => {
    if (client.isReady === false) return Promise.reject(new Error(`Redis is not connected${outage.reason()}`));
    return within(client.sendCommand(args), timeoutMs);
  };
  return {
    get: (key) => command(['GET', prefix + key]),
    put: (key, value, ttlSeconds) => command(['SET', prefix + key, value, 'EX', String(ttlSeconds)]),
    // Null when written, else the value held: as createBridge's claim is.
    claim: (key, value, ttlSeconds) => command(['SET', prefix + key, value, 'NX', 'GET', 'EX', String(ttlSeconds)]),
    delete: (key) => command(['DEL', prefix + key]),
    // The keys under `under`, for the admin routes' listings (refused
    // webhooks, held transcriptions): SCAN, a page at a time, then sorted.
    list: async (under) => {
      const pattern = `${globEscaped(prefix + under)}*`;
      const keys = [];
      let cursor = '0';
      do {
        const [next, found] = await command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000']);
        for (const key of found) keys.push(String(key).slice(prefix.length));
        cursor = String(next);
      } while (cursor !== '0');
      return keys.sort();
    },
  };
}

/** `text` matched literally in a Redis glob pattern. */
const globEscaped = (text) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Listens for the client's errors (without a listener, node-redis's error
 * event ends the process) and reports the first of each outage: the next
 * is reported only once the client is ready again.
 */
function watch(client, onError) {
  let last = null;
  let reported = false;
  client.on('error', (error) => {
    last = error;
    if (reported) return;
    reported = true;
    onError(error);
  });
  client.on('ready', () => {
    reported = false;
    last = null;
  });
  return { reason: () => (last ? ` (${last.message ?? last})` : '') };
}

function report(error) {
  console.error(`reamaze-bridge: Redis failed (${error?.message ?? error}); answering 503 store_unavailable until it is back`);
}

/** `promise`, or a rejection once `ms` have passed without its answer. */
function within(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
