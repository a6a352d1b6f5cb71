import { saveChannelAccount } from '../src/app/channel-accounts';
import { registerTenant } from '../src/app/tenants';
import { generateWechatSandboxKeys } from '../sandboxes/wechat';
import { newAttemptNo, newPayNo } from '../src/domain/ids';
import { closeDb, createDb, type Db } from '../src/infra/db';
import { SecretBox } from '../src/infra/secret-box';
import type { NotifyFixture } from './notify-bodies';

const TENANT = 'bench-wx';
const PAY_WAY = 'WECHAT_NATIVE';
const AMOUNT_FEN = 1999;
const BATCH = 2000;
/** Never called on the notify path; the account just needs well-formed URLs. */
const UNUSED_URL = 'http://127.0.0.1:9/';

export interface NotifySetup {
  fixture: NotifyFixture;
  /** notify_record rows of the bench tenant by result, for checking which path a scenario took. */
  resultCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * Run by the orchestrator before any service starts: a WeChat Pay account for tenant `bench-wx` (sealed with
 * SecretBox.development(), which the service opens in NODE_ENV=development, as the tests do) and
 * `freshOrders + 1` PAYING WECHAT_NATIVE orders with one OPEN attempt each, as Prepay leaves them, written
 * directly in the scratch database.
 */
export async function prepareNotifyFixture(databaseUrl: string, freshOrders: number): Promise<NotifySetup> {
  const db = createDb(databaseUrl, 2);
  try {
    await registerTenant(db, { id: TENANT, name: 'Bench (WeChat Pay notifies)' });
    const keys = generateWechatSandboxKeys();
    const account = { mchId: '1900000001', appId: 'wxd678efh567hg6787' };
    await saveChannelAccount(db, SecretBox.development(), TENANT, {
      channel: 'wechat',
      ...account,
      merchantPrivateKey: keys.merchantPrivateKey,
      merchantSerial: keys.merchantSerial,
      platformPublicKey: keys.platformPublicKey,
      platformPublicKeyId: keys.platformPublicKeyId,
      apiV3Key: keys.apiV3Key,
      baseUrl: UNUSED_URL,
      notifyBaseUrl: UNUSED_URL,
    });
    const [duplicate, ...fresh] = await insertPayingOrders(db, freshOrders + 1);
    const fixture: NotifyFixture = {
      tenantId: TENANT,
      ...account,
      amountFen: AMOUNT_FEN,
      platformPrivateKey: keys.platformPrivateKey,
      platformPublicKeyId: keys.platformPublicKeyId,
      apiV3Key: keys.apiV3Key,
      duplicate,
      fresh,
    };
    return {
      fixture,
      resultCounts: async () => {
        const rows = await db.notifyRecord.groupBy({ by: ['result'], where: { tenantId: TENANT }, _count: { _all: true } });
        return Object.fromEntries(rows.map((r) => [r.result, r._count._all]));
      },
      close: () => closeDb(db),
    };
  } catch (err) {
    await closeDb(db);
    throw err;
  }
}

/** Returns the attempt numbers (the out_trade_no WeChat knows them by). */
async function insertPayingOrders(db: Db, n: number): Promise<string[]> {
  const now = new Date();
  const expireAt = new Date(now.getTime() + 6 * 3600_000);
  const attemptNos: string[] = [];
  const fixtureTag = now.getTime().toString(36); // each round of a BENCH_ROUNDS run makes its own orders
  for (let done = 0; done < n; done += BATCH) {
    const size = Math.min(BATCH, n - done);
    const orders = Array.from({ length: size }, (_, i) => ({
      payNo: newPayNo(now),
      tenantId: TENANT,
      outOrderNo: `bench-notify-${fixtureTag}-${done + i}`,
      amount: BigInt(AMOUNT_FEN),
      currency: 'CNY',
      subject: 'Bench order',
      description: 'one unit of benchmark goods',
      userId: 'u-bench',
      payWay: PAY_WAY,
      status: 'PAYING' as const,
      notifyTopic: 'payment-events',
      attach: '',
      extra: {},
      clientIp: '127.0.0.1',
      returnUrl: '',
      expireSeconds: 6 * 3600,
      expireAt,
      version: 2n, // WAIT_PAY -> PAYING
    }));
    const attempts = orders.map((o) => ({
      attemptNo: newAttemptNo(now),
      payNo: o.payNo,
      tenantId: TENANT,
      payWay: PAY_WAY,
      channel: 'wechat',
      status: 'OPEN' as const,
      payload: { codeUrl: 'weixin://wxpay/bizpayurl?pr=bench' },
      payerId: '',
      clientIp: '127.0.0.1',
    }));
    await db.payOrder.createMany({ data: orders });
    await db.payAttempt.createMany({ data: attempts });
    attemptNos.push(...attempts.map((a) => a.attemptNo));
  }
  return attemptNos;
}
