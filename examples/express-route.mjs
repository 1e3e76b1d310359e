// An Express app that uses the package's low-level API in its own route:
// verify Voice360's signature over the raw body, then translate the event,
// then post the messages to Re:amaze yourself, signed with the channel's secret.
//
//   VOICE360_WEBHOOK_SECRETS=… REAMAZE_VOICE_SECRET=… REAMAZE_SMS_SECRET=… node examples/express-route.mjs
import express from 'express';
import { pathToFileURL } from 'node:url';
import { SIGNATURE_HEADERS, sign, translate, verify } from 'reamaze-bridge';

export function createApp(settings, { fetch: fetchImpl = globalThis.fetch } = {}) {
  const app = express();
  const secrets = String(settings.VOICE360_WEBHOOK_SECRETS ?? '').split(',').filter(Boolean);
  const channelSecret = { voice: settings.REAMAZE_VOICE_SECRET, sms: settings.REAMAZE_SMS_SECRET };

  // express.raw keeps the exact bytes Voice360 signed (a Buffer, which is a Uint8Array).
  app.post('/voice360', express.raw({ type: () => true }), async (req, res) => {
    const check = verify({ scheme: 'voice360', secrets, body: req.body, signature: req.get(SIGNATURE_HEADERS.voice360) });
    if (!check.ok) return res.status(401).json({ error: check.code, message: check.message });

    let translation;
    try {
      translation = translate('voice360', req.body, settings);
    } catch (e) {
      return res.status(400).json({ error: e.code, field: e.field, message: e.message });
    }
    for (const { channel, endpoint, message } of translation.messages ?? []) {
      const body = JSON.stringify(message);
      const posted = await fetchImpl(endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADERS.reamaze]: sign({ scheme: 'reamaze', secret: channelSecret[channel], body }) },
        body,
      });
      if (!posted.ok) return res.status(posted.status >= 500 ? 503 : 502).json({ error: 'reamaze', status: posted.status });
    }
    res.json({ event: translation.event, posted: translation.messages?.length ?? 0, ignored: translation.ignored });
  });
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env.PORT ?? 8080);
  createApp(process.env).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
}
