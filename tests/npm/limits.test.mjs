// Bodies over MAX_BODY_BYTES are refused at the limit, with bounded memory:
// the example Node server in a process of its own, sent 300 MB in chunks
// with no Content-Length, and createBridge given an endless stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
