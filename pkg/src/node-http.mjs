// Serving a bridge from node:http (Node's own server, and the frameworks on
// it): a request listener around `bridge.fetch`.
import { Readable } from 'node:stream';

/**
 * A `(req, res)` listener for `http.createServer` that answers with
 * `bridge.fetch`. The body goes to the bridge as a stream, so one over
 * MAX_BODY_BYTES is refused without being held; the rest of it is then read
 * and dropped, and the connection closed, so the sender gets its answer.
 * `origin` (for example `https://bridge.example`) is the URL's origin where
 * the server sits behind a proxy; by default, the request's Host.
 */
export function nodeListener(bridge, { origin } = {}) {
  return async (req, res) => {
    try {
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const scheme = req.socket?.encrypted ? 'https' : 'http';
      const url = new URL(req.url ?? '/', origin ?? `${scheme}://${req.headers.host ?? 'localhost'}`);
      const headers = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? Readable.toWeb(req) : undefined,
        duplex: 'half',
      });
      const response = await bridge.fetch(request);
      const answer = Object.fromEntries(response.headers);
      if (hasBody && !req.readableEnded) {
        answer.connection = 'close';
        req.resume();
      }
      res.writeHead(response.status, answer);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (e) {
      // A store or a fetch that throws: the bridge's own errors are answers.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ status: 'error', error: 'internal', message: String(e?.message ?? e) }));
    }
  };
}
