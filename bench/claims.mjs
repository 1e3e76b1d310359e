// The claims of the bench's JavaScript Workers, as the Rust Worker keeps
// them (src/worker/store.rs): one Durable Object per claimed key, asked by
// URL (`https://claims/{get|delete|put/ttl/value|claim/ttl/value}`), answering
// `free` or `held:<value>`, with its value and expiry kept as one text and an
// alarm at the expiry. So all three Workers do the same IO per webhook: the
// claim and the done-mark through the object, the call's parties through KV.

/** One claimed key. Its handlers run one at a time (the runtime's input gate), so a read then a write is atomic. */
export class Claims {
  constructor(state) {
    this.storage = state.storage;
  }

  async fetch(request) {
    const [verb, ttl, value] = new URL(request.url).pathname.slice(1).split('/');
    const now = Date.now();
    const text = await this.storage.get('held');
    const [expires, ...rest] = (text ?? '').split(' ');
    const held = text !== undefined && Number(expires) > now ? rest.join(' ') : null;
    let answer = held;
    if (verb === 'put' || (verb === 'claim' && held === null)) {
      await this.storage.put('held', `${now + Number(ttl) * 1000} ${value}`);
      await this.storage.setAlarm(now + Number(ttl) * 1000);
      answer = null;
    } else if (verb === 'delete') {
      await this.storage.deleteAll();
      answer = null;
    }
    return new Response(answer === null ? 'free' : `held:${answer}`);
  }

  async alarm() {
    await this.storage.deleteAll();
  }
}

const claimed = (key) => key.startsWith('seen:') || key.startsWith('sent:');

async function ask(env, key, path) {
  const answer = await (await env.CLAIMS.get(env.CLAIMS.idFromName(key)).fetch(`https://claims/${path}`)).text();
  return answer === 'free' ? null : answer.slice('held:'.length);
}

/** The store the Rust Worker has: claims in the object, the rest in KV (which refuses a time-to-live under 60 s). */
export function storeOf(env) {
  const kv = env.BRIDGE_KV;
  return {
    get: (key) => (claimed(key) ? ask(env, key, 'get') : kv.get(key)),
    put: (key, value, ttlSeconds) =>
      claimed(key) ? ask(env, key, `put/${ttlSeconds}/${value}`) : kv.put(key, value, { expirationTtl: Math.max(60, ttlSeconds) }),
    claim: (key, value, ttlSeconds) => (claimed(key) ? ask(env, key, `claim/${ttlSeconds}/${value}`) : kv.get(key)),
    delete: (key) => (claimed(key) ? ask(env, key, 'delete') : kv.delete(key)),
  };
}
