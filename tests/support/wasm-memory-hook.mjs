// Loaded before the wasm glue (the Rust Worker's in bench/wasm-memory-worker.mjs,
// the npm package's in bench/large.mjs and tests/npm/limits.test.mjs): keeps
// each WebAssembly instance's memory as the glue makes it, in
// globalThis.__wasmMemories, so that the core's linear memory can be read.
// Wasm memory never shrinks, so its size after a request is the high-water
// mark of every request so far.
const memories = [];
globalThis.__wasmMemories = memories;
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  if (instance.exports.memory) memories.push(instance.exports.memory);
  return instance;
};
