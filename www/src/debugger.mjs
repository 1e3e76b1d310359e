// The signature debugger: everything runs here, on the npm package's web
// build, whose .wasm is inlined by the build (esbuild's binary loader), so
// the page opens from a file and makes no request at all.

import wasm from '../../pkg/dist/reamaze_bridge_bg.wasm';
import { SIGNATURE_HEADERS, contract, init, replyToSms, sign, translate, verify } from '../../pkg/src/browser.mjs';

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
// The routes' paths and Bird's window, from the core once it is loaded.
const routeOf = (scheme) => contract().webhookPaths[scheme];
const birdWindow = () => contract().birdWindow;

// ---- encodings ---------------------------------------------------------

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
function fromHex(text) {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16)) : null;
}
function fromBase64(text) {
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(text)) return null;
  try {
    const binary = atob(text.length === 43 ? `${text}=` : text);
    return binary.length === 32 ? Uint8Array.from(binary, (c) => c.charCodeAt(0)) : null;
  } catch {
    return null;
  }
}
const sameBytes = (a, b) => !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
const expectsHex = (scheme) => scheme === 'voice360' || scheme === 'volubile';

/** A received header value read in whatever form it came: the MAC bytes and how they were written. */
function readReceived(value) {
  let text = value.trim();
  const prefixed = /^sha256=/i.test(text);
  if (prefixed) text = text.slice(7);
  const hex = fromHex(text);
  if (hex) return { bytes: hex, encoding: 'hex', prefixed, uppercase: /[A-F]/.test(text) && !/[a-f]/.test(text) };
  const base64 = fromBase64(text);
  if (base64) return { bytes: base64, encoding: 'base64', prefixed, uppercase: false };
  return null;
}

/** The MAC bytes a scheme's signature header value holds. */
function macOf(scheme, header) {
  if (scheme === 'voice360') return fromHex(header.slice('sha256='.length));
  return expectsHex(scheme) ? fromHex(header) : fromBase64(header);
}

/** HMAC-SHA256 of any message, through the Re:amaze scheme (base64 of the HMAC of the body). */
function hmac(secret, message) {
  return fromBase64(sign({ scheme: 'reamaze', secret, body: message }));
}

function signatureFor(state, { secret = state.secrets[0], body = state.body, timestamp = state.timestamp, url = state.url } = {}) {
  if (state.scheme === 'bird' && (!timestamp || !url)) return null;
  try {
    return sign({ scheme: state.scheme, secret, body, timestamp, url });
  } catch {
    return null;
  }
}

// ---- the usual mistakes -------------------------------------------------

