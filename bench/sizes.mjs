// Sizes of what ships: the Worker bundle (build/) and the npm package's
// .wasm, raw and gzip, and the npm tarball. With --check, exits 1 when one
// is over its budget in bench/budgets.json.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const root = new URL('../', import.meta.url);
const file = (path) => readFileSync(new URL(path, root));
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

export function sizes() {
  const workerWasm = file('build/index_bg.wasm');
  const workerJs = file('build/index.js');
  const npmWasm = file('pkg/dist/reamaze_bridge_bg.wasm');
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--loglevel=error'], { cwd: new URL('pkg/', root), encoding: 'utf8' }));
  return {
    worker_wasm: workerWasm.length,
    worker_wasm_gzip: gzip(workerWasm),
    worker_bundle: workerWasm.length + workerJs.length,
    worker_bundle_gzip: gzip(workerWasm) + gzip(workerJs),
    npm_wasm: npmWasm.length,
    npm_wasm_gzip: gzip(npmWasm),
    npm_tarball: packed.size,
  };
}

export const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const budgets = JSON.parse(file('bench/budgets.json'));
  const measured = sizes();
  let over = 0;
  for (const [name, value] of Object.entries(measured)) {
    const budget = budgets[name];
    const verdict = budget === undefined ? '' : value > budget ? `  OVER the budget of ${kib(budget)}` : `  (budget ${kib(budget)})`;
    if (budget !== undefined && value > budget) over += 1;
    console.log(`${name.padEnd(20)} ${kib(value).padStart(11)}${verdict}`);
  }
  if (process.argv.includes('--check') && over) {
    console.error(`${over} size${over > 1 ? 's are' : ' is'} over budget (bench/budgets.json)`);
    process.exit(1);
  }
}
