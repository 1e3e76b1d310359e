// The npm package of two trees in one process, taking turns slice by slice:
// node bench/same-process.mjs <tree A> <tree B> [--json]. Separate processes
// differ by a few percent from one run to the next (where the JIT and the
// allocator settle); within one process, alternating slices of 4000 calls,
// the medians of the two trees are comparable to about 2%. `make
// bench-compare` prints these figures beside its rounds.
import { createHmac } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const SLICES = 30;
const CALLS = 4000;

/** A Voice360 SMS_RECEIVED of `size` bytes, as bench/node.mjs builds it. */
function smsBody(size) {
  const base = { event_name: 'SMS_RECEIVED', account_id: '12345', timestamp: 1704067200, metadata: { from_number: '+15551234567', to_number: '+15559876543', message_id: 'msg_abc123', body: '' } };
  const empty = JSON.stringify(base).length;
  base.metadata.body = 'Customer asked about the May invoice and a refund. '.repeat(Math.ceil(size / 50)).slice(0, Math.max(0, size - empty));
  return Buffer.from(JSON.stringify(base));
}

/** What is measured, for one tree's package. */
function cases(pkg) {
  const secrets = ['webhook-secret'];
  const out = {};
  for (const [label, size] of [['1 KiB', 1024], ['16 KiB', 16 * 1024]]) {
    const body = smsBody(size);
    const signature = `sha256=${createHmac('sha256', secrets[0]).update(body).digest('hex')}`;
    const processor = pkg.createProcessor({ VOICE360_WEBHOOK_SECRETS: secrets, REAMAZE_SMS_SECRET: 'sms-secret' });
    out[`verify + translate + sign ${label}`] = () => processor.process('voice360', { body, signature });
    out[`verify ${label}`] = () => pkg.verify({ scheme: 'voice360', secrets, body, signature });
  }
  return out;
}

const perCall = (fn) => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) fn();
  return Number(process.hrtime.bigint() - t) / CALLS;
};

const median = (values) => values.slice().sort((x, y) => x - y)[values.length >> 1];

export async function sameProcess(treeA, treeB) {
  const load = (tree) => import(pathToFileURL(resolve(tree, 'pkg/src/node.mjs')).href);
  const [a, b] = [cases(await load(treeA)), cases(await load(treeB))];
  const rows = [];
  for (const what of Object.keys(a)) {
    for (let i = 0; i < CALLS; i += 1) a[what](), b[what]();
    const [ta, tb] = [[], []];
    for (let s = 0; s < SLICES; s += 1) {
      // Each tree goes first in half the slices.
      if (s % 2 === 0) ta.push(perCall(a[what])), tb.push(perCall(b[what]));
      else tb.push(perCall(b[what])), ta.push(perCall(a[what]));
    }
    rows.push({ what, a: median(ta), b: median(tb) });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [treeA, treeB, json] = process.argv.slice(2);
  const rows = await sameProcess(treeA, treeB);
  if (json === '--json') console.log(JSON.stringify(rows));
  else for (const r of rows) console.log(`${r.what}: ${r.a.toFixed(0)} ns, ${r.b.toFixed(0)} ns, ${(r.b / r.a).toFixed(3)}×`);
}