function jsonVariants(body) {
  let value;
  try {
    value = JSON.parse(body);
  } catch {
    return [];
  }
  const sortKeys = (v) =>
    Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v;
  const escapeSlashes = (s) => s.replace(/\//g, '\\/');
  const escapeUnicode = (s) => s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const compact = JSON.stringify(value);
  return [
    ['re-serialized compactly (no spaces)', compact],
    ['re-serialized with 2-space indentation', JSON.stringify(value, null, 2)],
    ['re-serialized with 4-space indentation', JSON.stringify(value, null, 4)],
    ['re-serialized with its keys sorted', JSON.stringify(sortKeys(value))],
    ['re-serialized with escaped slashes (\\/), as PHP does', escapeSlashes(compact)],
    ['re-serialized with non-ASCII escaped (\\u00e9)', escapeUnicode(compact)],
    ['re-serialized as PHP json_encode does (escaped slashes and unicode)', escapeUnicode(escapeSlashes(compact))],
  ];
}

function bodyVariants(body) {
  const variants = [['a trailing newline added', `${body}\n`]];
  if (/\r?\n$/.test(body)) variants.push(['its final newline removed', body.replace(/\r?\n$/, '')]);
  variants.push(['CRLF line endings instead of LF', body.replace(/\r?\n/g, '\r\n')]);
  if (body.includes('\r\n')) variants.push(['LF line endings instead of CRLF', body.replace(/\r\n/g, '\n')]);
  if (body.startsWith('\ufeff')) variants.push(['without its byte-order mark (BOM)', body.slice(1)]);
  else variants.push(['a byte-order mark (BOM) in front', `\ufeff${body}`]);
  return variants.concat(jsonVariants(body).map(([what, text]) => [`JSON ${what}`, text]));
}

function urlVariants(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const out = [];
  const add = (what, next) => {
    if (next !== url) out.push([what, next]);
  };
  const other = new URL(u);
  other.protocol = u.protocol === 'https:' ? 'http:' : 'https:';
  add(`the scheme ${other.protocol.slice(0, -1)}`, other.href);
  const host = new URL(u);
  host.hostname = u.hostname.startsWith('www.') ? u.hostname.slice(4) : `www.${u.hostname}`;
  add(`the host ${host.hostname}`, host.href);
  const slash = new URL(u);
  slash.pathname = u.pathname.endsWith('/') ? u.pathname.slice(0, -1) : `${u.pathname}/`;
  add(u.pathname.endsWith('/') ? 'no trailing slash' : 'a trailing slash', slash.href);
  if (u.search) {
    const bare = new URL(u);
    bare.search = '';
    add('no query string', bare.href);
  }
  const port = new URL(u);
  if (u.port) {
    port.port = '';
    add('no port', port.href);
  }
  return out;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return toHex(new Uint8Array(digest));
}

/** Everything the page shows for the current inputs. */
async function analyse(state) {
  const { scheme, secrets, received } = state;
  const out = { verdict: null, causes: [], expected: null };
  if (!secrets.length) {
    out.verdict = { tone: '', text: 'Add the secret this route checks with.' };
    return out;
  }
  out.expected = signatureFor(state);
  if (!received.trim()) {
    out.verdict = { tone: 'bad', text: `No signature: the request needs a ${SIGNATURE_HEADERS[scheme]} header.`, detail: 'The bridge answers 401 missing_signature.' };
    return out;
  }
  const { maxAgeSeconds, maxFutureSeconds } = birdWindow();
  const result = verify({ ...state, signature: received, maxAgeSeconds, maxFutureSeconds });
  const rec = readReceived(received);
  const cause = (title, detail) => out.causes.push({ title, detail });
  if (result.ok) {
    out.verdict = { tone: 'ok', text: `Signature matches (secret #${result.secretIndex + 1}).`, detail: 'The bridge accepts this request.' };
    acceptedCauses(result, rec, cause);
    return out;
  }
  out.verdict = refusedVerdict(result);
  timestampCauses(state, result, cause);
  if (rec && encodingCauses(state, rec, cause)) return out;
  if (rec) await alteredInputCauses(state, rec, cause);
  if (!out.causes.length && result.code === 'signature_mismatch') {
    cause('No usual mistake explains it', "Most likely the secret differs: compare the secret in the provider's settings with the bridge's, or add the other secrets you have (one per line) to find which one signed it.");
  }
  if (!out.causes.length && result.code === 'malformed_signature') {
    cause('The header is not a signature of this scheme', result.message);
  }
  return out;
}

/** What is worth knowing about a signature the bridge accepts. */
function acceptedCauses(result, rec, cause) {
  if (result.secretIndex > 0) {
    cause(
      "Made with another secret than this route's",
      `It matches secret #${result.secretIndex + 1}, not the first one: the sender uses another channel's or another webhook's secret. Re:amaze's Voice and SMS channels each have their own secret; each Voice360 webhook has its own.`,
    );
  }
  if (rec?.uppercase) {
    cause('Uppercase hex', 'The hex is in uppercase. The bridge accepts it, but Voice360 sends lowercase, and string-comparing verifiers (like its Python sample) reject uppercase.');
  }
}

function refusedVerdict(result) {
  const text = {
    signature_mismatch: 'Signature does not match.',
    malformed_signature: 'The signature header is malformed.',
    missing_signature: 'A header is missing or empty.',
    malformed_timestamp: 'The timestamp is malformed.',
    repeated_header: 'The header holds several values: it was sent more than once.',
    timestamp_too_old: 'The signature is right, but the timestamp is too old.',
    timestamp_in_future: 'The signature is right, but the timestamp is in the future.',
  }[result.code];
  return { tone: 'bad', text: text ?? 'Signature does not match.', detail: `The bridge answers 401 ${result.code}: ${result.message}` };
}

/** Bird's timestamp in milliseconds, or outside the window. */
function timestampCauses({ scheme, timestamp, now }, result, cause) {
  const { maxAgeSeconds, maxFutureSeconds } = birdWindow();
  if (scheme === 'bird' && /^\d{13}$/.test(timestamp ?? '')) {
    cause('Timestamp in milliseconds', `${timestamp} has 13 digits: Bird's timestamp is Unix seconds (${timestamp.slice(0, 10)}).`);
  } else if (result.code === 'timestamp_too_old' || result.code === 'timestamp_in_future') {
    const age = now - Number(timestamp);
    cause('Timestamp outside the window', age > 0
      ? `It is ${age} s old; the bridge accepts up to ${maxAgeSeconds} s (BIRD_MAX_AGE_SECONDS). Check the sender's clock, or whether this is an old replay.`
      : `It is ${-age} s in the future; the bridge accepts up to ${maxFutureSeconds} s ahead. Check the sender's clock.`);
  }
}

/** The right MAC written the wrong way; true when that explains it. */
function encodingCauses(state, rec, cause) {
  const { scheme, secrets } = state;
  const header = SIGNATURE_HEADERS[scheme];
  const matchesAny = (bytes) => secrets.some((secret) => sameBytes(bytes, macOf(scheme, signatureFor(state, { secret }) ?? '')));
  if (!matchesAny(rec.bytes)) return false;
  if (expectsHex(scheme) && rec.encoding === 'base64') cause('Base64 where hex was expected', `The MAC is right but written in base64; ${header} takes hex.`);
  if (!expectsHex(scheme) && rec.encoding === 'hex') cause('Hex where base64 was expected', `The MAC is right but written in hex; ${header} takes base64.`);
  if (scheme === 'voice360' && !rec.prefixed) cause('Missing sha256= prefix', 'Voice360 writes sha256=<hex>; the prefix is missing.');
  if (scheme !== 'voice360' && rec.prefixed) cause('Extra sha256= prefix', `${header} is the bare ${expectsHex(scheme) ? 'hex' : 'base64'}, without Voice360's sha256= prefix.`);
  return true;
}

/** A MAC over other inputs: a re-serialized body, a secret with whitespace, Bird's hex digest or another URL. */
async function alteredInputCauses(state, rec, cause) {
  const { scheme, body, secrets, timestamp, url } = state;
  const signedWith = (changes) => secrets.some((secret) => sameBytes(rec.bytes, macOf(scheme, signatureFor(state, { secret, ...changes }) ?? '')));
  for (const [what, variant] of bodyVariants(body)) {
    if (variant !== body && signedWith({ body: variant })) {
      cause(`The body was signed with ${what}`, 'The sender signed other bytes than the ones here. Verify the raw body exactly as received, before any parsing or re-serialization.');
    }
  }
  secrets.forEach((secret, i) => {
    const variants = [[secret.trim(), 'has whitespace or a newline around it here, and not at the sender'], [`${secret}\n`, 'ends with a newline at the sender (a secret read from a file?)']];
    for (const [variant, what] of variants) {
      if (variant !== secret && sameBytes(rec.bytes, macOf(scheme, signatureFor(state, { secret: variant }) ?? ''))) {
        cause('Whitespace or a newline in the secret', `Secret #${i + 1} ${what}.`);
      }
    }
  });
  if (scheme !== 'bird' || !timestamp || !url) return;
  const hexDigest = await sha256Hex(body);
  if (secrets.some((secret) => sameBytes(rec.bytes, hmac(secret, `${timestamp}\n${url}\n${hexDigest}`)))) {
    cause("Bird's body hash taken as hex", 'The signature was made over the SHA-256 of the body written as 64 hex characters. Bird signs its 32 raw bytes.');
  }
  for (const [what, variant] of urlVariants(url)) {
    if (signedWith({ url: variant })) {
      cause(`Bird signed another URL: ${what}`, `Bird signed ${variant}. Set BIRD_WEBHOOK_URL to the public URL Bird calls, or fix the subscription's URL.`);
    }
  }
}

// ---- rendering ----------------------------------------------------------

const escapeHtml = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const mark = (label) => `<span class="mark">${label}</span>`;

/** The signed bytes, with invisible characters made visible. */
function visibleBytes(text) {
  let html = '';
  const chars = [...text];
  chars.forEach((c, i) => {
    if (c === '\r') html += mark('CR');
    else if (c === '\n') html += i === chars.length - 1 ? `${mark('LF')} ${mark('final newline')}` : `${mark('LF')}\n`;
    else if (c === '\t') html += mark('TAB');
    else if (c === '\ufeff') html += mark('BOM');
    else if (c === '\u00a0') html += mark('NBSP');
    else if (c < ' ' || c === '\u007f') html += mark(`0x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    else html += escapeHtml(c);
  });
  return html;
}

async function signedBytesHtml(state) {
  const size = encoder.encode(state.body).length;
  if (state.scheme !== 'bird') return `${visibleBytes(state.body) || '<em>(empty body)</em>'}\n\n<span class="hint">${size} bytes</span>`;
  const digest = await sha256Hex(state.body);
  return `${visibleBytes(state.timestamp || '?')}${mark('LF')}\n${visibleBytes(state.url || '?')}${mark('LF')}\n<span class="digest">[SHA-256 of the ${size}-byte body, as 32 raw bytes: ${digest}]</span>`;
}

function preview(state) {
  try {
    if (state.scheme === 'reamaze') {
      let channel;
      try {
        channel = JSON.parse(state.body)?.to?.phone;
      } catch {}
      const parts = replyToSms(state.body, { SMS_CHANNEL_NUMBER: channel ?? '' });
      return `Voice360 send-SMS requests (taking ${channel} as the channel's number):\n${JSON.stringify(parts, null, 2)}`;
    }
    const t = translate(state.scheme, state.body);
    if (t.ignored) return `${t.event}: acknowledged, nothing posted: ${t.ignored}`;
    return t.messages.map((m) => `POST ${m.endpoint}\n${JSON.stringify(m.message, null, 2)}`).join('\n\n');
  } catch (e) {
    return `The bridge would answer ${e.status ?? 400} ${e.code}: ${e.message}`;
  }
}

const shellQuote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
function ansiQuote(s) {
  const escaped = [...s]
    .map((c) => {
      if (c === '\\') return '\\\\';
      if (c === "'") return "\\'";
      if (c === '\n') return '\\n';
      if (c === '\r') return '\\r';
      if (c === '\t') return '\\t';
      if (c < ' ' || c === '\u007f') return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
      return c;
    })
    .join('');
  return `$'${escaped}'`;
}

function curlCommand(state) {
  if (!state.secrets.length) return 'Add a secret to sign the replay.';
  if (!state.url) return 'Add the request URL.';
  const timestamp = state.scheme === 'bird' ? String(state.now) : undefined;
  const signature = signatureFor(state, { timestamp });
  if (!signature) return 'Cannot sign with these inputs.';
  const lines = [`curl -sS -X POST ${shellQuote(state.url)}`, `-H ${shellQuote('Content-Type: application/json')}`, `-H ${shellQuote(`${SIGNATURE_HEADERS[state.scheme]}: ${signature}`)}`];
  if (timestamp) lines.push(`-H ${shellQuote(`messagebird-request-timestamp: ${timestamp}`)}`);
  lines.push(`--data-binary ${ansiQuote(state.body)}`);
  return `${lines.join(' \\\n  ')}${timestamp ? '\n# Bird: signed for now; run it within the next minutes.' : ''}`;
}

function readState() {
  const scheme = $('scheme').value;
  let body = $('body').value;
  if ($('crlf').checked) body = body.replace(/\r?\n/g, '\r\n');
  return {
    scheme,
    body,
    // Secrets keep their surrounding whitespace: it may be the very mistake.
    secrets: $('secret').value.split('\n').filter((s) => s.length > 0),
    received: $('signature').value,
    timestamp: $('timestamp').value.trim() || undefined,
    url: $('url').value.trim() || undefined,
    now: Math.floor(Date.now() / 1000),
  };
}

let generation = 0;
async function render() {
  const run = ++generation;
  const state = readState();
  const result = await analyse(state);
  if (run !== generation) return;
  const verdict = $('verdict');
  verdict.className = `verdict ${result.verdict.tone}`;
  verdict.innerHTML = `${escapeHtml(result.verdict.text)}${result.verdict.detail ? `<small>${escapeHtml(result.verdict.detail)}</small>` : ''}`;
  $('cause').innerHTML = result.causes.length
    ? `<ul>${result.causes.map((c) => `<li><strong>${escapeHtml(c.title)}.</strong> ${escapeHtml(c.detail)}</li>`).join('')}</ul>`
    : `<p>${result.verdict.tone === 'ok' ? 'Nothing wrong.' : 'Nothing to explain yet.'}</p>`;
  const mac = result.expected ? macOf(state.scheme, result.expected) : null;
  $('expected').textContent = result.expected ?? '—';
  $('expected-hex').textContent = mac ? toHex(mac) : '—';
  $('expected-base64').textContent = mac ? toBase64(mac) : '—';
  const rec = readReceived(state.received);
  $('received').textContent = state.received.trim()
    ? `${state.received.trim()}${rec ? `  (${rec.prefixed ? 'sha256= + ' : ''}${rec.encoding}${rec.uppercase ? ', uppercase' : ''})` : '  (not a 32-byte MAC in hex or base64)'}`
    : '—';
  $('bytes').innerHTML = await signedBytesHtml(state);
  $('preview').textContent = state.body ? preview(state) : '—';
  $('curl').textContent = state.body ? curlCommand(state) : '—';
}

// ---- samples --------------------------------------------------------------

const SAMPLES = {
  voice360: { event_name: 'INCOMING_EXTERNAL_CALL', account_id: '12345', timestamp: 1704067200, metadata: { caller_id_number: '+15551234567', caller_id_name: 'John Doe', dnis: '+15559876543', uniqueid: '1704067200.12345' } },
  bird: { service: 'channels', event: 'voice.inbound', payload: { id: '5d1a0c3e-1111-4a5b-9c3d-0e8f7a6b5c4d', direction: 'incoming', status: 'completed', from: '+31612345678', to: '+31201234567', duration: 95, endedAt: '2026-03-02T09:16:42Z' } },
  volubile: { id: '3c90c3cc-0d44-4b50-8888-8dd25736052a', phone: '+33612345678', type: 'INBOUND', duration: 360, status: 'COMPLETED', summary: 'Discussed project requirements and next steps.', classifierData: { Sentiment: 'Positive' }, endTime: '2024-07-30T14:41:00Z' },
  reamaze: { to: { name: 'Support', phone: '+16501234567' }, from: { name: 'Customer name', phone: '+15105559999' }, body: 'Thanks! Your order ships today.', attachments: [], created_at: '2019-08-06T23:21:15+0000', thread_id: 'sms-conversation-id-123' },
};

function defaultUrl(scheme) {
  const base = /^https?:$/.test(location.protocol) ? location.origin : 'https://your-bridge.example.com';
  return `${base}${routeOf(scheme)}`;
}

function generate() {
  const scheme = $('generate-provider').value;
  $('scheme').value = scheme;
  $('crlf').checked = false;
  $('body').value = JSON.stringify(SAMPLES[scheme]);
  if (!$('secret').value.trim()) {
    const random = crypto.getRandomValues(new Uint8Array(16));
    $('secret').value = `${scheme === 'voice360' ? 'whsec_' : ''}${toHex(random)}`;
  }
  // Keep the bridge the user pointed at; switch to this provider's route.
  let origin = null;
  try {
    origin = new URL($('url').value.trim()).origin;
  } catch {}
  $('url').value = origin && origin !== 'null' ? `${origin}${routeOf(scheme)}` : defaultUrl(scheme);
  const state = readState();
  $('timestamp').value = scheme === 'bird' ? String(state.now) : '';
  $('signature').value = signatureFor({ ...readState() }) ?? '';
  schemeChanged();
}

function schemeChanged() {
  const scheme = $('scheme').value;
  $('bird-fields').hidden = scheme !== 'bird';
  $('signature-hint').textContent = `The value of ${SIGNATURE_HEADERS[scheme]}.`;
  render();
}

async function main() {
  await init(wasm);
  $('url').value = defaultUrl($('scheme').value);
  $('scheme').addEventListener('change', schemeChanged);
  for (const id of ['body', 'secret', 'signature', 'timestamp', 'url', 'crlf']) $(id).addEventListener('input', render);
  $('generate').addEventListener('click', generate);
  await render();
  schemeChanged();
  document.documentElement.dataset.ready = 'true';
}

main();
