// The signature debugger: everything runs here, on the npm package's web
// build, whose .wasm is inlined by the build (esbuild's binary loader), so
// the page opens from a file and makes no request at all.

import wasm from '../../pkg/dist/reamaze_bridge_bg.wasm';
import { SIGNATURE_HEADERS, contract, diagnose, init, replyToSms, sign, translate } from '../../pkg/src/browser.mjs';

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
// The schemes, the providers and the routes' paths, from the core once it
// is loaded: the page keeps no list of its own.
const routeOf = (scheme) => contract().webhookPaths[scheme];
const schemeOf = (name) => contract().schemes.find((s) => s.name === name);
const stamped = (name) => Boolean(schemeOf(name)?.timestampHeader);

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

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return toHex(new Uint8Array(digest));
}

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
function macOf(name, header) {
  const { encoding, prefix } = schemeOf(name);
  const text = prefix ? header.slice(prefix.length) : header;
  return encoding === 'hex' ? fromHex(text) : fromBase64(text);
}

function signatureFor(state, { secret = state.secrets[0], body = state.bytes, timestamp = state.timestamp, url = state.url } = {}) {
  if (stamped(state.scheme) && (!timestamp || !url)) return null;
  try {
    return sign({ scheme: state.scheme, secret, body, timestamp, url });
  } catch {
    return null;
  }
}

// ---- the verdict ------------------------------------------------------------
// The likely causes come from the core's mistake-finder (`diagnose`), the one
// the Worker's record of refused webhooks and the CLI's `verify` use too.

/** Everything the page shows for the current inputs. */
function analyse(state) {
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
  const { maxAgeSeconds, maxFutureSeconds } = schemeOf(scheme).window ?? {};
  const result = diagnose({ ...state, body: state.bytes, signature: received, maxAgeSeconds, maxFutureSeconds });
  out.causes = result.causes;
  out.verdict = result.ok
    ? { tone: 'ok', text: `Signature matches (secret #${result.secretIndex + 1}).`, detail: 'The bridge accepts this request.' }
    : refusedVerdict(result);
  return out;
}

/** A refusal as the core words it: its headline, then the code and message the bridge answers. */
function refusedVerdict(result) {
  return { tone: 'bad', text: result.headline, detail: `The bridge answers 401 ${result.code}: ${result.message}` };
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
  const size = state.bytes.length;
  if (!stamped(state.scheme)) return `${visibleBytes(state.body) || '<em>(empty body)</em>'}\n\n<span class="hint">${size} bytes</span>`;
  const digest = await sha256Hex(state.bytes);
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
      return `Send-SMS requests (taking ${channel} as the channel's number):\n${JSON.stringify(parts, null, 2)}`;
    }
    const t = translate(state.scheme, state.bytes);
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

/** The body for the shell, byte for byte: as text where it is UTF-8, else with every byte outside ASCII escaped. */
function ansiQuoteBody(state) {
  const text = encoder.encode(state.body);
  const same = text.length === state.bytes.length && text.every((b, i) => b === state.bytes[i]);
  if (same) return ansiQuote(state.body);
  const escaped = Array.from(state.bytes, (b) => (b < 0x80 ? ansiQuote(String.fromCharCode(b)).slice(2, -1) : `\\x${b.toString(16)}`));
  return `$'${escaped.join('')}'`;
}

function curlCommand(state) {
  if (!state.secrets.length) return 'Add a secret to sign the replay.';
  if (!state.url) return 'Add the request URL.';
  const { title, timestampHeader } = schemeOf(state.scheme);
  const timestamp = timestampHeader ? String(state.now) : undefined;
  const signature = signatureFor(state, { timestamp });
  if (!signature) return 'Cannot sign with these inputs.';
  const lines = [`curl -sS -X POST ${shellQuote(state.url)}`, `-H ${shellQuote('Content-Type: application/json')}`, `-H ${shellQuote(`${SIGNATURE_HEADERS[state.scheme]}: ${signature}`)}`];
  if (timestamp) lines.push(`-H ${shellQuote(`${timestampHeader}: ${timestamp}`)}`);
  lines.push(`--data-binary ${ansiQuoteBody(state)}`);
  return `${lines.join(' \\\n  ')}${timestamp ? `\n# ${title}: signed for now; run it within the next minutes.` : ''}`;
}

// The body exactly as the console handed it over (CR, NUL and bytes that are
// not UTF-8 included), until the text box is edited: a text box cannot hold
// every byte (it turns CRLF into LF).
let exactBody = null;
const decoder = new TextDecoder();

