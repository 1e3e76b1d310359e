// The Worker in workerd under load: requests per second, p50/p99 latency and
// workerd's CPU time per request at fixed concurrency over loopback
// (autocannon, bounded in count and time),
// with a Re:amaze stand-in that answers at once; the Rust Worker beside the
// reference JS Worker (bench/js-worker.mjs) and beside the npm package's
// `createBridge` in a JS Worker (bench/npm-worker.mjs), run the same way,
// taking turns.
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startReamaze } from '../scripts/standins.mjs';
import { SECRETS, workerOptions } from '../tests/support/helpers.mjs';

const CONNECTIONS = 16;
const REQUESTS = 2000;
const ROUNDS = 7;
/** The Workers compared: this bridge, the JS reference, and the npm package in a JS entry. */
export const WORKERS = ['rust', 'js', 'npm'];

// What each run sends. `webhook` is the whole path: verify, two KV reads, the
// signed post to the stand-in, two KV writes. `refused` is signed with another
// secret, so all the Workers read the body, verify, and answer 401 with no KV and
// no post: the per-request cost of each Worker's own code and glue.
export const SCENARIOS = {
  webhook: { secret: 'v360-current', status: 200 },
  refused: { secret: 'not-the-route-secret', status: 401 },
};

function signedRequests(prefix, secret, count) {
  return Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({ event_name: 'INCOMING_EXTERNAL_CALL', account_id: '12345', timestamp: 1704067200,
      metadata: { caller_id_number: '+15551234567', caller_id_name: 'John Doe', dnis: '+15559876543', uniqueid: `${prefix}.${i}` } });
    return { body, signature: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
  });
}

export async function load(url, prefix, scenario, count = REQUESTS) {
  const requests = signedRequests(prefix, scenario.secret, count);
  let next = 0;
  let answered = 0;
  let unexpected = 0;
  const started = process.hrtime.bigint();
  let lastAnswer = started;
  const instance = autocannon({
    url: `${url}webhooks/voice360`,
    connections: CONNECTIONS,
    amount: count,
    duration: 60,
    timeout: 10,
    requests: [{
      method: 'POST',
      setupRequest(req) {
        const r = requests[next++ % requests.length];
        return { ...req, body: r.body, headers: { 'content-type': 'application/json', 'x-voice360-signature': r.signature } };
      },
    }],
  });
  instance.on('response', (_client, status) => {
    answered += 1;
    if (status !== scenario.status) unexpected += 1;
    lastAnswer = process.hrtime.bigint();
  });
  const result = await instance;
  // Throughput from the first request to the last answer, timed here.
  // autocannon notices the end of a run on a one-second tick, so timing the
  // whole call (or its per-second figures) rounds a few-second run to whole
  // seconds: 2,000 requests read as exactly 333 or 400 per second.
  const seconds = Number(lastAnswer - started) / 1e9;
  return { rps: answered / seconds, p50: result.latency.p50, p99: result.latency.p99, unexpected, errors: result.errors };
}

/** The workerd processes running now (Linux's /proc; none where there is no /proc). */
export function workerdProcesses() {
  const named = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd';
    } catch {
      return false; // gone meanwhile
    }
  };
  try {
    return new Set(readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && named(pid)));
  } catch {
    return new Set();
  }
}

