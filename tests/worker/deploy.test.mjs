// `wrangler deploy --dry-run` with the project's wrangler: it builds and
// bundles the Worker as a real deploy would, and every resource it binds is
// one the README's "Deploying the Worker" tells the reader to create or knows
// about, with commands the project's wrangler accepts. `make test` leaves the
// dry run's output in target/wrangler-dry-run.log (it is the step that builds
// the Worker); run alone, this test makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../../', import.meta.url).pathname;
const logPath = `${root}target/wrangler-dry-run.log`;

function dryRun() {
  const stale = !existsSync(logPath) || statSync(logPath).mtimeMs < statSync(`${root}wrangler.toml`).mtimeMs;
  if (stale) {
    const out = execFileSync(`${root}node_modules/.bin/wrangler`,
      ['deploy', '--dry-run', '--outdir', `${root}target/wrangler-dry-run`],
      { cwd: root, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
    return out;
  }
  return readFileSync(logPath, 'utf8');
}

function deploySection() {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const start = readme.indexOf('## Deploying the Worker');
  assert.ok(start >= 0, 'the README has a "Deploying the Worker" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

test('wrangler deploy --dry-run bundles the Worker, and the README deploys what it binds', () => {
  const log = dryRun();
  assert.match(log, /--dry-run: exiting now/);
  assert.match(log, /Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
  // "env.CLAIMS (Claims)   Durable Object", "env.DELIVERIES (reamaze-bridge-deliveries)   Queue" …
  const resources = [...log.matchAll(/^env\.(\w+) \(([^)]*)\)\s+(Durable Object|KV Namespace|Queue)\s*$/gm)]
    .map(([, binding, resource, kind]) => ({ binding, resource, kind }));
  assert.deepEqual(resources.map((r) => r.kind).sort(), ['Durable Object', 'KV Namespace', 'Queue', 'Queue']);
  const section = deploySection();
  for (const { binding, resource, kind } of resources) {
    if (kind === 'Queue') assert.ok(section.includes(`scripts/wrangler queues create ${resource}`), `the README creates the queue ${resource}`);
    if (kind === 'KV Namespace') assert.ok(section.includes(`scripts/wrangler kv namespace create ${binding}`), `the README creates the KV namespace ${binding}`);
    if (kind === 'Durable Object') assert.ok(section.includes(`\`${resource}\``), `the README names the Durable Object ${resource}`);
  }
  // Every wrangler command the section gives runs through the project's wrangler.
  assert.doesNotMatch(section, /npx wrangler/, 'npx would run wrangler on the machine\'s own Node.js');
  const commands = new Set([...section.matchAll(/scripts\/wrangler ([a-z]+(?: [a-z]+)?)/g)].map((m) => m[1]));
  assert.ok(commands.has('deploy'), 'the README deploys with scripts/wrangler deploy');
  for (const command of commands) {
    const words = command.split(' ');
    execFileSync(`${root}node_modules/.bin/wrangler`, [...words, '--help'], { cwd: root, stdio: 'ignore' });
  }
});
