// `make dev`'s stand-ins: Re:amaze on 127.0.0.1:8788 and Voice360's SMS API
// on 127.0.0.1:8789. Re:amaze's checks each signature as Re:amaze would and
// prints each message as an agent would see it in the conversation.
import { startReamaze, startVoice360 } from './standins.mjs';

const env = process.env;
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const party = (p = {}) => [p.name, p.phone && `(${p.phone})`].filter(Boolean).join(' ') || '—';

function show({ channel, message: m }) {
  const customer = m.direction === 'outbound' ? m.to : m.from;
  const when = m.created_at ? m.created_at.replace('T', ' ').replace(/:00\+00:00$/, ' UTC') : 'now';
  console.log(`\n${bold(`Re:amaze · ${channel === 'voice' ? 'Voice' : 'SMS'} · ${party(customer)}`)}  ${dim(`${m.direction}, ${when}`)}`);
  console.log(dim(`  conversation ${m.thread_id ?? '(latest of this customer)'} · id ${m.id}`));
  for (const line of m.body.split('\n')) console.log(`  ${line}`);
  for (const url of m.attachments ?? []) console.log(`  📎 ${url}`);
}

const reamaze = await startReamaze({
  port: Number(env.REAMAZE_STANDIN_PORT ?? 8788),
  voiceSecret: env.REAMAZE_VOICE_SECRET,
  smsSecret: env.REAMAZE_SMS_SECRET,
  onMessage: show,
});
const voice360 = await startVoice360({
  port: Number(env.VOICE360_STANDIN_PORT ?? 8789),
  apiKey: env.VOICE360_API_KEY,
  accountId: env.VOICE360_ACCOUNT_ID,
  onSms: (sms) => {
    console.log(`\n${bold(`Voice360 · SMS sent to ${sms.to}`)} ${dim(`from ${sms.from}`)}`);
    for (const line of sms.message.split('\n')) console.log(`  ${line}`);
  },
});
console.log(`stand-ins: Re:amaze at ${reamaze.url}, Voice360 at ${voice360.url}`);
const stop = async () => {
  await Promise.all([reamaze.close(), voice360.close()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
