// The npm package in Node, against what a Node developer would otherwise
// write, measured in the same run: verify for 64 B to 1 MiB bodies against
// node:crypto (createHmac + timingSafeEqual); the whole path (verify +
// translate + sign) against bench/js-pipeline.mjs. Prints medians of 7 runs.
// BENCH_TREE=<dir> measures the package built in the checkout <dir> instead
// of the linked one (bench/compare.sh runs this file against two commits);
// --json prints the rows as JSON.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// The package and the JS pipeline of one tree: the pipeline is asserted to
// sign the same bytes as the package, so it must be of the same commit.
const tree = process.env.BENCH_TREE && ((path) => pathToFileURL(resolve(process.env.BENCH_TREE, path)).href);
const { createProcessor, verify } = await import(tree ? tree('pkg/src/node.mjs') : 'reamaze-bridge');
const { jsPipeline, verifyVoice360 } = await import(tree ? tree('bench/js-pipeline.mjs') : './js-pipeline.mjs');

const RUNS = 7;

/** Median nanoseconds per call of `fn` over RUNS runs of enough calls to take ~`ms`. */
export function measure(fn, ms = 150) {
  let n = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i += 1) fn();
    if (Number(process.hrtime.bigint() - t) / 1e6 > ms / 4) break;
    n *= 2;
  }
  n *= 4;
  const runs = [];
  for (let r = 0; r < RUNS; r += 1) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i += 1) fn();
    runs.push(Number(process.hrtime.bigint() - t) / n);
  }
  return runs.sort((a, b) => a - b)[RUNS >> 1];
}

export const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);

function smsBody(size) {
  const base = { event_name: 'SMS_RECEIVED', account_id: '12345', timestamp: 1704067200, metadata: { from_number: '+15551234567', to_number: '+15559876543', message_id: 'msg_abc123', body: '' } };
  const empty = JSON.stringify(base).length;
  base.metadata.body = 'Customer asked about the May invoice and a refund. '.repeat(Math.ceil(size / 50)).slice(0, Math.max(0, size - empty));
  return JSON.stringify(base);
}

export function nodeBenchmarks() {
  const rows = [];
  const secrets = ['webhook-secret'];
  for (const [label, size] of [['64 B', 64], ['1 KiB', 1024], ['16 KiB', 16 * 1024], ['1 MiB', 1024 * 1024]]) {
    const body = Buffer.alloc(size, 'a');
    const header = `sha256=${createHmac('sha256', secrets[0]).update(body).digest('hex')}`;
    if (!verify({ scheme: 'voice360', secrets, body, signature: header }).ok || !verifyVoice360(body, header, secrets).ok) throw new Error('setup');
    const ours = measure(() => verify({ scheme: 'voice360', secrets, body, signature: header }));
    const theirs = measure(() => {
      const received = Buffer.from(header.slice(7), 'hex');
      return timingSafeEqual(createHmac('sha256', secrets[0]).update(body).digest(), received);
    });
    rows.push({ what: `verify ${label}`, ours, theirs });
  }
  for (const [label, size] of [['1 KiB', 1024], ['16 KiB', 16 * 1024]]) {
    const text = smsBody(size);
    const body = Buffer.from(text);
    const header = `sha256=${createHmac('sha256', secrets[0]).update(body).digest('hex')}`;
    const processor = createProcessor({ VOICE360_WEBHOOK_SECRETS: secrets, REAMAZE_SMS_SECRET: 'sms-secret' });
    const whole = () => {
      const result = processor.process('voice360', { body, signature: header });
      if (!result.ok) throw new Error(result.code);
      return result.deliveries[0].headers['X-Reamaze-Hmac-SHA256'];
    };
    const js = () => jsPipeline(body, header, secrets, 'sms-secret');
    // Same work, same result: the two pipelines must sign the same bytes.
    const ref = jsPipeline(body, header, secrets, 'sms-secret');
    if (whole() !== ref.signature) throw new Error('the pipelines disagree');
    rows.push({ what: `verify + translate + sign ${label}`, ours: measure(whole), theirs: measure(js) });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--json')) console.log(JSON.stringify(nodeBenchmarks()));
  else for (const r of nodeBenchmarks()) console.log(`${r.what.padEnd(32)} package ${fmt(r.ours).padStart(10)}  node:crypto/JS ${fmt(r.theirs).padStart(10)}  ratio ${(r.theirs / r.ours).toFixed(2)}×`);
}
