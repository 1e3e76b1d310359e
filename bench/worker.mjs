// The Worker in workerd under load: requests per second and p50/p99 latency
// at fixed concurrency over loopback (autocannon, bounded in count and time),
// with a Re:amaze stand-in that answers at once; the Rust Worker beside the
// reference JS Worker (bench/js-worker.mjs), run the same way, alternating.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import { startReamaze } from '../scripts/standins.mjs';
import { SECRETS, workerOptions } from '../tests/support/helpers.mjs';

const CONNECTIONS = 16;
const REQUESTS = 2000;
const ROUNDS = 3;

function signedRequests(prefix) {
  return Array.from({ length: REQUESTS }, (_, i) => {
    const body = JSON.stringify({ event_name: 'INCOMING_EXTERNAL_CALL', account_id: '12345', timestamp: 1704067200,
      metadata: { caller_id_number: '+15551234567', caller_id_name: 'John Doe', dnis: '+15559876543', uniqueid: `${prefix}.${i}` } });
    return { body, signature: `sha256=${createHmac('sha256', 'v360-current').update(body).digest('hex')}` };
  });
}

async function load(url, prefix) {
  const requests = signedRequests(prefix);
  let next = 0;
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: `${url}webhooks/voice360`,
    connections: CONNECTIONS,
    amount: REQUESTS,
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
  // Throughput over the whole run, timed here: autocannon's per-second
  // figures are too coarse for runs of a few seconds.
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { rps: result.requests.total / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

export async function workerBenchmarks() {
  const reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
  const bindings = { REAMAZE_BASE_URL: reamaze.url };
  // Both Workers write one log line per request; Miniflare hands them to this sink.
  const sink = () => {};
  const rust = new Miniflare({ ...workerOptions({ bindings }), port: 0, handleStructuredLogs: sink });
  const js = new Miniflare({
    modules: true,
    script: readFileSync(new URL('./js-worker.mjs', import.meta.url), 'utf8'),
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['BRIDGE_KV'],
    bindings: { ...SECRETS, ...bindings },
    port: 0,
    handleStructuredLogs: sink,
  });
  const urls = { rust: await rust.ready, js: await js.ready };
  const runs = { rust: [], js: [] };
  try {
    for (const [name, url] of Object.entries(urls)) await load(url, `warm.${name}`);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const name of round % 2 ? ['js', 'rust'] : ['rust', 'js']) {
        const r = await load(urls[name], `r${round}.${name}`);
        if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
        runs[name].push(r);
      }
    }
  } finally {
    await Promise.all([rust.dispose(), js.dispose(), reamaze.close()]);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const summary = (rs) => ({ rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) });
  return { rust: summary(runs.rust), js: summary(runs.js), connections: CONNECTIONS, requests: REQUESTS, rounds: ROUNDS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await workerBenchmarks();
  console.log(JSON.stringify(r));
}
