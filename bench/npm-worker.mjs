// The other shape the Worker could take, measured beside the Rust Worker so
// that a choice between them rests on figures: a JavaScript entry that does
// its own I/O (the request, KV and the claims object, the post to Re:amaze) and asks the wasm core
// what to do at each step. That is the npm package's `createBridge`, as
// shipped (its browser entry), over Workers KV; no worker-rs and no
// `JsFuture` on the way. Same settings and the same log line as the others.
import { createBridge, init } from '../pkg/src/browser.mjs';
import wasm from '../pkg/dist/reamaze_bridge_bg.wasm';
import { Claims, storeOf } from './claims.mjs';

export { Claims };

let ready = null;

/** The bridge for this isolate, made once: concurrent first requests share one wasm instance. */
function bridgeFor(env) {
  ready ??= init(wasm).then(() => {
    const settings = Object.fromEntries(Object.entries(env).filter(([, value]) => typeof value === 'string'));
    return createBridge(settings, { store: storeOf(env) });
  });
  return ready;
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    const response = await (await bridgeFor(env)).fetch(request);
    console.log(JSON.stringify({ method: request.method, route: new URL(request.url).pathname, provider: 'voice360', status: response.status, duration_ms: Date.now() - started }));
    return response;
  },
};
