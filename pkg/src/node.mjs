// The Node entry (import; bundled into dist/index.cjs for require). The
// core is instantiated synchronously at import, from the .wasm beside it.
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as core from '../dist/reamaze_bridge.js';
import { BridgeError, MemoryStore, makeApi } from './api.mjs';

core.initSync({ module: readFileSync(new URL('../dist/reamaze_bridge_bg.wasm', import.meta.url)) });
// OpenSSL's SHA-256 (with the CPU's SHA instructions) for the long hash of
// each HMAC, instead of the one compiled to wasm: the same MAC, faster.
// crypto.hash (Node 20.12 and later) does it in one call; a namespace
// import, since naming a missing export would fail the import on older Node.
const { hash, createHash } = crypto;
core.setHostSha256((data, prefix) =>
  prefix || typeof hash !== 'function'
    ? createHash('sha256').update(prefix ?? new Uint8Array(0)).update(data).digest('hex')
    : hash('sha256', data, 'hex'),
);
const api = makeApi(core);

/** Ready at import in Node; kept so code written for the browser runs unchanged. */
export async function init() {}

export const { contract, sign, verify, diagnose, translate, replyToSms, createProcessor } = api;

// The operators' console, read once, when first asked for.
let consoleHtml;
const consolePage = () => (consoleHtml ??= readFileSync(new URL('../dist/admin.html', import.meta.url), 'utf8'));

/** The whole bridge (see api.mjs), serving the operators' console at GET /admin when ADMIN_TOKEN is set. */
export const createBridge = (settings, options) => api.createBridge(settings, { consolePage, ...options });
/** The signature header each scheme uses, from the core's contract. */
export const SIGNATURE_HEADERS = api.contract().signatureHeaders;
export { BridgeError, MemoryStore };
export { nodeListener } from './node-http.mjs';