function readState() {
  const scheme = $('scheme').value;
  let body = $('body').value;
  if ($('crlf').checked) body = body.replace(/\r?\n/g, '\r\n');
  if (exactBody) body = decoder.decode(exactBody);
  return {
    scheme,
    body,
    // What is signed and checked: the exact bytes handed over, else the text's.
    bytes: exactBody ?? encoder.encode(body),
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
  const result = analyse(state);
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

// Each provider's samples come from the core; a staff reply is Re:amaze's.
const STAFF_REPLY = { to: { name: 'Support', phone: '+16501234567' }, from: { name: 'Customer name', phone: '+15105559999' }, body: 'Thanks! Your order ships today.', attachments: [], created_at: '2019-08-06T23:21:15+0000', thread_id: 'sms-conversation-id-123' };

/** Every sample by key, with the scheme that signs it. */
function samples() {
  const all = contract().providers.flatMap((p) => p.samples.map((s) => ({ ...s, scheme: p.scheme })));
  return [...all, { key: 'reamaze', label: 'Re:amaze staff reply', json: JSON.stringify(STAFF_REPLY), scheme: 'reamaze' }];
}

/** The two lists, from the core's schemes and samples. */
function fillLists() {
  const option = (value, label) => Object.assign(document.createElement('option'), { value, textContent: label });
  const providerSchemes = contract().schemes.filter((s) => s.name !== 'reamaze');
  const reamaze = contract().schemes.filter((s) => s.name === 'reamaze');
  $('scheme').replaceChildren(...[...providerSchemes, ...reamaze].map((s) => option(s.name, `${s.title} (${s.header})`)));
  $('generate-provider').replaceChildren(...samples().map((s) => option(s.key, s.label)));
}

function defaultUrl(scheme) {
  const base = /^https?:$/.test(location.protocol) ? location.origin : 'https://your-bridge.example.com';
  return `${base}${routeOf(scheme)}`;
}

function generate() {
  const sample = samples().find((s) => s.key === $('generate-provider').value);
  const { scheme } = sample;
  $('scheme').value = scheme;
  $('crlf').checked = false;
  letGoOfExactBody();
  $('body').value = sample.json;
  if (!$('secret').value.trim()) $('secret').value = toHex(crypto.getRandomValues(new Uint8Array(16)));
  // Keep the bridge the user pointed at; switch to this provider's route.
  let origin = null;
  try {
    origin = new URL($('url').value.trim()).origin;
  } catch {}
  $('url').value = origin && origin !== 'null' ? `${origin}${routeOf(scheme)}` : defaultUrl(scheme);
  const state = readState();
  $('timestamp').value = stamped(scheme) ? String(state.now) : '';
  $('signature').value = signatureFor({ ...readState() }) ?? '';
  schemeChanged();
}

function schemeChanged() {
  const { header, timestampHeader } = schemeOf($('scheme').value);
  $('stamp-fields').hidden = !timestampHeader;
  $('timestamp-hint').textContent = timestampHeader ?? '';
  $('signature-hint').textContent = `The value of ${header}.`;
  render();
}

/**
 * A request handed over in the URL's fragment (the operator console's "Open
 * in the debugger"): scheme, body, signature, timestamp and URL, never a
 * secret. The fragment never leaves the browser.
 */
function fillFromFragment() {
  const given = new URLSearchParams(location.hash.slice(1));
  if (!given.has('body') && !given.has('body64')) return false;
  if (schemeOf(given.get('scheme'))) $('scheme').value = given.get('scheme');
  for (const id of ['body', 'signature', 'timestamp', 'url']) $(id).value = given.get(id) ?? '';
  if (given.has('body64')) {
    // `body64`: the body's exact bytes, in base64url.
    const base64 = given.get('body64').replace(/-/g, '+').replace(/_/g, '/');
    exactBody = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    $('body').value = decoder.decode(exactBody);
    $('exact').hidden = false;
    $('exact').textContent = `The exact ${exactBody.length} bytes received are checked, line endings and all; editing the body replaces them with what the box holds.`;
  }
  return true;
}

/** Once the body is edited, the box's text is the body. */
function letGoOfExactBody() {
  exactBody = null;
  $('exact').hidden = true;
}

async function main() {
  await init(wasm);
  fillLists();
  $('url').value = defaultUrl($('scheme').value);
  fillFromFragment();
  $('scheme').addEventListener('change', schemeChanged);
  for (const id of ['body', 'secret', 'signature', 'timestamp', 'url', 'crlf']) $(id).addEventListener('input', render);
  for (const id of ['body', 'crlf']) $(id).addEventListener('input', letGoOfExactBody, { capture: true });
  $('generate').addEventListener('click', generate);
  await render();
  schemeChanged();
  document.documentElement.dataset.ready = 'true';
}

main();
