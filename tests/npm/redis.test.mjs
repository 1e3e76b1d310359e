// reamaze-bridge/redis against a real redis-server (Debian's, installed by
// the bootstrap): two bridge processes share it, overlapping copies of an
// event and of a staff reply are sent once, and a Redis restart mid-run
// loses nothing and kills no process. Run with node-redis v4 and the
// newest. redis-server missing is a failure, never a skip.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { redisStore } from '../../pkg/src/redis.mjs';
import { startReamaze, startVoice360 } from '../../scripts/standins.mjs';
import { SECRETS, incomingCall, sign, unusedPort } from '../support/helpers.mjs';

const bridgeScript = fileURLToPath(new URL('../support/redis-bridge.mjs', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** redis-server on a loopback port, without persistence: `{ url, stop() }`, stopped by its pid. */
async function startRedis(port) {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [error] = await Promise.race([once(server, 'error'), readyLine(server)]);
  if (error) throw new Error(`redis-server could not start (the bootstrap installs it from Debian's packages): ${error.message}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (server.exitCode !== null || server.signalCode !== null) return;
      process.kill(server.pid, 'SIGKILL');
      await once(server, 'exit');
    },
  };
}

async function readyLine(server) {
  let seen = '';
  for await (const chunk of server.stdout) {
    seen += chunk;
    if (seen.includes('Ready to accept connections')) {
      server.stdout.resume();
      return [null];
    }
  }
  throw new Error(`redis-server stopped before it was ready: ${seen}`);
}

/** One bridge process (tests/support/redis-bridge.mjs): `{ url, process }`. */
async function startBridge(redisUrl, module, settings) {
  const child = spawn(process.execPath, [bridgeScript], {
    env: { ...process.env, REDIS_URL: redisUrl, REDIS_MODULE: module, BRIDGE_SETTINGS: JSON.stringify(settings) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors = [];
  child.stderr.on('data', (chunk) => errors.push(String(chunk)));
  // The first line is the port; the log lines follow, read and dropped.
  const [first] = await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => [''])]);
  const line = String(first).split('\n')[0];
  if (!line.startsWith('{"port"')) throw new Error(`the bridge process did not start: ${errors.join('')}`);
  child.stdout.resume();
  return { url: `http://127.0.0.1:${JSON.parse(line).port}`, process: child, errors };
}

async function post(base, path, body, headers) {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
}

/** Sends until the answer is final (not a 503), as a sender retries, for at most `ms`: every answer. */
async function untilFinal(send, ms = 15_000) {
  const answers = [];
  const until = Date.now() + ms;
  for (;;) {
    const answer = await send();
    answers.push(answer);
    if (answer.status !== 503) return answers;
    assert.ok(Number(answer.retryAfter) > 0, `a 503 says when to retry: ${JSON.stringify(answer.json)}`);
    if (Date.now() > until) throw new Error(`still 503 after ${ms} ms: ${JSON.stringify(answer.json)}`);
    await sleep(100);
  }
}

test('redisStore refuses what is not a node-redis client', () => {
  assert.throws(() => redisStore({ get() {} }), /node-redis client/);
});

// node-redis 5 and later need Node.js 20; the package's suite also runs on 18.
const newestRuns = Number(process.versions.node.split('.')[0]) >= 20 || 'node-redis 5 and later need Node.js 20';
for (const [module, version, runs] of [['redis4', 'v4', true], ['redis', 'the newest', newestRuns]]) {
  describe(`two bridge processes over one Redis (node-redis ${version})`, { skip: runs === true ? false : runs }, () => {
    let redis;
    let reamaze;
    let voice360;
    let bridges = [];

    before(async () => {
      redis = await startRedis(await unusedPort());
      reamaze = await startReamaze({ voiceSecret: SECRETS.REAMAZE_VOICE_SECRET, smsSecret: SECRETS.REAMAZE_SMS_SECRET });
      voice360 = await startVoice360({ apiKey: SECRETS.VOICE360_API_KEY, accountId: '61' });
      const settings = {
        ...SECRETS,
        REAMAZE_BASE_URL: reamaze.url,
        VOICE360_API_BASE: `${voice360.url}/v3/voice`,
        VOICE360_ACCOUNT_ID: '61',
        SMS_CHANNEL_NUMBER: '+15559876543',
        UPSTREAM_TIMEOUT_MS: '2000',
        ADMIN_TOKEN: 'redis-admin-token',
      };
      bridges = await Promise.all([startBridge(redis.url, module, settings), startBridge(redis.url, module, settings)]);
    });

    after(async () => {
      for (const bridge of bridges) if (bridge.process.exitCode === null) bridge.process.kill();
      await redis?.stop();
      await reamaze?.close();
      await voice360?.close();
    });

    const alive = () => bridges.every((b) => b.process.exitCode === null && b.process.signalCode === null);

    test('20 overlapping copies of an event, across both processes: 1 post', async () => {
      // Re:amaze is slow, so the copies overlap the first delivery.
      reamaze.respond({ delayMs: 300 });
      const body = JSON.stringify(incomingCall(`redis-${module}-1`));
      const copies = Array.from({ length: 20 }, (_, i) => untilFinal(() => post(bridges[i % 2].url, '/webhooks/voice360', body, sign.voice360(body))));
      const answers = (await Promise.all(copies)).map((tries) => tries.at(-1));
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]), JSON.stringify(answers.map((a) => a.json)));
      assert.equal(answers.filter((a) => a.json.status === 'delivered').length, 1);
      assert.equal(reamaze.accepted().length, 1);
    });

    test('5 overlapping copies of a staff reply, across both processes: 1 SMS', async () => {
      voice360.respond({ delayMs: 300 });
      const body = JSON.stringify({ to: { name: 'Support', phone: '+15559876543' }, from: { name: 'Ann', phone: '+15551234567' }, body: `Hello from ${module}`, thread_id: 't' });
      const copies = Array.from({ length: 5 }, (_, i) => untilFinal(() => post(bridges[i % 2].url, '/webhooks/reamaze/sms', body, sign.reamaze(body))));
      const answers = (await Promise.all(copies)).map((tries) => tries.at(-1));
      assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.json)));
      assert.equal(voice360.accepted().length, 1);
    });

    test('a webhook refused by one process is listed by the other', async () => {
      const body = JSON.stringify(incomingCall(`redis-${module}-refused`));
      const refused = await post(bridges[0].url, '/webhooks/voice360', body, { 'X-Voice360-Signature': 'sha256=00' });
      assert.equal(refused.status, 401);
      const admin = { headers: { Authorization: 'Bearer redis-admin-token' } };
      let listed;
      for (let i = 0; i < 50 && !listed?.rejected?.some((r) => r.body === body); i += 1) {
        await sleep(100);
        listed = await (await fetch(`${bridges[1].url}/admin/rejected`, admin)).json();
      }
      const record = listed.rejected.find((r) => r.body === body);
      assert.ok(record, JSON.stringify(listed));
      assert.equal(record.code, 'malformed_signature');
      const held = await fetch(`${bridges[1].url}/admin/held`, admin);
      assert.equal(held.status, 200);
    });

    test('a Redis restart mid-run: 503 store_unavailable while it is down, nothing lost, no process dies', async (t) => {
      reamaze.reset();
      const ids = Array.from({ length: 24 }, (_, i) => `redis-${module}-restart-${i}`);
      const seen = [];
      const sender = async (id, i) => {
        const body = JSON.stringify(incomingCall(id));
        const tries = await untilFinal(() => post(bridges[i % 2].url, '/webhooks/voice360', body, sign.voice360(body)));
        seen.push(...tries);
      };
      // Three senders at a time, each with its own events, while Redis goes away and comes back.
      const senders = [0, 1, 2].map(async (lane) => {
        for (let i = lane; i < ids.length; i += 3) {
          await sender(ids[i], i);
          await sleep(40);
        }
      });
      // Settled, not raced: a sender that fails is reported once Redis is back up.
      const sent = Promise.allSettled(senders);
      await sleep(150);
      await redis.stop();
      await sleep(500);
      redis = await startRedis(Number(new URL(redis.url).port));
      for (const result of await sent) if (result.status === 'rejected') throw result.reason;

      assert.ok(alive(), 'both bridge processes are still running');
      assert.ok(seen.every((a) => a.status !== 500), JSON.stringify(seen.filter((a) => a.status === 500)));
      const outages = seen.filter((a) => a.json.error === 'store_unavailable');
      assert.ok(outages.length > 0, 'the restart was seen');
      assert.ok(outages.every((a) => a.status === 503));
      const posted = reamaze.accepted().map((r) => r.message.id);
      for (const id of ids) assert.ok(posted.some((p) => p.includes(id)), `${id} reached Re:amaze`);
      // A post made before Redis died, whose done-mark was then lost with
      // Redis's memory, is posted again on the retry: at most once per outage answer.
      t.diagnostic(`${ids.length} events, ${seen.length} requests, ${outages.length} answered store_unavailable, ${posted.length} posts`);
      assert.ok(posted.length - ids.length <= outages.length, `${posted.length} posts for ${ids.length} events`);
      assert.ok(bridges.some((b) => b.errors.join('').includes('redis:')), 'the outage was reported');
    });
  });
}

test('redis-server is installed (the bootstrap installs it; never skipped)', () => {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  assert.equal(found.status, 0, 'redis-server is missing: scripts/bootstrap.sh installs it from Debian');
  assert.match(found.stdout, /Redis server v=(7|8|9)\./);
});
