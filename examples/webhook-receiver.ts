/**
 * The webhook side of paysvc's event delivery (EVENT_WEBHOOK_URL): verify the signature over the raw body
 * (HMAC-SHA256 over "<t>.<body>", 300 s tolerance), then dedupe and apply exactly as the queue consumer does.
 * Answer 2xx only after the event is stored; anything else is retried for about 24 hours.
 * Run it: `EVENT_WEBHOOK_SECRET=… npx tsx examples/webhook-receiver.ts 8090`.
 */
import express from 'express';
import type { Server } from 'node:http';
import { PaymentEvent } from '../src/gen/payment/v1/events';
import { SIGNATURE_HEADER, verifyWebhook, WebhookSignatureError } from '../src/events/webhook-signature';
import { InMemoryOrderSide } from './order-consumer';

export function webhookApp(secret: string, store = new InMemoryOrderSide()) {
  const app = express();
  app.post('/paysvc/events', express.text({ type: 'application/json', limit: '64kb' }), (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    try {
      verifyWebhook(secret, req.get(SIGNATURE_HEADER), body);
    } catch (err) {
      if (err instanceof WebhookSignatureError) return void res.status(400).json({ error: err.message });
      throw err;
    }
    const verdict = store.apply(PaymentEvent.fromJSON(JSON.parse(body)));
    res.json({ verdict });
  });
  return { app, store };
}

if (require.main === module) {
  const secret = process.env.EVENT_WEBHOOK_SECRET;
  if (!secret) throw new Error('set EVENT_WEBHOOK_SECRET to the value paysvc signs with');
  const port = Number(process.argv[2] ?? 8090);
  const server: Server = webhookApp(secret).app.listen(port, () => console.log(`webhook receiver on :${port}/paysvc/events`));
  process.once('SIGINT', () => server.close());
}
