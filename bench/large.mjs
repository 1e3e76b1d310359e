// The largest real payloads: a Voice360 call's transcript (word items
// included) of 2 hours (about 2.6 MB) and of 6 hours (about 7.9 MB, inside
// the default MAX_BODY_BYTES of 8 MiB), measured where the limits are.
//
// - Node (the npm package), each size in a fresh process so that memory
//   figures are its own: CPU for the whole request through `createBridge`
//   (verify, parse, translate, sign, the posts to a stand-in fetch) and the
//   core's wasm linear memory after it (wasm memory never shrinks: its
//   high-water mark); then CPU to verify and parse (`createProcessor`, the
//   call unknown, so the transcript is only read and held); and the growth
//   of the process's peak RSS from before the body was read (its JS copies
//   included).
// - The Worker in workerd, sync mode and queue mode: workerd's CPU for the
//   transcript's request (the Re:amaze stand-in runs in this process, not
//   in workerd), for the queue's intake and its consumer apart, workerd's
//   peak RSS growth, and the Worker's wasm linear memory (read through
//   bench/wasm-memory-worker.mjs), after the transcripts were delivered and
//   again after one more was held (its call unknown: the largest need, as
//   the body is kept whole to be stored). Linux's /proc; CPU in ticks of
//   10 ms, so each figure is the mean of several requests.
//
// Workers Free allows 10 ms of CPU per invocation; Standard, 30 s by
// default (`limits.cpu_ms`). An isolate has 128 MB.
// First: it must see the package's wasm instance made (tests/support/helpers.mjs loads it).
import '../tests/support/wasm-memory-hook.mjs';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { startReamaze } from '../scripts/standins.mjs';
import { SECRETS, workerOptions } from '../tests/support/helpers.mjs';
import { longTranscription } from '../tests/support/transcript.mjs';
import { cpuSeconds, workerdProcesses } from './worker.mjs';

export const SIZES = [120, 360];
const SECRET = 'v360-current';
const WORKER_REPEATS = 3;

const incomingCall = (uniqueid) => ({
  event_name: 'INCOMING_EXTERNAL_CALL', account_id: '12345', timestamp: 1704067200,
  metadata: { caller_id_number: '+15551234567', caller_id_name: 'John Doe', dnis: '+15559876543', uniqueid },
});
const signed = (event) => {
  const body = JSON.stringify(event);
  return { body, signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` };
};

/** In a child process: one transcript of `minutes` through the package. */
async function nodeChild(minutes) {
  // The package's one wasm instance, seen as it was made (the hook is this
  // module's first import), for its memory.
  const [memory] = globalThis.__wasmMemories;
  const { createBridge, createProcessor } = await import('reamaze-bridge');
  const settings = { VOICE360_WEBHOOK_SECRETS: SECRET, REAMAZE_VOICE_SECRET: 'voice', REAMAZE_SMS_SECRET: 'sms' };
  const cpu = (fn) => async () => {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  // The body comes from a file the parent wrote: building it here would
  // put its JS objects into the peak RSS measured below. Other calls' bodies
  // are the same with another id of the same length.
  // Peak RSS is counted from before the body is read: its JS copies are
  // part of what a request costs.
  const rssBefore = process.resourceUsage().maxRSS;
  const template = readFileSync(bodyFile(minutes), 'utf8');
  const transcript = (id) => {
    const body = template.replaceAll(TEMPLATE_ID, id);
    return { body, signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` };
  };
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const wasmBefore = memory.buffer.byteLength;
  let posted = 0;
  const fetch = async (_url, init) => {
    posted += String(init.body).length;
    return new Response('{}', { status: 200 });
  };
  // Each request's log line is made, as in service, and dropped rather than printed.
  const bridge = createBridge(settings, { fetch, log: () => {} });
  const request = ({ body, signature }) =>
    new Request('https://bridge.example/webhooks/voice360', { method: 'POST', headers: { 'x-voice360-signature': signature }, body });
  const wholeRuns = [];
  let whole;
  for (const i of [0, 1, 2]) {
    const call = await bridge.fetch(request(signed(incomingCall(`large.whol.${i}`))));
    if (call.status !== 200) throw new Error(`call: ${call.status}`);
    whole = transcript(`large.whol.${i}`);
    posted = 0;
    wholeRuns.push(
      await cpu(async () => {
        const res = await bridge.fetch(request(whole));
        if (res.status !== 200) throw new Error(`transcript: ${res.status} ${await res.text()}`);
      })(),
    );
  }
  // The core's high-water mark for the whole request, before anything is held.
  const wasmWhole = memory.buffer.byteLength;
  // Verify and parse: the call is unknown, so the transcript is read and held.
  const processor = createProcessor(settings);
  const verifyParse = [];
  for (const i of [0, 1, 2]) {
    const { body, signature } = transcript(`large.read.${i}`);
    verifyParse.push(
      await cpu(() => {
        const result = processor.process('voice360', { body, signature, now: 1704074500 });
        if (!result.ok || !result.held) throw new Error(`not held: ${JSON.stringify(result).slice(0, 200)}`);
      })(),
    );
  }
  return {
    bytes: whole.body.length,
    // The first run of each (the whole request's on a cold instance), then the median of the three.
    verifyParseFirstMs: verifyParse[0],
    verifyParseMs: median(verifyParse),
    wholeFirstMs: wholeRuns[0],
    wholeMs: median(wholeRuns),
    postedBytes: posted,
    wasmBefore,
    wasmWhole,
    rssGrowth: (process.resourceUsage().maxRSS - rssBefore) * 1024,
  };
}

