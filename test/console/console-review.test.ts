import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { loadConfig } from '../../src/config';
import { PayWay } from '../../src/gen/payment/v1/types';
import { recordOperatorAction } from '../../src/repo/console-queries';
import { newTenant } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import { CONSOLE_SECRET, OPERATOR, session, startConsoleHarness, type Harness } from './console-support';
import { BASE_ENV, configProblems } from '../support/config';

describe("the console's configuration refuses what would open it to anyone and marks its cookie Secure where it should", () => {
  it('When caller authentication is disabled and the console is on, then the start is refused naming CONSOLE_SECRET', () => {
    expect(configProblems({ ...BASE_ENV, PAYSVC_AUTH_DISABLED: 'true', CONSOLE_SECRET })).toMatch(
      /CONSOLE_SECRET: the console cannot run while PAYSVC_AUTH_DISABLED is true/,
    );
    expect(configProblems({ ...BASE_ENV, PAYSVC_AUTH_DISABLED: 'true' })).toBe('');
  });

  it('When CONSOLE_COOKIE_SECURE is not set, then it follows NODE_ENV: on in production, off elsewhere; set, it wins', () => {
    const production = {
      ...BASE_ENV,
      NODE_ENV: 'production',
      CHANNEL_SECRETS_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      GRPC_PLAINTEXT_IN_PRODUCTION: 'true',
      PAYSVC_AUTH_DISABLED: 'true',
    };
    expect(loadConfig(production).CONSOLE_COOKIE_SECURE).toBe(true);
    expect(loadConfig({ ...production, CONSOLE_COOKIE_SECURE: 'false' }).CONSOLE_COOKIE_SECURE).toBe(false);
    expect(loadConfig(BASE_ENV).CONSOLE_COOKIE_SECURE).toBe(false);
    expect(loadConfig({ ...BASE_ENV, CONSOLE_COOKIE_SECURE: 'true' }).CONSOLE_COOKIE_SECURE).toBe(true);
  });
});

