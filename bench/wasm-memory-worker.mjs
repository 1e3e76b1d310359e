// The Rust Worker as built (build/index.js), with one route more for the
// bench: GET /__bench/wasm-memory answers the byte size of each wasm memory
// in this isolate. Used by bench/large.mjs only; never deployed.
import '../tests/support/wasm-memory-hook.mjs';
import Bridge, { Claims } from '../build/index.js';

export { Claims };

export default class extends Bridge {
  fetch(request) {
    if (new URL(request.url).pathname === '/__bench/wasm-memory') {
      return Response.json(globalThis.__wasmMemories.map((memory) => memory.buffer.byteLength));
    }
    return super.fetch(request);
  }
}
