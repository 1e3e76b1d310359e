// The packed package, installed into a fresh project as a user installs it,
// and imported wherever users put it, each with only what pkg/README says:
// bundled by Vite, webpack and esbuild (ESM and IIFE) and run in Chromium;
// a JavaScript Cloudflare Worker bundled by wrangler and run in workerd
// (Miniflare); Deno and Bun from their npm binaries; the types checked by
// arethetypeswrong, from CommonJS TypeScript, and without the DOM lib.
//
// Its tools need Node.js 22 (wrangler, Miniflare, Vite): it runs in the
// Node.js 22 suite, not on the package's other Node.js lines.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { chromium } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules/.bin', name);
const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, ...env } });

/** What every check signs, and Re:amaze's own value for it (as in pkg/README). */
const SIGN = `sign({ scheme: 'reamaze', secret: 'your_shared_secret', body: '{"id":"1","body":"hello"}' })`;
const EXPECTED = 'FgdUISIrhWKi9IhRN80V37obl/NYrpXeaZvV95dmgeU=';

let dir;
let project;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'reamaze-bridge-imports-'));
  const [packed] = JSON.parse(run('npm', ['pack', join(root, 'pkg'), '--pack-destination', dir, '--json', '--loglevel=error'], dir));
  project = join(dir, 'app');
  mkdirSync(project);
  write('package.json', JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  run('npm', ['install', join(dir, packed.filename), '--no-audit', '--no-fund', '--loglevel=error'], project);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function write(name, text) {
  const file = join(project, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe('bundled for the browser, run in Chromium', () => {
  let browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
  });
  after(() => browser?.close());

  /** Serves `folder` on loopback, opens its index.html, and resolves to the title the app set. */
  async function titleOf(folder) {
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
    const server = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      try {
        const file = readFileSync(join(folder, path === '/' ? 'index.html' : path));
        res.writeHead(200, { 'content-type': types[extname(path || '.html')] ?? 'text/html' }).end(file);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`http://127.0.0.1:${server.address().port}/`);
      await page.waitForFunction(() => document.title !== 'loading', null, { timeout: 15_000 }).catch(() => {});
      assert.deepEqual(errors, []);
      return await page.title();
    } finally {
      await page.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  // As pkg/README's browser example: init() finds the .wasm beside the module.
  const app = `import { init, sign } from 'reamaze-bridge';\nawait init();\ndocument.title = ${SIGN};\n`;
  // pkg/README's esbuild recipe: the .wasm by name, through the file loader.
  const esbuildApp =
    `import { init, sign } from 'reamaze-bridge';\nimport wasm from 'reamaze-bridge/reamaze_bridge_bg.wasm';\n` +
    `init(wasm).then(() => { document.title = ${SIGN}; });\n`;
  const page = (script, type = 'module') => `<!doctype html><title>loading</title><script type="${type}" src="${script}"></script>\n`;

  test('Vite', { timeout: 60_000 }, async () => {
    write('vite/app.mjs', app);
    write('vite/index.html', page('./app.mjs'));
    run(bin('vite'), ['build', 'vite', '--outDir', 'dist', '--logLevel', 'warn'], project);
    assert.equal(await titleOf(join(project, 'vite/dist')), EXPECTED);
  });

  test('webpack', { timeout: 60_000 }, async () => {
    write('webpack/app.mjs', app);
    write('webpack/dist/index.html', page('./app.js', 'text/javascript'));
    const { default: webpack } = await import(join(root, 'node_modules/webpack/lib/index.js'));
    const compiler = webpack({ mode: 'production', context: join(project, 'webpack'), entry: './app.mjs', output: { path: join(project, 'webpack/dist'), filename: 'app.js' }, performance: false });
    const stats = await new Promise((resolve, reject) => compiler.run((e, s) => (e ? reject(e) : resolve(s))));
    await new Promise((resolve) => compiler.close(resolve));
    assert.equal(stats.hasErrors(), false, stats.toString({ all: false, errors: true }));
    assert.equal(await titleOf(join(project, 'webpack/dist')), EXPECTED);
  });

  for (const format of ['esm', 'iife']) {
    test(`esbuild (${format}), with pkg/README's recipe`, { timeout: 60_000 }, async () => {
      write(`esbuild-${format}/app.mjs`, esbuildApp);
      write(`esbuild-${format}/dist/index.html`, page('./app.js', format === 'esm' ? 'module' : 'text/javascript'));
      run(bin('esbuild'), [`esbuild-${format}/app.mjs`, '--bundle', `--format=${format}`, '--loader:.wasm=file', `--outdir=esbuild-${format}/dist`, '--log-level=warning'], project);
      assert.equal(await titleOf(join(project, `esbuild-${format}/dist`)), EXPECTED);
    });
  }

  test('an IIFE bundle that calls init() without the .wasm: a BridgeError that says what to do', { timeout: 60_000 }, async () => {
    write('esbuild-bare/app.mjs', `import { init } from 'reamaze-bridge';\ninit().catch((e) => { document.title = e.code + ': ' + e.message; });\n`);
    write('esbuild-bare/dist/index.html', page('./app.js', 'text/javascript'));
    run(bin('esbuild'), ['esbuild-bare/app.mjs', '--bundle', '--format=iife', '--outdir=esbuild-bare/dist', '--log-level=error'], project);
    assert.match(await titleOf(join(project, 'esbuild-bare/dist')), /^wasm_not_found: .*reamaze-bridge\/reamaze_bridge_bg\.wasm.*init\(wasm\)/);
  });
});

test('a JavaScript Cloudflare Worker, bundled by wrangler, answers in workerd', { timeout: 90_000 }, async () => {
  write('worker/worker.mjs', [
    `import { createBridge, sign } from 'reamaze-bridge';`,
    `export default {`,
    `  fetch(request, env) {`,
    `    if (new URL(request.url).pathname === '/sign') return new Response(${SIGN});`,
    `    return createBridge(env).fetch(request);`,
    `  },`,
    `};`,
  ].join('\n'));
  write('worker/wrangler.toml', 'name = "js-worker"\nmain = "worker.mjs"\ncompatibility_date = "2026-04-01"\n');
  run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', 'dist'], join(project, 'worker'), { WRANGLER_SEND_METRICS: 'false', CI: '1' });
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(project, 'worker/dist/worker.js'),
    modulesRoot: join(project, 'worker/dist'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: { REAMAZE_VOICE_SECRET: 'v', VOICE360_WEBHOOK_SECRETS: 'k' },
  });
  try {
    const signed = await mf.dispatchFetch('http://worker.test/sign');
    assert.equal(await signed.text(), EXPECTED);
    const health = await mf.dispatchFetch('http://worker.test/healthz');
    assert.equal(health.status, 200);
    assert.equal((await health.json()).providers.voice360, true);
  } finally {
    await mf.dispose();
  }
});

describe('Deno and Bun, from their npm binaries', () => {
  const script = `import { createBridge, sign } from 'reamaze-bridge';\nconst health = await createBridge({}, { log: null }).fetch(new Request('http://b.test/healthz'));\nconsole.log(${SIGN}, health.status);\n`;

  test('Deno, with --allow-read (for the .wasm), as pkg/README says', () => {
    write('runtime.mjs', script);
    const env = { DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    assert.equal(run(bin('deno'), ['run', '--allow-read', '--node-modules-dir=manual', 'runtime.mjs'], project, env).trim(), `${EXPECTED} 200`);
  });

  test('Bun', () => {
    write('runtime.mjs', script);
    assert.equal(run(bin('bun'), ['runtime.mjs'], project).trim(), `${EXPECTED} 200`);
  });
});

describe('the types', () => {
  test('arethetypeswrong: every entry resolves to types of its own module kind', () => {
    // The Node entries from CommonJS and ESM; the browser entry is ESM only,
    // and the .wasm is a file, not a module.
    const checks = [
      ['--entrypoints', '.', './redis', '--profile', 'node16'],
      ['--entrypoints', './browser', '--profile', 'esm-only'],
    ];
    for (const args of checks) {
      try {
        run(bin('attw'), ['--pack', join(root, 'pkg'), '--format', 'ascii', ...args], dir);
      } catch (e) {
        assert.fail(`attw ${args.join(' ')}:\n${e.stdout}${e.stderr}`);
      }
    }
  });

  const tsc = (files, options) => {
    write('tsconfig.json', JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, typeRoots: [join(root, 'node_modules/@types')], ...options },
      files,
    }));
    try {
      run(bin('tsc'), ['-p', '.'], project);
    } catch (e) {
      assert.fail(`tsc:\n${e.stdout}`);
    }
  };

  test('CommonJS TypeScript (.cts, module node16): require is typed', () => {
    write('types/cjs.cts', `import bridge = require('reamaze-bridge');\nimport redis = require('reamaze-bridge/redis');\nconst signature: string = bridge.${SIGN};\nconst make: typeof redis.redisStore = redis.redisStore;\nexport { signature, make };\n`);
    tsc(['types/cjs.cts'], { module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022'], types: ['node'] });
  });

  test('without the DOM lib: ES2022 and Node.js types only', () => {
    write('types/esm.mts', `import { init, sign } from 'reamaze-bridge';\nawait init();\nexport const signature: string = ${SIGN};\n`);
    tsc(['types/esm.mts'], { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'] });
  });
});
