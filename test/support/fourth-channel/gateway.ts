import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LanternNotify, type LanternRefund, type LanternTrade, SIGNATURE_HEADER, sign, signatureValid } from './protocol';

interface Trade extends LanternTrade {
  notifyUrl: string;
}

/** A tiny Lantern Pay gateway for one merchant: trades and refunds in memory, signed answers, signed notifies. */
export interface LanternGateway {
  url: string;
  trade(outTradeNo: string): LanternTrade | undefined;
  /** Requests seen, by `METHOD /first-segment` (e.g. `GET /trades`). */
  seen(what: string): number;
  /** The buyer pays: the trade is PAID and a signed notify goes to its notify_url; resolves with our answer. */
  pay(outTradeNo: string, opts?: { notify?: boolean }): Promise<{ status: number; body: string } | undefined>;
  /** The next request is taken and never answered (until close). */
  hangNext(): void;
  close(): Promise<void>;
}

export async function startLanternGateway(merchant: string, key: string): Promise<LanternGateway> {
  const trades = new Map<string, Trade>();
  const refunds = new Map<string, LanternRefund>();
  const seen = new Map<string, number>();
  let hang = false;

  const answer = (res: ServerResponse, status: number, payload: object) => {
    const body = JSON.stringify(payload);
    res.writeHead(status, { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(key, 'answer', body) }).end(body);
  };
  const view = ({ notifyUrl: _n, ...t }: Trade): LanternTrade => t;

  const route = (req: IncomingMessage, path: string, body: Record<string, string>, res: ServerResponse) => {
    const [, kind, id, action] = path.split('/');
    if (req.method === 'POST' && kind === 'trades' && !id) {
      const existing = trades.get(body.out_trade_no);
      if (existing && existing.amount !== body.amount) return answer(res, 409, { error: 'OUT_TRADE_NO_USED' });
      const trade: Trade = existing ?? {
        merchant: body.merchant,
        out_trade_no: body.out_trade_no,
        status: 'WAITING',
        amount: body.amount,
        currency: body.currency,
        notifyUrl: body.notify_url,
      };
      trades.set(trade.out_trade_no, trade);
      return answer(res, 200, { out_trade_no: trade.out_trade_no, pay_url: `https://lantern.example/pay/${trade.out_trade_no}` });
    }
    const trade = kind === 'trades' ? trades.get(id) : undefined;
    if (kind === 'trades' && !trade) return answer(res, 404, { error: 'NO_TRADE' });
    if (req.method === 'GET' && trade) return answer(res, 200, view(trade));
    if (req.method === 'POST' && trade && action === 'close') {
      if (trade.status === 'PAID') return answer(res, 409, { error: 'PAID' });
      trade.status = 'CLOSED';
      return answer(res, 200, view(trade));
    }
    if (req.method === 'POST' && kind === 'refunds') {
      const paid = trades.get(body.out_trade_no);
      if (paid?.status !== 'PAID') return answer(res, 400, { error: 'NOT_PAID' });
      const refund: LanternRefund = refunds.get(body.out_refund_no) ?? {
        merchant: paid.merchant,
        out_trade_no: paid.out_trade_no,
        out_refund_no: body.out_refund_no,
        amount: body.amount,
        status: 'DONE',
      };
      refunds.set(refund.out_refund_no, refund);
      return answer(res, 200, refund);
    }
    if (req.method === 'GET' && kind === 'refunds') {
      const refund = refunds.get(id);
      return refund ? answer(res, 200, refund) : answer(res, 404, { error: 'NO_REFUND' });
    }
    return answer(res, 404, { error: 'NO_ROUTE' });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const raw = Buffer.concat(chunks);
      const what = `${req.method} /${path.split('/')[1]}`;
      seen.set(what, (seen.get(what) ?? 0) + 1);
      if (hang) {
        hang = false;
        return; // never answered
      }
      if (!signatureValid(key, `${req.method} ${path}`, raw, req.headers[SIGNATURE_HEADER] as string | undefined)) {
        return answer(res, 401, { error: 'BAD_SIGNATURE' });
      }
      route(req, path, raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, string>) : {}, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    trade: (no) => {
      const t = trades.get(no);
      return t && view(t);
    },
    seen: (what) => seen.get(what) ?? 0,
    async pay(no, { notify = true } = {}) {
      const trade = trades.get(no);
      if (!trade || trade.status !== 'WAITING') throw new Error(`trade ${no} cannot be paid`);
      trade.status = 'PAID';
      if (!notify) return undefined;
      const n: LanternNotify = {
        notify_id: randomUUID(),
        event: 'PAID',
        merchant,
        out_trade_no: no,
        amount: trade.amount,
        currency: trade.currency,
        paid_at: new Date().toISOString(),
      };
      const body = JSON.stringify(n);
      const res = await fetch(trade.notifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(key, 'notify', body) },
        body,
      });
      return { status: res.status, body: await res.text() };
    },
    hangNext: () => {
      hang = true;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
