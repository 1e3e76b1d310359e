// The rounds of `make bench-compare` (bench/compare.sh builds both trees
// first): node bench/compare.mjs <tree A> <label A> <tree B> <label B>.
// Each round runs, for each tree, the native core benchmark (that tree's own
// bench/core.rs, criterion) and the npm benchmark (this tree's bench/node.mjs
// against that tree's package and JS pipeline), the trees taking turns to go first. Prints,
// per figure, the median over rounds for both and B's time over A's: below
// 1 means B is faster. Then the npm package of both trees in one process,
// taking turns slice by slice (bench/same-process.mjs): the closer
// comparison of the two, where separate runs differ by a few percent.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { criterionMedians } from './criterion.mjs';
import { fmt } from './node.mjs';
import { sameProcess } from './same-process.mjs';

const [a, labelA, b, labelB] = process.argv.slice(2);
const rounds = Number(process.env.ROUNDS ?? 2);
const here = new URL('.', import.meta.url).pathname;

function run(command, args, cwd, env = {}) {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd} failed:\n${result.stderr}`);
  return result.stdout;
}

/** criterion's median for each benchmark of the run just made in `tree`. */
function native(tree) {
  run('cargo', ['bench', '--quiet', '--bench', 'core', '--', '--warm-up-time', '1', '--measurement-time', '1'], tree);
  const figures = {};
  for (const { name, ns } of criterionMedians(join(tree, 'target/criterion'))) figures[`native ${name}`] = ns;
  return figures;
}

/** The npm benchmark (package time, and the JS alternative's in the same run). */
function npm(tree) {
  const rows = JSON.parse(run(process.execPath, [join(here, 'node.mjs'), '--json'], here, { BENCH_TREE: tree }));
  const figures = {};
  for (const row of rows) {
    figures[`npm ${row.what}`] = row.ours;
    figures[`npm ${row.what}: alternative / package`] = row.theirs / row.ours;
  }
  return figures;
}

const samples = { [a]: [], [b]: [] };
const started = Date.now();
for (let round = 0; round < rounds; round += 1) {
  for (const tree of round % 2 === 0 ? [a, b] : [b, a]) {
    process.stderr.write(`bench-compare: round ${round + 1} of ${rounds}, ${tree === a ? labelA : labelB}\n`);
    samples[tree].push({ ...native(tree), ...npm(tree) });
  }
}

const median = (values) => {
  const sorted = values.filter((v) => v !== undefined).sort((x, y) => x - y);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const names = [...new Set([...samples[a], ...samples[b]].flatMap(Object.keys))].sort();
const line = (cells) => `| ${cells.join(' | ')} |`;
const show = (name, value) => (value === undefined ? '—' : name.endsWith('/ package') ? `${value.toFixed(2)}×` : fmt(value));

console.log(`${rounds} rounds, alternating, in ${((Date.now() - started) / 60000).toFixed(1)} min. Ratio: ${labelB} / ${labelA}; for times, below 1 means ${labelB} is faster; for "alternative / package", above 1 means ${labelB} is further ahead.\n`);
console.log(line(['figure', labelA, labelB, 'ratio']));
console.log(line(['---', '---:', '---:', '---:']));
for (const name of names) {
  const x = median(samples[a].map((s) => s[name]));
  const y = median(samples[b].map((s) => s[name]));
  const ratio = x !== undefined && y !== undefined ? `${(y / x).toFixed(2)}×` : '';
  console.log(line([name, show(name, x), show(name, y), ratio]));
}

const together = await sameProcess(a, b);
console.log(`\nThe npm package of both trees in one process, taking turns (bench/same-process.mjs): median ns per call.\n`);
console.log(line(['figure', labelA, labelB, 'ratio']));
console.log(line(['---', '---:', '---:', '---:']));
for (const row of together) console.log(line([`npm ${row.what}`, fmt(row.a), fmt(row.b), `${(row.b / row.a).toFixed(2)}×`]));
