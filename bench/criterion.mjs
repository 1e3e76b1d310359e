// The medians criterion wrote for the benchmarks last run in a cargo target
// folder (`<folder>/criterion/<group>/<id>/new/`): read by bench/report.mjs
// for the table and by bench/compare.mjs for each tree.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** `[{ name, ns }]`, by name, from `criterion` (a path). */
export function criterionMedians(criterion) {
  const rows = [];
  for (const group of existsSync(criterion) ? readdirSync(criterion) : []) {
    if (group === 'report') continue;
    for (const id of readdirSync(join(criterion, group))) {
      const dir = join(criterion, group, id, 'new');
      if (!existsSync(join(dir, 'estimates.json'))) continue;
      const { median } = JSON.parse(readFileSync(join(dir, 'estimates.json')));
      const { full_id: name } = JSON.parse(readFileSync(join(dir, 'benchmark.json')));
      rows.push({ name, ns: median.point_estimate });
    }
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}
