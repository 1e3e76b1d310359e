// The operator console, served by the Worker at GET /admin: a static page
// with no secret in it. The operator types the ADMIN_TOKEN; it is kept in
// this tab's sessionStorage only, and sent only to this bridge's admin
// routes. Everything shown is built as text nodes, never as HTML: a refused
// webhook's body and headers are whatever a stranger sent.

const TOKEN_KEY = 'reamaze-bridge-admin-token';
const $ = (id) => document.getElementById(id);

const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

/** An admin route's answer: status and JSON. */
async function call(path, { method = 'GET', body } = {}) {
  const res = await fetch(path, { method, body, headers: { Authorization: `Bearer ${token()}` } });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json };
}

/** Why an answer is not a listing, in words an operator acts on. */
function problem(answer) {
  if (answer.status === 401) return 'The token is not this bridge’s ADMIN_TOKEN.';
  if (answer.status === 404) return answer.json?.message ?? 'The admin routes are off: set the ADMIN_TOKEN secret.';
  return answer.json?.message ?? `The bridge answered ${answer.status}.`;
}

/** A time in Unix seconds as ISO 8601 in UTC, to the second: the one style the page uses. */
const iso = (seconds) => (Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '—');

/** How long ago a time in Unix seconds was, in the largest two units. */
function age(seconds) {
  let left = Math.max(0, Math.floor(Date.now() / 1000 - seconds));
  const parts = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['min', 60], ['s', 1]]) {
    if (left >= size || (unit === 's' && !parts.length)) parts.push(`${Math.floor(left / size)} ${unit}`);
    left %= size;
  }
  return parts.slice(0, 2).join(' ');
}

/** A time, and how long ago it was. */
function when(seconds) {
  const cell = element('div');
  cell.append(element('span', iso(seconds), 'mono'));
  if (Number.isFinite(seconds)) cell.append(element('div', `${age(seconds)} ago`, 'hint'));
  return cell;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** A table of `rows`, each a list of cells (text, or a node). */
function table(headings, rows) {
  const tableNode = element('table');
  const head = tableNode.createTHead().insertRow();
  for (const heading of headings) head.append(element('th', heading));
  const body = tableNode.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    for (const [i, cell] of cells.entries()) {
      const td = row.insertCell();
      if (headings[i]) td.dataset.heading = headings[i];
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell ?? '—';
    }
  }
  return tableNode;
}

function show(id, content) {
  const target = $(id);
  target.className = '';
  target.replaceChildren(content);
}

function none(id, what) {
  const target = $(id);
  target.className = 'empty';
  target.textContent = what;
}

function replayButton(label, ids) {
  const button = element('button', label, 'secondary');
  button.type = 'button';
  button.addEventListener('click', () => replay(ids));
  return button;
}

function renderDeadLetters(answer) {
  $('replay-all').hidden = true;
  if (answer.status !== 200) return none('dead-letters', problem(answer));
  const letters = answer.json.dead_letters;
  if (!letters.length) return none('dead-letters', 'No dead letters.');
  $('replay-all').hidden = false;
  const rows = letters.map((dead) => [
    when(dead.dead_at),
    element('span', dead.queued.message.id, 'mono'),
    `${dead.queued.provider} ${dead.queued.event}`,
    dead.attempts,
    dead.upstream_status,
    dead.last_error,
    replayButton('Replay', [dead.queued.message.id]),
  ]);
  show('dead-letters', table(['Died', 'Message', 'Event', 'Attempts', 'Re:amaze', 'Last error', ''], rows));
}

function renderHeld(answer) {
  if (answer.status !== 200) return none('held', problem(answer));
  if (!answer.json.held.length) return none('held', 'No transcription is held.');
  const rows = answer.json.held.map((h) => [when(h.at), h.provider, element('span', h.call_id, 'mono'), `${h.bytes} bytes`]);
  show('held', table(['Transcribed', 'Provider', 'Call', 'Size'], rows));
}

/** Bytes as base64url, for a URL's fragment. */
function base64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The body exactly as received: its kept bytes where it is not UTF-8, else its text's. */
function bodyBytes(record) {
  if (record.body_base64) return Uint8Array.from(atob(record.body_base64), (c) => c.charCodeAt(0));
  return new TextEncoder().encode(record.body);
}

/** The debugger, at this bridge's GET /, with what was received filled in, the body byte for byte. */
function debuggerLink(record) {
  const fields = { scheme: record.scheme ?? '', body64: base64url(bodyBytes(record)), signature: record.signature ?? '', url: record.url };
  if (record.timestamp) fields.timestamp = record.timestamp;
  const link = element('a', 'Open in the debugger');
  link.href = `/#${new URLSearchParams(fields)}`;
  link.target = '_blank';
  link.rel = 'noopener';
  return link;
}

