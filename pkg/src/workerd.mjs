// The entry for Cloudflare Workers (the `workerd` export condition, which
// wrangler resolves first): the .wasm imported as a module, which wrangler
// uploads beside the script and workerd compiles before the Worker starts,
// so the core is ready at import, as in Node. `init()` is a no-op.
import wasm from '../dist/reamaze_bridge_bg.wasm';
import * as core from '../dist/reamaze_bridge.js';
import { BridgeError, MemoryStore, makeApi } from './api.mjs';

core.initSync({ module: wasm });
const api = makeApi(core);

/** Ready at import in a Worker; kept so code written for the browser runs unchanged. */
export async function init() {}

export const { contract, sign, verify, diagnose, translate, replyToSms, createProcessor, createBridge } = api;
/** The signature header each scheme uses, from the core's contract. */
export const SIGNATURE_HEADERS = api.contract().signatureHeaders;
export { BridgeError, MemoryStore };
