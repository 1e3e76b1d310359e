// One bridge process over a shared Redis, for tests/npm/redis.test.mjs: the
// npm package's createBridge with its redisStore, served by nodeListener on
// a loopback port. It prints `{"port": N}` once listening. Its settings
// come as JSON in BRIDGE_SETTINGS; REDIS_URL names the server and
// REDIS_MODULE the node-redis package (`redis`, or `redis4` for v4).
import http from 'node:http';
import { createBridge, nodeListener } from 'reamaze-bridge';
import { redisStore } from 'reamaze-bridge/redis';

const { createClient } = await import(process.env.REDIS_MODULE ?? 'redis');
// Reconnects every 100 ms, so that a test's restart is over quickly.
const client = createClient({ url: process.env.REDIS_URL, socket: { reconnectStrategy: () => 100 } });
const store = redisStore(client, { onError: (e) => console.error(`redis: ${e.message}`) });
await client.connect();
const bridge = createBridge(JSON.parse(process.env.BRIDGE_SETTINGS), { store });
const server = http.createServer(nodeListener(bridge));
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
