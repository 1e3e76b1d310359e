// A plain Node server that mounts the whole bridge (node:http, createBridge
// and the package's nodeListener).
//
//   REAMAZE_VOICE_SECRET=… VOICE360_WEBHOOK_SECRETS=… PORT=8080 node examples/node-server.mjs
//
// Settings come from the environment, by the same names as everywhere else.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { createBridge, nodeListener } from 'reamaze-bridge';

/** Starts the server; resolves to { url, close() }. `log` takes each log line (default: stdout). */
export async function startServer({ settings, port = 0, host = '127.0.0.1', store, log } = {}) {
  const bridge = createBridge(settings, { store, log });
  const server = http.createServer(nodeListener(bridge));
  await new Promise((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address();
  return {
    url: `http://${host}:${bound}`,
    // Idle keep-alive connections are closed too: Node.js 18 would otherwise
    // wait for them to time out (5 s) before the server stops.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url } = await startServer({ settings: process.env, port: Number(process.env.PORT ?? 8080) });
  console.log(`reamaze-bridge listening on ${url}`);
}