function causesOf(record) {
  const cell = element('div');
  cell.append(element('div', `${record.status} ${record.code}: ${record.message}`));
  const list = element('ul', undefined, 'causes');
  for (const cause of record.causes ?? []) {
    const item = element('li');
    item.append(element('strong', `${cause.title}. `), document.createTextNode(cause.detail));
    list.append(item);
  }
  if (list.childElementCount) cell.append(list);
  return cell;
}

/** The route, and the event and call the body tells of. */
function whatOf(record) {
  const cell = element('div');
  cell.append(element('div', record.route, 'mono'));
  if (record.event) cell.append(element('div', record.event));
  if (record.call) cell.append(element('div', `call ${record.call}`, 'mono'));
  return cell;
}

function renderRejected(answer) {
  if (answer.status !== 200) return none('rejected', problem(answer));
  const records = answer.json.rejected;
  if (!records.length) return none('rejected', 'No refused webhook is kept.');
  const rows = records.map((r) => [when(r.at), whatOf(r), causesOf(r), r.scheme ? debuggerLink(r) : '']);
  show('rejected', table(['When', 'What', 'Why it was refused, and the likely cause', ''], rows));
}

function status(text, tone = '') {
  const node = $('status');
  node.className = `status ${tone}`;
  node.textContent = text;
}

async function load() {
  if (!token()) return status('Type the bridge’s ADMIN_TOKEN to load.');
  status('Loading…');
  const [dead, held, rejected] = await Promise.all([call('/admin/dead-letters'), call('/admin/held'), call('/admin/rejected')]);
  renderDeadLetters(dead);
  renderHeld(held);
  renderRejected(rejected);
  const refused = [dead, held, rejected].find((a) => a.status === 401 || a.status === 404);
  if (refused) status(problem(refused), 'bad');
  else status(`Loaded at ${iso(Math.floor(Date.now() / 1000))}.`, 'ok');
}

async function replay(ids) {
  const what = ids ? `the message ${ids[0]}` : 'every dead letter';
  if (!confirm(`Replay ${what}? It goes back on the delivery queue and is posted to Re:amaze again.`)) return;
  const answer = await call('/admin/dead-letters/replay', { method: 'POST', body: ids ? JSON.stringify({ ids }) : '' });
  if (answer.status !== 200) {
    await load();
    return status(problem(answer), 'bad');
  }
  await load();
  status(`Replayed ${answer.json.replayed}: back on the delivery queue, waiting for the delivery…`, 'ok');
  await followDeliveries(answer.json.ids);
}

/** How long the console follows replayed messages before it says they are still queued. */
const FOLLOW_MS = 60_000;
/** The most ids one question to /admin/deliveries holds. */
const ASKED_AT_ONCE = 100;

/** How each of `ids` stands, asked a hundred at a time: the deliveries, or the answer that refused. */
async function standing(ids) {
  const deliveries = [];
  for (let i = 0; i < ids.length; i += ASKED_AT_ONCE) {
    const answer = await call('/admin/deliveries', { method: 'POST', body: JSON.stringify({ ids: ids.slice(i, i + ASKED_AT_ONCE) }) });
    if (answer.status !== 200) return { refused: answer };
    deliveries.push(...answer.json.deliveries);
  }
  return { deliveries };
}

/** Asks how the replayed messages stand until each is delivered or dead again, then says so. */
async function followDeliveries(ids) {
  if (!ids.length) return;
  const until = Date.now() + FOLLOW_MS;
  let deliveries = [];
  for (;;) {
    const answer = await standing(ids);
    if (answer.refused) return status(problem(answer.refused), 'bad');
    deliveries = answer.deliveries;
    const settled = deliveries.every((d) => d.state === 'delivered' || d.state === 'dead');
    if (settled || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const count = (state) => deliveries.filter((d) => d.state === state).length;
  const dead = deliveries.filter((d) => d.state === 'dead');
  const parts = [`${count('delivered')} of ${ids.length} delivered to Re:amaze`];
  if (dead.length) parts.push(`${dead.length} failed again (${dead[0].last_error})`);
  const waiting = count('queued') + count('under_way');
  if (waiting) parts.push(`${waiting} still on the queue after ${FOLLOW_MS / 1000} s: Load again later`);
  if (dead.length) await load();
  status(`Replayed: ${parts.join('; ')}.`, dead.length || waiting ? 'bad' : 'ok');
}

/** The token box says whether a token is kept, without showing it. */
function tokenKept() {
  $('token').placeholder = token() ? 'kept in this tab; type to replace' : '';
}

function main() {
  tokenKept();
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    // An empty box keeps the token given before: Load is also the refresh.
    const typed = $('token').value.trim();
    if (typed) sessionStorage.setItem(TOKEN_KEY, typed);
    $('token').value = '';
    tokenKept();
    load();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    tokenKept();
    for (const id of ['dead-letters', 'held', 'rejected']) none(id, 'Not loaded.');
    $('replay-all').hidden = true;
    status('The token is forgotten.');
  });
  $('replay-all').addEventListener('click', () => replay(null));
  load().finally(() => {
    document.documentElement.dataset.ready = 'true';
  });
}

main();
