// A loopback receiver of the bridge's alerts, and the Standard Webhooks
// check of each, written from the specification with node:crypto (never
// the bridge's code): v1, then base64 of HMAC-SHA256 over
// `id.timestamp.body`, keyed with the bytes of the whsec_ secret. Shared by
// the Worker's and the npm package's operations tests.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

export const ALERT_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** A loopback receiver of alerts: what came, and whether each is signed. Set `received.failing` to answer 503. */
export async function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw), signed: standardWebhooksValid(req.headers, raw) });
      res.writeHead(received.failing ? 503 : 204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/alerts`, received, close: () => new Promise((r) => server.close(r)) };
}

/** The specification's check, written from it. */
function standardWebhooksValid(headers, raw) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const key = Buffer.from(ALERT_SECRET.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${raw}`).digest();
  const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
  return fresh && String(headers['webhook-signature']).split(' ').some((part) => {
    const [version, value] = part.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
