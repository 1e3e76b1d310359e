// Where a Worker's time goes inside its isolate: runs one Worker under the
// same load as bench/worker.mjs with V8's sampling profiler on (through
// workerd's inspector), prints the isolate's busy time per request and the
// functions that take it, and writes the profile for Chrome DevTools.
//
//   node bench/profile-worker.mjs rust|js|npm [webhook|refused] [requests]
//
// For function names in the Rust Worker's wasm, build it with worker-build
// alone (scripts/build-worker.sh's second wasm-opt pass strips the names):
//   worker-build --release --no-default-features --features worker
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { startReamaze } from '../scripts/standins.mjs';
import { SECRETS } from '../tests/support/helpers.mjs';
import { SCENARIOS, WORKERS, load, startWorker } from './worker.mjs';

const [which = 'rust', scenarioName = 'webhook', countArg] = process.argv.slice(2);
const scenario = SCENARIOS[scenarioName];
if (!WORKERS.includes(which) || !scenario) {
  console.error(`usage: node bench/profile-worker.mjs ${WORKERS.join('|')} [${Object.keys(SCENARIOS).join('|')}] [requests]`);
  process.exit(2);
}
const count = Number(countArg ?? (scenarioName === 'webhook' ? 4000 : 20000));
const SAMPLING_US = 100;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A Chrome DevTools Protocol session with the Worker's isolate. */
async function inspect(port) {
  const [target] = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      id += 1;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Self and inclusive samples per function name, busy samples only. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n) => (n.callFrame.functionName || '(anonymous)').replace(/::h[0-9a-f]{16}$/, '');
  const own = new Map();
  const inclusive = new Map();
  let busy = 0;
  for (const sample of profile.samples) {
    const leaf = byId.get(sample);
    if (name(leaf) === '(idle)') continue;
    busy += 1;
    own.set(name(leaf), (own.get(name(leaf)) ?? 0) + 1);
    const seen = new Set();
    for (let id = sample; id !== undefined; id = parent.get(id)) {
      const n = name(byId.get(id));
      if (!seen.has(n)) inclusive.set(n, (inclusive.get(n) ?? 0) + 1);
      seen.add(n);
    }
  }
  return { busy, own, inclusive };
}

const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
const inspectorPort = await freePort();
const worker = startWorker(which, reamaze, { inspectorPort });
try {
  const url = await worker.ready;
  await load(url, `warm.${which}`, scenario);
  const session = await inspect(inspectorPort);
  await session.send('Profiler.enable');
  await session.send('Profiler.setSamplingInterval', { interval: SAMPLING_US });
  await session.send('Profiler.start');
  const run = await load(url, `profiled.${which}`, scenario, count);
  const { result } = await session.send('Profiler.stop');
  session.close();
  if (run.unexpected || run.errors) throw new Error(`${run.unexpected} answers other than ${scenario.status}, ${run.errors} errors`);

  const file = new URL(`../target/worker-${which}-${scenarioName}.cpuprofile`, import.meta.url).pathname;
  writeFileSync(file, JSON.stringify(result.profile));
  const { busy, own, inclusive } = summarize(result.profile);
  const perRequest = (samples) => `${((samples * SAMPLING_US) / count).toFixed(1)} µs`;
  console.log(`${which} Worker, ${scenarioName}: ${count} requests at ${run.rps.toFixed(0)}/s (profiler on)`);
  console.log(`isolate busy: ${perRequest(busy)} per request (sampled every ${SAMPLING_US} µs); profile: ${file}\n`);
  for (const [title, counts] of [['most self time', own], ['most inclusive time', inclusive]]) {
    console.log(`${title}:`);
    for (const [n, samples] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      console.log(`  ${perRequest(samples).padStart(9)}  ${n.slice(0, 110)}`);
    }
    console.log();
  }
} finally {
  await worker.dispose();
  await reamaze.close();
}