const TEMPLATE_ID = 'large.tmpl.0';
const bodyFile = (minutes) => fileURLToPath(new URL(`../target/tmp/large-${minutes}.json`, import.meta.url));

function nodeFigures(minutes) {
  mkdirSync(dirname(bodyFile(minutes)), { recursive: true });
  writeFileSync(bodyFile(minutes), JSON.stringify(longTranscription(TEMPLATE_ID, minutes, 1704074500).event));
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--node-child', String(minutes)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`large.mjs (node, ${minutes} min): ${child.stderr}`);
  return JSON.parse(child.stdout);
}

const peakRss = (pids) => pids.reduce((sum, pid) => sum + Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024, 0);

/** Transcripts of `minutes` through the Worker, sync or queue mode. */
async function workerFigures(minutes, queues) {
  const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const before = workerdProcesses();
  const miniflare = new Miniflare({
    ...workerOptions({ bindings: { REAMAZE_BASE_URL: reamaze.url }, queues }),
    // The Worker as built, with a route that reads its wasm memory.
    scriptPath: fileURLToPath(new URL('./wasm-memory-worker.mjs', import.meta.url)),
    modulesRoot: fileURLToPath(new URL('..', import.meta.url)),
    modulesRules: [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
    port: 0,
    handleStructuredLogs: () => {},
  });
  try {
    const url = await miniflare.ready;
    const pids = [...workerdProcesses()].filter((pid) => !before.has(pid));
    if (pids.length === 0) return null;
    const post = async ({ body, signature }) => {
      const res = await fetch(`${url}webhooks/voice360`, { method: 'POST', headers: { 'x-voice360-signature': signature }, body });
      const text = await res.text();
      if (res.status !== 200 && res.status !== 202) throw new Error(`${res.status} ${text}`);
    };
    // Until at least `count` posts reached the stand-in and no more came for half a second.
    const settled = async (count) => {
      let seen = -1;
      for (let quiet = 0, waited = 0; reamaze.accepted().length < count || quiet < 500; waited += 50) {
        if (waited > 60_000) throw new Error(`${reamaze.accepted().length} of ${count} posts reached the stand-in`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        quiet = reamaze.accepted().length === seen ? quiet + 50 : 0;
        seen = reamaze.accepted().length;
      }
    };
    const rssBefore = peakRss(pids);
    let intake = 0;
    let consumer = 0;
    for (let i = 0; i < WORKER_REPEATS; i += 1) {
      const id = `large.${queues ? 'queue' : 'sync'}.${minutes}.${i}`;
      const expected = reamaze.accepted().length + 1;
      await post(signed(incomingCall(id)));
      await settled(expected);
      const start = cpuSeconds(pids) * 1000;
      await post(signed(longTranscription(id, minutes, 1704074500).event));
      const answered = cpuSeconds(pids) * 1000;
      await settled(expected + 1);
      intake += answered - start;
      consumer += cpuSeconds(pids) * 1000 - answered;
    }
    const wasmMemory = async () => Math.max(...(await (await fetch(`${url}__bench/wasm-memory`)).json()));
    const wasm = await wasmMemory();
    const rssGrowth = peakRss(pids) - rssBefore;
    // One more transcript, of a call the Worker has not seen: held whole.
    await post(signed(longTranscription(`large.held.${minutes}`, minutes, 1704074500).event));
    return { intakeMs: intake / WORKER_REPEATS, consumerMs: consumer / WORKER_REPEATS, rssGrowth, wasm, wasmHeld: await wasmMemory() };
  } finally {
    await miniflare.dispose();
    await reamaze.close();
  }
}

export async function largeBenchmarks() {
  const rows = [];
  for (const minutes of SIZES) {
    rows.push({ minutes, node: nodeFigures(minutes), sync: await workerFigures(minutes, false), queue: await workerFigures(minutes, true) });
  }
  return rows;
}

if (process.argv[2] === '--node-child') {
  console.log(JSON.stringify(await nodeChild(Number(process.argv[3]))));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await largeBenchmarks(), null, 1));
}
