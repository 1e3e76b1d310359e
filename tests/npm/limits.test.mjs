// Bodies over MAX_BODY_BYTES are refused at the limit, with bounded memory:
// the example Node server in a process of its own, sent 300 MB in chunks
// with no Content-Length, and createBridge given an endless stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import * as bridge from 'reamaze-bridge';

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** The peak resident memory of process `pid`, in bytes (Linux's VmHWM). */
const peakMemory = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

function startServerProcess() {
  const script = `
    import { startServer } from './examples/node-server.mjs';
    const { url } = await startServer({ settings: { VOICE360_WEBHOOK_SECRETS: 'k', REAMAZE_VOICE_SECRET: 'v' } });
    console.log(url);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (data) => resolve({ child, url: String(data).trim() }));
  });
}

/** POSTs `total` bytes in 64 KiB chunks, chunked (no Content-Length); resolves to the answer. */
function postChunked(url, total) {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= total) return this.push(null);
        sent += CHUNK.length;
        this.push(CHUNK);
      },
    });
    const req = http.request(`${url}/webhooks/voice360`, { method: 'POST', headers: { 'X-Voice360-Signature': `sha256=${'0'.repeat(64)}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        body.destroy();
        resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks)), sent });
      });
    });
    req.on('error', reject);
    body.pipe(req);
  });
}

test('the example Node server refuses a 300 MB chunked upload at the limit, without holding it', { timeout: 60_000 }, async () => {
  const { child, url } = await startServerProcess();
  try {
    const before = peakMemory(child.pid);
    const answer = await postChunked(url, 300 * MB);
    assert.equal(answer.status, 413);
    assert.equal(answer.json.error, 'body_too_large');
    const peak = peakMemory(child.pid);
    console.log(`300 MB upload: refused with 413; the server's peak memory ${(before / MB).toFixed(0)} MB before, ${(peak / MB).toFixed(0)} MB after`);
    assert.ok(peak - before < 64 * MB, `the server's memory grew by ${((peak - before) / MB).toFixed(0)} MB`);
  } finally {
    child.kill();
  }
});

test('createBridge reads a streamed body only up to MAX_BODY_BYTES', async () => {
  const b = bridge.createBridge({ VOICE360_WEBHOOK_SECRETS: 'k', MAX_BODY_BYTES: String(MB) });
  let pulled = 0;
  const endless = new ReadableStream({
    pull(controller) {
      pulled += CHUNK.length;
      controller.enqueue(new Uint8Array(CHUNK));
    },
  });
  const request = new Request('http://b.test/webhooks/voice360', { method: 'POST', body: endless, duplex: 'half' });
  const response = await b.fetch(request);
  assert.equal(response.status, 413);
  assert.match((await response.json()).message, /MAX_BODY_BYTES/);
  assert.ok(pulled <= MB + 3 * CHUNK.length, `${pulled} bytes pulled`);
});

/**
 * In a fresh process (the core's memory is one per process, and never
 * shrinks): how much the core's wasm memory grows for a six-hour call's
 * transcript (7.7 MB of text with accents and emoji), verified alone, then
 * processed while its call is unknown (so held in the core's memory).
 */
function coreMemoryForTranscript() {
  const script = `
    await import('./tests/support/wasm-memory-hook.mjs');
    const { createHmac } = await import('node:crypto');
    const { longTranscription } = await import('./tests/support/transcript.mjs');
    const { createProcessor, verify } = await import('reamaze-bridge');
    const [memory] = globalThis.__wasmMemories;
    const signed = (id) => {
      const body = JSON.stringify(longTranscription(id, 360, 1704074500).event);
      return { body, signature: 'sha256=' + createHmac('sha256', 'k').update(body).digest('hex') };
    };
    const first = signed('memory.1');
    const size = () => memory.buffer.byteLength;
    const grown = (work) => { const before = size(); const result = work(); return [result, size() - before]; };
    const [verified, verify1] = grown(() => verify({ scheme: 'voice360', ...first, secrets: ['k'] }));
    const processor = createProcessor({ VOICE360_WEBHOOK_SECRETS: 'k', REAMAZE_VOICE_SECRET: 'v' });
    const [held1, process1] = grown(() => processor.process('voice360', { ...first, now: 1704074500 }));
    console.log(JSON.stringify({ bytes: Buffer.byteLength(first.body), verified: verified.ok, held: Boolean(held1.held), verify1, process1 }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../', import.meta.url).pathname, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout);
}

test("a transcript's text costs the core's memory its size once, not three times its length", () => {
  const f = coreMemoryForTranscript();
  const mb = (bytes) => `${(bytes / MB).toFixed(1)} MiB`;
  console.log(`a ${mb(f.bytes)} body: the core's memory grew ${mb(f.verify1)} to verify it, ${mb(f.process1)} more to process and hold it`);
  assert.equal(f.verified, true);
  assert.equal(f.held, true);
  // Verifying holds the body once, in the frame that carries it in (not
  // room for three bytes a character, nor a buffer grown by doubling).
  assert.ok(f.verify1 < 1.25 * f.bytes, `verify: ${f.verify1} bytes for a body of ${f.bytes}`);
  // Processing reuses that frame. What it adds: the copy held, the
  // transcription's text read out of its JSON string, and the reader's
  // buffer for it; not a second copy of the body to hold.
  assert.ok(f.process1 < 3.5 * f.bytes, `process: ${f.process1} bytes for a body of ${f.bytes}`);
});
