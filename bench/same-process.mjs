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
    // The whole bridge per request (createBridge.fetch, async): over a store
    // that remembers nothing (so no copy is a duplicate) and a Re:amaze that
    // answers at once, its log line made and dropped.
    const bridge = pkg.createBridge(
      { VOICE360_WEBHOOK_SECRETS: secrets, REAMAZE_SMS_SECRET: 'sms-secret' },
      { store: FORGETFUL, fetch: async () => new Response('{}', { status: 200 }), log: () => {} },
    );
    const init = { method: 'POST', body, headers: { 'x-voice360-signature': signature } };
    out[`createBridge request ${label}`] = Object.assign(() => bridge.fetch(new Request('http://bridge.test/webhooks/voice360', init)), { async: true });
  }
  return out;
}

/** A store that keeps nothing: every claim is granted. */
const FORGETFUL = { get: () => undefined, put: () => {}, claim: () => null, delete: () => {} };

const perCall = (fn) => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) fn();
  return Number(process.hrtime.bigint() - t) / CALLS;
};

/** `perCall` for an async call, over a tenth as many calls. */
const perAsyncCall = async (fn) => {
  const t = process.hrtime.bigint();
  for (let i = 0; i < CALLS / 10; i += 1) await fn();
  return Number(process.hrtime.bigint() - t) / (CALLS / 10);
};

const median = (values) => values.slice().sort((x, y) => x - y)[values.length >> 1];

export async function sameProcess(treeA, treeB) {
  const load = (tree) => import(pathToFileURL(resolve(tree, 'pkg/src/node.mjs')).href);
  const [a, b] = [cases(await load(treeA)), cases(await load(treeB))];
  const rows = [];
  for (const what of Object.keys(a)) {
    const time = a[what].async ? perAsyncCall : async (fn) => perCall(fn);
    for (let i = 0; i < CALLS / 10; i += 1) await a[what](), await b[what]();
    const [ta, tb] = [[], []];
    for (let s = 0; s < SLICES; s += 1) {
      // Each tree goes first in half the slices.
      if (s % 2 === 0) ta.push(await time(a[what])), tb.push(await time(b[what]));
      else tb.push(await time(b[what])), ta.push(await time(a[what]));
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
