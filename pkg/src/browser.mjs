// The browser entry: an ES module whose `init()` loads the core (by default
// the .wasm beside it; or pass a URL, Response, or bytes). Every function
// throws a BridgeError with code `not_initialized` until init() resolves.
import initWasm, * as core from '../dist/reamaze_bridge.js';
import { BridgeError, MemoryStore, makeApi } from './api.mjs';

let api = null;

/**
 * The signature header each scheme uses, from the core's contract: filled
 * (and frozen) when init() resolves, empty before.
 */
export const SIGNATURE_HEADERS = {};

const NO_WASM_URL =
  "this bundle does not say where the package's .wasm is: import its URL, " +
  "import wasm from 'reamaze-bridge/reamaze_bridge_bg.wasm' (with esbuild: --loader:.wasm=file), " +
  'and pass it: await init(wasm)';

export async function init(wasm) {
  if (api) return;
  try {
    await initWasm(wasm === undefined ? undefined : { module_or_path: wasm });
  } catch (e) {
    // Without an argument the .wasm is found beside this module, through
    // import.meta.url, which an IIFE or CommonJS bundle does not keep.
    if (wasm === undefined && e instanceof TypeError && /URL/.test(e.message)) throw new BridgeError('wasm_not_found', NO_WASM_URL);
    throw e;
  }
  api = makeApi(core);
  Object.freeze(Object.assign(SIGNATURE_HEADERS, api.contract().signatureHeaders));
}

function ready() {
  if (!api) throw new BridgeError('not_initialized', 'call and await init() before using reamaze-bridge');
  return api;
}

export const sign = (...args) => ready().sign(...args);
export const verify = (...args) => ready().verify(...args);
export const diagnose = (...args) => ready().diagnose(...args);
export const translate = (...args) => ready().translate(...args);
export const replyToSms = (...args) => ready().replyToSms(...args);
export const createProcessor = (...args) => ready().createProcessor(...args);
export const createBridge = (...args) => ready().createBridge(...args);
export const contract = (...args) => ready().contract(...args);
export { BridgeError, MemoryStore };
