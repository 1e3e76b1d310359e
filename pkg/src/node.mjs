// The Node entry (import; bundled into dist/index.cjs for require). The
// core is instantiated synchronously at import, from the .wasm beside it.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as core from '../dist/reamaze_bridge.js';
import { BridgeError, MemoryStore, SIGNATURE_HEADERS, makeApi } from './api.mjs';

core.initSync({ module: readFileSync(new URL('../dist/reamaze_bridge_bg.wasm', import.meta.url)) });
// OpenSSL's HMAC-SHA256 (with the CPU's SHA instructions) instead of the one
// compiled to wasm: the same MAC, several times faster.
core.setHostHmac((key, data) => createHmac('sha256', key).update(data).digest());
const api = makeApi(core);

/** Ready at import in Node; kept so code written for the browser runs unchanged. */
export async function init() {}

export const { sign, verify, translate, replyToSms, createProcessor, createBridge } = api;
export { BridgeError, MemoryStore, SIGNATURE_HEADERS };
