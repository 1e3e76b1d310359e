// Local stand-ins for Re:amaze and for Voice360's send-SMS API, on loopback.
// Used by the Worker tests and by `make dev`. They check what the real
// services would check, with node:crypto (not the bridge's own code):
// Re:amaze verifies X-Reamaze-Hmac-SHA256 with the channel's secret;
// Voice360 checks X-API-Key and the account in the path.
//
// Each can be scripted: `standin.respond({ status, headers, body, delayMs,
// hangUp, stallBody })` queues the answers to the next requests (default: success);
// `standin.policy = (entry) => answer | undefined` decides per request
// (before the queued answers); `pause()` refuses connections until
// `resume()`.

import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

export function reamazeSignature(secret, body) {
  return createHmac('sha256', secret).update(body).digest('base64');
}

function sameText(a, b) {
  const x = Buffer.from(String(a ?? ''));
  const y = Buffer.from(String(b ?? ''));
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

/** A scripted HTTP stand-in: `handle(req, raw)` decides what a request is. */
async function startStandin({ port = 0, handle, success }) {
  const script = [];
  const control = { policy: null };
  const received = [];
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    let raw;
    try {
      raw = await readBody(req);
    } catch {
      // The connection went before the body was whole (pause() or close()
      // dropped it, or the client gave up): no request was made, so nothing
      // is received and nothing answered. Left unhandled, this rejection
      // would fail whichever test file happened to be running.
      return;
    }
    const verdict = handle(req, raw);
    if (verdict.reject) {
      received.push({ ...verdict.entry, status: verdict.reject.status });
      res.writeHead(verdict.reject.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(verdict.reject.body));
      return;
    }
    const chosen = control.policy?.(verdict.entry) ?? script.shift() ?? {};
    const answer = { status: 200, headers: {}, body: success, ...chosen };
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    received.push({ ...verdict.entry, status: answer.hangUp ? null : answer.status });
    if (answer.hangUp) {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    if (answer.stallBody) {
      // The status and the body's first bytes, then nothing until closed.
      res.write('{"status":');
      return;
    }
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const bound = await listen(server, port);
  const dropConnections = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    set policy(fn) {
      control.policy = fn;
    },
    /** Stops listening: connections are refused until `resume`. */
    pause: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        dropConnections();
      }),
    resume: () => listen(server, bound),
    /** Entries the stand-in accepted (2xx). */
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    respond: (...answers) => script.push(...answers),
    reset: () => {
      script.length = 0;
      received.length = 0;
      control.policy = null;
    },
    close: () =>
      new Promise((resolve) => {
        dropConnections();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

/** Re:amaze's custom channels: POST /incoming/voice and /incoming/sms. */
export function startReamaze({ port, voiceSecret, smsSecret, onMessage } = {}) {
  return startStandin({
    port,
    success: { status: 'ok' },
    handle(req, raw) {
      const channel = { '/incoming/voice': 'voice', '/incoming/sms': 'sms' }[req.url];
      if (req.method !== 'POST' || !channel) {
        return { reject: { status: 404, body: { error: 'not found' } }, entry: { path: req.url } };
      }
      const secret = channel === 'voice' ? voiceSecret : smsSecret;
      const signature = req.headers['x-reamaze-hmac-sha256'];
      const signatureValid = sameText(signature, reamazeSignature(secret, raw));
      let message = null;
      try {
        message = JSON.parse(raw.toString('utf8'));
      } catch {}
      const entry = { channel, message, raw, signatureValid };
      if (!signatureValid) return { reject: { status: 401, body: { error: 'invalid signature' } }, entry };
      if (!message) return { reject: { status: 400, body: { error: 'invalid JSON' } }, entry };
      onMessage?.(entry);
      return { entry };
    },
  });
}

/** Voice360's POST /v3/voice/{account_id}/sms/send. */
export function startVoice360({ port, apiKey, accountId, onSms } = {}) {
  return startStandin({
    port,
    success: { result: { status: 'queued' }, error: false, message: 'SMS sent' },
    handle(req, raw) {
      const entry = { path: req.url, apiKey: req.headers['x-api-key'], sms: null };
      if (req.method !== 'POST' || req.url !== `/v3/voice/${accountId}/sms/send`) {
        return { reject: { status: 404, body: { result: null, error: true, message: 'Not found' } }, entry };
      }
      if (!sameText(entry.apiKey, apiKey)) {
        return {
          reject: { status: 403, body: { result: null, error: true, message: 'Invalid API key', error_code: 'AUTH_INVALID' } },
          entry,
        };
      }
      try {
        entry.sms = JSON.parse(raw.toString('utf8'));
      } catch {
        return { reject: { status: 400, body: { result: null, error: true, message: 'Malformed request' } }, entry };
      }
      const { from, to, message } = entry.sms;
      if (!from || !to || typeof message !== 'string' || [...message].length > 160) {
        return { reject: { status: 400, body: { result: null, error: true, message: 'from, to and message (max 160 chars) are required' } }, entry };
      }
      onSms?.(entry.sms);
      return { entry };
    },
  });
}
