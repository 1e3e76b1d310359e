// Loaded before the wasm glue (the Rust Worker's in bench/wasm-memory-worker.mjs,
// the npm package's in bench/large.mjs): keeps each WebAssembly instance's
// memory as the glue makes it, so that the bench can read the core's linear
// memory. Wasm memory never shrinks, so its size after a request is the
// high-water mark of every request so far.
const memories = [];
globalThis.__benchWasmMemories = memories;
const Instance = WebAssembly.Instance;
WebAssembly.Instance = function (module, imports) {
  const instance = new Instance(module, imports);
  if (instance.exports.memory) memories.push(instance.exports.memory);
  return instance;
};