describe('the console after its review: tokens, cookies, sign-out, tenants and pay numbers', () => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    ({ h, base } = await startConsoleHarness({ CONSOLE_COOKIE_SECURE: 'true' }));
  });
  afterAll(async () => {
    await h?.close();
  });

  const get = (path: string, cookie?: string) => fetch(`${base}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const post = (path: string, form: Record<string, string>, cookie?: string) =>
    fetch(`${base}${path}`, { method: 'POST', body: new URLSearchParams(form), headers: cookie ? { cookie } : {}, redirect: 'manual' });

  it('When CONSOLE_COOKIE_SECURE is true, then the session cookie and its removal carry Secure over plain HTTP', async () => {
    const login = await post('/login', { token: OPERATOR.token, next: '/console/orders' });
    expect(login.status).toBe(303);
    expect(login.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await get('/orders', cookie)).text())![1];
    const logout = await post('/logout', { _csrf: csrf }, cookie);
    expect(logout.status).toBe(303);
    expect(logout.headers.get('set-cookie')).toMatch(/^paysvc_console=; Path=\/console; Max-Age=0; .*; Secure$/);
  });

  it('When a login token has non-ASCII or control characters or is absurdly long, then it is 401 and nothing of it is logged', async () => {
    const log = h.service.deps.log;
    const spies = (['error', 'warn', 'info'] as const).map((level) => jest.spyOn(log, level));
    try {
      for (const token of [`${OPERATOR.token}é`, `${OPERATOR.token}\u0001x`, `paysvc_${'a'.repeat(600)}`, '']) {
        const res = await post('/login', { token, next: '/console/orders' });
        expect([token.slice(0, 12), res.status]).toEqual([token.slice(0, 12), 401]);
        expect(res.headers.get('set-cookie')).toBeNull();
      }
      const logged = spies.flatMap((s) => s.mock.calls).map((args) => inspect(args, { depth: 8 }));
      expect(logged.filter((line) => line.includes(OPERATOR.token.slice(7)) || line.includes('a'.repeat(40)))).toEqual([]);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it('When an operator signs out, then a copy of that session cookie no longer opens a page or acts; other sessions go on', async () => {
    const tenant = await newTenant(h, 'tlogout');
    const order = await createOrder(h, tenant);
    const copied = await session(base, OPERATOR.token);
    const other = await session(base, OPERATOR.token);
    expect((await get(`/orders?tenant=${tenant}`, copied.cookie)).status).toBe(200);
    expect((await post('/logout', { _csrf: copied.csrf }, copied.cookie)).status).toBe(303);
    const page = await get(`/orders?tenant=${tenant}`, copied.cookie);
    expect([page.status, page.headers.get('location')]).toEqual([
      303,
      `/console/login?next=${encodeURIComponent(`/console/orders?tenant=${tenant}`)}`,
    ]);
    expect((await post(`/orders/${order.payNo}/sync`, { tenant, _csrf: copied.csrf }, copied.cookie)).status).toBe(401);
    expect(await h.service.deps.db.operatorAction.count({ where: { tenantId: tenant } })).toBe(0);
    expect((await get(`/orders?tenant=${tenant}`, other.cookie)).status).toBe(200);
  });

  it("When an operator of tenant A names tenant B's order, then A's audit row names no order and B's story shows none of A's rows", async () => {
    const a = await newTenant(h, 'tauda');
    const b = await newTenant(h, 'taudb');
    const order = await createOrder(h, b);
    const { cookie, csrf } = await session(base, OPERATOR.token);
    const res = await post(`/orders/${order.payNo}/sync`, { tenant: a, _csrf: csrf }, cookie);
    expect(res.status).toBe(404);
    const db = h.service.deps.db;
    const rows = await db.operatorAction.findMany({ where: { tenantId: a } });
    expect(rows.map((r) => [r.action, r.payNo, r.target])).toEqual([['QUERY_CHANNEL', null, order.payNo]]);
    // Even a row that names B's pay no under A (written before this fix, say) stays out of B's story.
    await recordOperatorAction(db, {
      tenantId: a,
      actor: 'someone',
      action: 'QUERY_CHANNEL',
      payNo: order.payNo,
      target: 'x',
      outcome: 'forged',
      at: new Date(),
    });
    const story = await (await get(`/orders/${order.payNo}?tenant=${b}`, cookie)).text();
    expect(story).toContain(order.payNo);
    expect(story).not.toContain('Operator action');
    expect(story).not.toContain('forged');
  });

  it("When an operator acts, then the audit row is stamped with the service's clock (deps.now), not the machine's", async () => {
    const tenant = await newTenant(h, 'tclock');
    const { cookie, csrf } = await session(base, OPERATOR.token);
    const deps = h.service.deps;
    const real = deps.now;
    const later = new Date(Date.now() + 3600_000);
    jest.spyOn(deps, 'now').mockImplementation(() => later);
    try {
      expect((await post('/orders/P0000000000000000000NONE/sync', { tenant, _csrf: csrf }, cookie)).status).toBe(404);
    } finally {
      jest.restoreAllMocks();
    }
    expect(deps.now).toBe(real);
    const [row] = await deps.db.operatorAction.findMany({ where: { tenantId: tenant } });
    expect([row.payNo, row.createdAt.toISOString()]).toEqual([null, later.toISOString()]);
  });

  it('When the pay no in an action URL is too long or not a pay no, then it is 404 before acting and nothing is recorded', async () => {
    const tenant = await newTenant(h, 'tbadno');
    const { cookie, csrf } = await session(base, OPERATOR.token);
    for (const payNo of ['X'.repeat(33), 'abc', 'AB%20CD', `A${'%C3%A9'}`]) {
      const res = await post(`/orders/${payNo}/sync`, { tenant, _csrf: csrf }, cookie);
      expect([payNo, res.status]).toEqual([payNo, 404]);
      expect(await res.text()).toContain('order not found');
    }
    expect(await h.service.deps.db.operatorAction.count({ where: { tenantId: tenant } })).toBe(0);
  });

  it('When orders are stuck, then the oldest (the most urgent) is listed first', async () => {
    const tenant = await newTenant(h, 'tstuckorder');
    const db = h.service.deps.db;
    const made = [];
    for (const hoursAgo of [2, 5, 3]) {
      const o = await createOrder(h, tenant);
      await h.call('prepay', { order: ref(o), payWay: PayWay.PAY_WAY_MOCK, clientIp: '', payerId: '' });
      await db.payOrder.update({ where: { payNo: o.payNo }, data: { createdAt: new Date(Date.now() - hoursAgo * 3600_000) } });
      made.push({ payNo: o.payNo, hoursAgo });
    }
    const { cookie } = await session(base, OPERATOR.token);
    const text = await (await get(`/stuck?tenant=${tenant}`, cookie)).text();
    const listed = [...text.matchAll(/<td><a href="[^"]*">([0-9A-Z]+)<\/a><\/td>/g)].map((m) => m[1]);
    expect(listed).toEqual([...made].sort((x, y) => y.hoursAgo - x.hoursAgo).map((o) => o.payNo));
  });
});
