// reamaze-bridge/reamaze_bridge_bg.wasm: the core's .wasm, as a bundler gives
// an imported file. A URL with a file loader (esbuild, Vite's ?url, webpack's
// asset modules), or a compiled module where the bundler compiles it
// (wrangler). Either is what init() takes.
import type { WasmModule } from './index.js';

declare const wasm: string | WasmModule;
export default wasm;
