// Every JavaScript example in the package's README type-checks under
// `tsc --strict` against the package's own types (pkg/index.d.ts,
// pkg/redis.d.ts), Node's (@types/node) and node-redis's own: what a
// TypeScript user pasting it would get.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** The names the README's examples use without defining, as a reader's code would have them. */
const CONTEXT = `
declare const rawBody: Uint8Array;
declare const req: import('node:http').IncomingMessage;
declare const request: Request;
declare const body: string;
declare const reamazeStaffReplyBody: string;
`;

/** The part of Express (4) the README's example uses, as @types/express declares it. */
const EXPRESS = `
declare module 'express' {
  interface Request { body: Buffer; get(name: string): string | undefined }
  interface Response { status(code: number): Response; json(body: unknown): Response }
  type Handler = (req: Request, res: Response, next: () => void) => unknown;
  interface Express { post(path: string, ...handlers: Handler[]): Express }
  interface ExpressStatic {
    (): Express;
    raw(options?: { type?: string; limit?: string }): Handler;
  }
  const express: ExpressStatic;
  export default express;
}
`;

const examples = () => [...readFileSync(join(root, 'pkg/README.md'), 'utf8').matchAll(/```(?:js|ts)\n([\s\S]*?)```/g)].map((m) => m[1]);

test("the package README's examples type-check with tsc --strict", () => {
  const blocks = examples();
  assert.ok(blocks.length >= 4, `${blocks.length} examples found`);
  const dir = mkdtempSync(join(tmpdir(), 'readme-types-'));
  try {
    const files = blocks.map((code, i) => {
      const file = join(dir, `example${i + 1}.mts`);
      writeFileSync(file, `${CONTEXT}\n${code}\nexport {};\n`);
      return file;
    });
    files.push(join(dir, 'express.d.ts'));
    writeFileSync(files.at(-1), EXPRESS);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
        types: ['node'], typeRoots: [join(root, 'node_modules/@types')], skipLibCheck: false,
        // node-redis's own types (the newest, from the dev dependencies): what a reader's project has.
        paths: { 'reamaze-bridge': [join(root, 'pkg/index.d.ts')], 'reamaze-bridge/redis': [join(root, 'pkg/redis.d.ts')], 'reamaze-bridge/reamaze_bridge_bg.wasm': [join(root, 'pkg/wasm.d.ts')], redis: [join(root, 'node_modules/redis/dist/index.d.ts')] },
      },
      files,
    }));
    try {
      execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', dir], { encoding: 'utf8' });
    } catch (e) {
      assert.fail(`tsc --strict: ${e.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the package README lists every verify code the types declare, and no other", () => {
  const types = readFileSync(join(root, 'pkg/index.d.ts'), 'utf8');
  const union = types.slice(types.indexOf('export type VerifyCode'), types.indexOf(';', types.indexOf('export type VerifyCode')));
  const declared = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
  const readme = readFileSync(join(root, 'pkg/README.md'), 'utf8');
  const list = readme.slice(readme.indexOf('Failed checks have these codes'), readme.indexOf('Comparison is constant-time'));
  const listed = [...list.matchAll(/^- `([a-z_]+)`/gm)].map((m) => m[1]).sort();
  assert.ok(declared.length >= 9, `${declared.length} codes in index.d.ts`);
  assert.deepEqual(listed, declared);
});
