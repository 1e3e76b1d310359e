// The alternative a Node developer would hand-write with node:crypto and
// JSON for one Voice360 SMS_RECEIVED webhook, doing the same work as the
// package's verify + translate + sign: check the sha256=<hex> signature in
// constant time against each secret, parse, require the fields a message
// needs (naming a missing one), build the Re:amaze message (id, parties,
// thread, ISO time), serialize it and sign it for the SMS channel.
// Kept honest: no shortcut the package does not also take, except two checks
// JSON.parse cannot make without a parser of its own: the package also
// refuses duplicate keys and nesting deeper than MAX_JSON_DEPTH.
import { createHmac, timingSafeEqual } from 'node:crypto';

function verifyVoice360(body, header, secrets) {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return { ok: false, code: 'malformed_signature' };
  const hex = header.slice(7);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return { ok: false, code: 'malformed_signature' };
  const received = Buffer.from(hex, 'hex');
  for (let i = 0; i < secrets.length; i += 1) {
    if (timingSafeEqual(createHmac('sha256', secrets[i]).update(body).digest(), received)) return { ok: true, secretIndex: i };
  }
  return { ok: false, code: 'signature_mismatch' };
}

const text = (v) => (typeof v === 'string' ? v.trim() || undefined : typeof v === 'number' ? String(v) : undefined);
const digits = (s) => s.replace(/[^0-9+]/g, '');
// As the package: digits with separators, or a withheld caller's word.
const PHONE = /^\+?[0-9 ().-]*[0-9][0-9 ().-]*$|^(anonymous|restricted|private|unavailable|unknown)$/i;
const phone = (value, field) => {
  if (value !== undefined && !PHONE.test(value)) throw Object.assign(new Error(`${field} is not a phone number`), { code: 'invalid_field', field });
  return value;
};

function translateSmsReceived(body) {
  const event = JSON.parse(body);
  if (!event || typeof event !== 'object' || Array.isArray(event)) throw Object.assign(new Error('not an object'), { code: 'invalid_json' });
  const name = text(event.event_name);
  if (!name) throw Object.assign(new Error('event_name missing'), { code: 'missing_field', field: 'event_name' });
  const timestamp = Number(event.timestamp);
  if (!Number.isFinite(timestamp)) throw Object.assign(new Error('timestamp missing'), { code: 'missing_field', field: 'timestamp' });
  const meta = event.metadata ?? {};
  const customer = phone(text(meta.from_number), 'metadata.from_number');
  if (!customer) throw Object.assign(new Error('metadata.from_number missing'), { code: 'missing_field', field: 'metadata.from_number' });
  const channel = phone(text(meta.to_number), 'metadata.to_number');
  const messageId = text(meta.message_id);
  const message = {
    id: messageId ? `voice360:${name}:${messageId}` : `voice360:${name}:${customer}:${timestamp}`,
    direction: 'inbound',
    from: { phone: customer },
    to: channel ? { phone: channel } : { name: 'Voice360' },
    body: typeof meta.body === 'string' && meta.body.trim() ? meta.body : '(empty message)',
    thread_id: `voice360:sms:${channel ? `${digits(channel)}:` : ''}${digits(customer)}`,
    created_at: new Date(timestamp * 1000).toISOString().replace(/Z$/, '+00:00'),
  };
  return { channel: 'sms', endpoint: 'https://www.reamaze.io/incoming/sms', message };
}

/** The whole path: verify, translate, then the signed body to post. */
export function jsPipeline(body, header, secrets, channelSecret) {
  const checked = verifyVoice360(body, header, secrets);
  if (!checked.ok) return checked;
  const { endpoint, message } = translateSmsReceived(body);
  const json = JSON.stringify(message);
  return { endpoint, body: json, signature: createHmac('sha256', channelSecret).update(json).digest('base64') };
}

export { verifyVoice360 };
