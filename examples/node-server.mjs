// A plain Node server that mounts the whole bridge (node:http + createBridge).
//
//   REAMAZE_VOICE_SECRET=… VOICE360_WEBHOOK_SECRETS=… PORT=8080 node examples/node-server.mjs
//
// Settings come from the environment, by the same names as everywhere else.
import http from 'node:http';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createBridge } from 'reamaze-bridge';

/** Starts the server; resolves to { url, close() }. */
export async function startServer({ settings, port = 0, host = '127.0.0.1', store } = {}) {
  const bridge = createBridge(settings, { store });
  const server = http.createServer(async (req, res) => {
    try {
      // The body goes to the bridge as a stream: it reads up to
      // MAX_BODY_BYTES and refuses the rest unread, so a huge upload costs
      // no memory.
      const hasBody = !['GET', 'HEAD'].includes(req.method);
      const request = new Request(`http://${req.headers.host ?? `${host}:${port}`}${req.url}`, {
        method: req.method,
        headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
        body: hasBody ? Readable.toWeb(req) : undefined,
        duplex: 'half',
      });
      const response = await bridge.fetch(request);
      const headers = Object.fromEntries(response.headers);
      // The rest of a body refused at the limit is read and dropped, never
      // kept, so the sender gets its answer; then the connection closes.
      if (hasBody && !req.readableEnded) {
        headers.connection = 'close';
        req.resume();
      }
      res.writeHead(response.status, headers);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', error: 'internal', message: String(e?.message ?? e) }));
    }
  });
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
