// `npm pack` gives a tarball that a fresh project installs from the file and
// uses from CommonJS and from ESM. Prints the .wasm size (raw and gzip) and
// the tarball's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const pkg = new URL('../../pkg/', import.meta.url).pathname;
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

test('npm pack installs into a fresh project and works from require and import', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'reamaze-bridge-pack-'));
  try {
    const [packed] = JSON.parse(run('npm', ['pack', pkg, '--pack-destination', dir, '--json', '--loglevel=error'], dir));
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, [
      'README.md', 'dist/admin.html', 'dist/index.cjs', 'dist/index.d.cts', 'dist/reamaze_bridge.js', 'dist/reamaze_bridge_bg.wasm', 'dist/redis.cjs', 'dist/redis.d.cts',
      'index.d.ts', 'package.json', 'redis.d.ts', 'src/api.mjs', 'src/browser.mjs', 'src/node-http.mjs', 'src/node.mjs', 'src/redis.mjs',
      'src/workerd.mjs', 'wasm.d.ts',
    ]);
    const tarball = join(dir, packed.filename);

    const project = join(dir, 'fresh');
    run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', private: true }));
    run('npm', ['install', tarball, '--no-audit', '--no-fund', '--loglevel=error'], project);

    const check = 'sign({ scheme: "reamaze", secret: "your_shared_secret", body: \'{"id":"1","body":"hello"}\' })';
    const fromRequire = run('node', ['-e', `const { sign } = require('reamaze-bridge'); console.log(${check})`], project);
    const fromImport = run('node', ['--input-type=module', '-e', `import { sign } from 'reamaze-bridge'; console.log(${check})`], project);
    assert.equal(fromRequire.trim(), 'FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=');
    assert.equal(fromImport.trim(), 'FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=');
    const redisEntries = run('node', ['-e', `console.log(typeof require('reamaze-bridge/redis').redisStore)`], project) +
      run('node', ['--input-type=module', '-e', `import { redisStore } from 'reamaze-bridge/redis'; console.log(typeof redisStore)`], project);
    assert.equal(redisEntries, 'function\nfunction\n', 'reamaze-bridge/redis from require and import');
    const translated = run('node', ['--input-type=module', '-e',
      `import { translate } from 'reamaze-bridge'; console.log(translate('volubile', '{"id":"1","phone":"+33612345678","type":"INBOUND","status":"NO_ANSWER"}').messages[0].message.body)`], project);
    assert.equal(translated.trim(), 'Inbound call with the AI agent: missed, no answer');

    const wasm = readFileSync(join(project, 'node_modules/reamaze-bridge/dist/reamaze_bridge_bg.wasm'));
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`npm package: .wasm ${kib(wasm.length)} raw, ${kib(gzipSync(wasm, { level: 9 }).length)} gzip; tarball ${kib(statSync(tarball).size)} (${packed.filename})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
