// The hostile requests of tests/vectors/hostile.json, built for an HTTP
// target: bodies written out, signatures made with node:crypto under the
// secrets the target was given (see the file's `format`).
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const hostile = JSON.parse(readFileSync(new URL('../vectors/hostile.json', import.meta.url), 'utf8'));

const expand = (template) => template.replace(/\{repeat:([^:}]*):(\d+)\}/g, (_, unit, times) => unit.repeat(Number(times)));

const HEADERS = { voice360: 'X-Voice360-Signature', volubile: 'X-Webhook-Signature', reamaze: 'X-Reamaze-Hmac-SHA256', bird: 'messagebird-signature' };

function signature(scheme, secret, body, url, timestamp) {
  const mac = createHmac('sha256', secret);
  if (scheme === 'bird') {
    mac.update(`${timestamp}\n${url}\n`).update(createHash('sha256').update(body).digest());
    return mac.digest('base64');
  }
  const tag = mac.update(body).digest();
  return { voice360: `sha256=${tag.toString('hex')}`, volubile: tag.toString('hex'), reamaze: tag.toString('base64') }[scheme];
}

/** The request for `testCase` against a target at `base` configured with `settings`: `{ path, body, headers }` (headers as pairs, so a repeated one stays repeated). */
export function hostileRequest(testCase, base, settings) {
  const body = testCase.body_hex !== undefined ? Buffer.from(testCase.body_hex, 'hex') : Buffer.from(expand(testCase.body));
  const url = `${base}${testCase.path}`;
  const fills = {};
  const spec = testCase.sign;
  if (spec) {
    const secret = String(settings[spec.secret]).split(',').at(-1);
    const seconds = Math.floor(Date.now() / 1000) + (spec.timestamp_offset ?? 0);
    fills.timestamp = String(spec.timestamp_unit === 'ms' ? seconds * 1000 : seconds);
    fills.signature = signature(spec.scheme, secret, body, url, fills.timestamp);
  }
  let headers;
  if (testCase.headers) {
    headers = testCase.headers.map(([name, value]) => [name, expand(value).replace(/\{(signature|timestamp)\}/g, (_, key) => fills[key])]);
  } else {
    headers = [[HEADERS[spec.scheme], fills.signature]];
    if (spec.scheme === 'bird') headers.push(['messagebird-request-timestamp', fills.timestamp]);
  }
  return { path: testCase.path, body, headers: [['content-type', 'application/json'], ...headers] };
}

/** Asserts that `answer` (`{ status, json, text }`) is what `testCase` expects, and echoes none of `secrets`. */
export function assertHostileAnswer(testCase, answer, secrets) {
  const { expect } = testCase;
  assert.equal(answer.status, expect.status, answer.text);
  if (expect.error) assert.equal(answer.json.error, expect.error, answer.text);
  else assert.equal(answer.json.status, expect.outcome, answer.text);
  assert.ok((answer.json.message ?? answer.json.reason).includes(expect.message), `${answer.text} lacks ${expect.message}`);
  if (expect.field) assert.equal(answer.json.field, expect.field);
  for (const secret of Object.values(secrets).flatMap((s) => s.split(','))) assert.ok(!answer.text.includes(secret), 'no secret in the answer');
}
