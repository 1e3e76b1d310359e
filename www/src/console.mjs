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
    for (const cell of cells) {
      const td = row.insertCell();
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
    element('span', dead.queued.message.id, 'mono'),
    `${dead.queued.provider} ${dead.queued.event}`,
    dead.attempts,
    dead.upstream_status,
    dead.last_error,
    replayButton('Replay', [dead.queued.message.id]),
  ]);
  show('dead-letters', table(['Message', 'Event', 'Attempts', 'Re:amaze', 'Last error', ''], rows));
}

function renderHeld(answer) {
  if (answer.status !== 200) return none('held', problem(answer));
  if (!answer.json.held.length) return none('held', 'No transcription is held.');
  const rows = answer.json.held.map((h) => [h.provider, element('span', h.call_id, 'mono'), `${h.bytes} bytes`]);
  show('held', table(['Provider', 'Call', 'Size'], rows));
}

/** The debugger, at this bridge's GET /, with what was received filled in. */
function debuggerLink(record) {
  const fields = { scheme: record.scheme ?? '', body: record.body, signature: record.signature ?? '', url: record.url };
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

function renderRejected(answer) {
  if (answer.status !== 200) return none('rejected', problem(answer));
  const records = answer.json.rejected;
  if (!records.length) return none('rejected', 'No refused webhook is kept.');
  const rows = records.map((r) => [r.time, element('span', r.route, 'mono'), causesOf(r), r.scheme ? debuggerLink(r) : '']);
  show('rejected', table(['When', 'Route', 'What was refused, and the likely cause', ''], rows));
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
  else status(`Loaded at ${new Date().toLocaleTimeString()}.`, 'ok');
}

async function replay(ids) {
  const answer = await call('/admin/dead-letters/replay', { method: 'POST', body: ids ? JSON.stringify({ ids }) : '' });
  if (answer.status !== 200) status(problem(answer), 'bad');
  await load();
  if (answer.status === 200) status(`Replayed ${answer.json.replayed}: back on the delivery queue.`, 'ok');
}

function main() {
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    load();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
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