// Linux counts process CPU time in ticks of 1/USER_HZ s; USER_HZ is 100.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user and system) that processes have used so far. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name: state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * One of the Workers in its own workerd, posting to `reamaze`. With
 * `assets`, it sits behind Miniflare's static-assets router (as wrangler.toml
 * puts the Rust Worker, for the debugger page), which is one more Worker hop
 * per request inside workerd; without, it is reached directly. `extra` adds
 * Miniflare options (the profiler's inspector port).
 */
export function startWorker(name, reamaze, { assets = false, ...extra } = {}) {
  const bindings = { REAMAZE_BASE_URL: reamaze.url };
  // Every Worker writes one log line per request; Miniflare hands them to this sink.
  const common = { port: 0, handleStructuredLogs: () => {}, ...extra };
  if (name === 'rust') {
    const options = workerOptions({ bindings });
    if (!assets) delete options.assets;
    return new Miniflare({ ...options, ...common });
  }
  // What the two JS Workers share; each adds its script.
  const jsWorker = {
    modules: true,
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['BRIDGE_KV'],
    // The claims, as the Rust Worker keeps them (bench/claims.mjs).
    durableObjects: { CLAIMS: { className: 'Claims', useSQLite: true } },
    bindings: { ...SECRETS, ...bindings },
    ...(assets ? { assets: workerOptions({}).assets } : {}),
    ...common,
  };
  if (name !== 'js' && name !== 'npm') throw new Error(`no Worker named ${name}: ${WORKERS.join(', ')}`);
  // The scripts' own files (and the package's, as they ship): Miniflare follows the imports.
  return new Miniflare({
    ...jsWorker,
    scriptPath: fileURLToPath(new URL(`./${name}-worker.mjs`, import.meta.url)),
    modulesRoot: fileURLToPath(new URL('..', import.meta.url)),
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
  });
}

/** A Worker started as `startWorker` does, with its URL and its own workerd processes. */
async function started(name, reamaze, options) {
  const before = workerdProcesses();
  const miniflare = startWorker(name, reamaze, options);
  const url = await miniflare.ready;
  return { miniflare, url, pids: [...workerdProcesses()].filter((pid) => !before.has(pid)) };
}

/**
 * The Workers, run alike, taking turns, `ROUNDS` times after a warm-up (each
 * round starts with the next one, so none always runs first). Besides
 * requests per second, each run reads the CPU time its workerd used per
 * request: the cost of a request, less disturbed than throughput by the load
 * generator and the stand-in sharing the machine. (Each Worker is started
 * alone, so that its workerd processes are told apart.)
 */
async function compare(reamaze, assets, scenario) {
  const workers = {};
  const runs = Object.fromEntries(WORKERS.map((name) => [name, []]));
  const tag = `${assets ? 'assets' : 'direct'}.${scenario.secret}`;
  try {
    for (const name of WORKERS) workers[name] = await started(name, reamaze, { assets });
    for (const [name, { url }] of Object.entries(workers)) await load(url, `warm.${tag}.${name}`, scenario);
    for (let round = 0; round < ROUNDS; round += 1) {
      const first = round % WORKERS.length;
      for (const name of [...WORKERS.slice(first), ...WORKERS.slice(0, first)]) {
        const { url, pids } = workers[name];
        const cpuBefore = cpuSeconds(pids);
        const r = await load(url, `r${round}.${tag}.${name}`, scenario);
        if (r.unexpected || r.errors) throw new Error(`${name}: ${r.unexpected} answers other than ${scenario.status}, ${r.errors} errors`);
        r.cpuMicros = pids.length ? ((cpuSeconds(pids) - cpuBefore) / REQUESTS) * 1e6 : null;
        runs[name].push(r);
      }
    }
  } finally {
    await Promise.all(Object.values(workers).map(({ miniflare }) => miniflare.dispose()));
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const summary = (rs) => ({
    rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    cpuMicros: rs[0].cpuMicros === null ? null : median(rs.map((r) => r.cpuMicros)),
  });
  return Object.fromEntries(WORKERS.map((name) => [name, summary(runs[name])]));
}

export async function workerBenchmarks() {
  const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  try {
    const direct = await compare(reamaze, false, SCENARIOS.webhook);
    const behindAssets = await compare(reamaze, true, SCENARIOS.webhook);
    const refused = await compare(reamaze, false, SCENARIOS.refused);
    return { ...direct, behindAssets, refused, connections: CONNECTIONS, requests: REQUESTS, rounds: ROUNDS };
  } finally {
    await reamaze.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await workerBenchmarks();
  console.log(JSON.stringify(r));
}
