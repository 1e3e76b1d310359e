// Prints the benchmark table: the core natively (criterion's medians, from
// the run just made), the npm package in Node against node:crypto and a
// hand-written JS pipeline, the Worker in workerd against a JS Worker (and
// the npm package in a JS entry), and the sizes. Comparisons are ratios
// measured in the same run.
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { criterionMedians } from './criterion.mjs';
import os from 'node:os';
import { fmt, nodeBenchmarks } from './node.mjs';
import { largeBenchmarks } from './large.mjs';
import { kib, sizes } from './sizes.mjs';
import { workerBenchmarks } from './worker.mjs';

const ratio = (ours, theirs) => `${(theirs / ours).toFixed(2)}×`;
const line = (cells) => `| ${cells.join(' | ')} |`;
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const rustc = execSync('rustc --version').toString().trim();

console.log(`Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${rustc}\n`);

console.log('Core, native (criterion, median):\n');
console.log(line(['benchmark', 'time']));
console.log(line(['---', '---:']));
for (const r of criterionMedians(fileURLToPath(new URL('../target/criterion/', import.meta.url)))) console.log(line([r.name, fmt(r.ns)]));

console.log('\nnpm package in Node (median of 7 runs; ratio = alternative time / package time, above 1 means the package is faster):\n');
console.log(line(['what', 'package', 'alternative', 'ratio']));
console.log(line(['---', '---:', '---:', '---:']));
for (const r of nodeBenchmarks()) console.log(line([r.what, fmt(r.ours), `${fmt(r.theirs)} (${r.what.startsWith('verify +') ? 'JS pipeline' : 'node:crypto'})`, ratio(r.ours, r.theirs)]));

const w = await workerBenchmarks();
console.log(`\nWorker in workerd, ${w.connections} connections, ${w.requests} Voice360 webhooks per run, median of ${w.rounds} runs (the whole path: verify → KV → signed post to the Re:amaze stand-in → KV):\n`);
console.log(line(['Worker', 'requests/s', 'p50', 'p99', 'workerd CPU per request']));
console.log(line(['---', '---:', '---:', '---:', '---:']));
const micros = (x) => (x === null ? 'n/a' : `${x.toFixed(0)} µs`);
for (const [label, run] of [['reached directly', w], ['all behind the static-assets router', w.behindAssets], ['refused (bad signature: no KV, no post)', w.refused]]) {
  const row = (name, worker) => line([`${name}, ${label}`, worker.rps.toFixed(0), `${worker.p50} ms`, `${worker.p99} ms`, micros(worker.cpuMicros)]);
  const ratioRow = (name, worker) => {
    const cpuRatio = worker.cpuMicros && run.js.cpuMicros ? (worker.cpuMicros / run.js.cpuMicros).toFixed(2) : '';
    return line([`ratio ${name} / JS, ${label}`, (worker.rps / run.js.rps).toFixed(2), '', '', cpuRatio]);
  };
  console.log(row('Rust (this bridge)', run.rust));
  console.log(row('JS reference (WebCrypto)', run.js));
  console.log(row('npm package in a JS entry (createBridge)', run.npm));
  console.log(ratioRow('Rust', run.rust));
  console.log(ratioRow('npm package', run.npm));
}
console.log('\n(requests/s: above 1 means that Worker is ahead of the JS reference; CPU per request: below 1 means it costs less.)');

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const ms = (x) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(x < 10 ? 1 : 0)} ms`);
console.log('\nThe largest payloads: a Voice360 transcript with its word items (bench/large.mjs). CPU; Workers Free allows 10 ms per invocation:\n');
const large = await largeBenchmarks();
console.log(line(['transcript', 'body', 'Node: verify + parse', 'Node: whole request (createBridge)', 'Worker sync: request', 'Worker queue: intake', 'Worker queue: consumer']));
console.log(line(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
for (const { minutes, node, sync, queue } of large) {
  console.log(line([`${minutes / 60} hours`, mb(node.bytes), `${ms(node.verifyParseMs)} (first ${ms(node.verifyParseFirstMs)})`, `${ms(node.wholeMs)} (first ${ms(node.wholeFirstMs)})`,
    ms(sync?.intakeMs + sync?.consumerMs), ms(queue?.intakeMs), ms(queue?.consumerMs)]));
}
console.log('\nTheir memory: the high-water mark of the wasm linear memory, and the peak RSS growth (the JS copies included); an isolate has 128 MB:\n');
console.log(line(['transcript', 'body', 'Node: wasm (createBridge)', 'Node: peak RSS growth', 'Worker: wasm (sync)', 'Worker: wasm (sync, one held)', 'Worker: wasm (queue)', 'workerd: peak RSS growth (sync)']));
console.log(line(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
for (const { minutes, node, sync, queue } of large) {
  console.log(line([`${minutes / 60} hours`, mb(node.bytes), mb(node.wasmWhole), mb(node.rssGrowth),
    sync ? mb(sync.wasm) : 'n/a', sync ? mb(sync.wasmHeld) : 'n/a', queue ? mb(queue.wasm) : 'n/a', sync ? mb(sync.rssGrowth) : 'n/a']));
}

console.log('\nSizes (budgets in bench/budgets.json):\n');
const budgets = JSON.parse(readFileSync(new URL('./budgets.json', import.meta.url)));
console.log(line(['artifact', 'size', 'budget']));
console.log(line(['---', '---:', '---:']));
for (const [name, value] of Object.entries(sizes())) console.log(line([name, kib(value), budgets[name] ? kib(budgets[name]) : '']));
