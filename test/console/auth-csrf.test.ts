import type { Browser } from 'playwright-core';
import { registerTenant } from '../../src/app/tenants';
import { tokenSha256 } from '../../src/grpc/caller-token';
import { SessionSigner } from '../../src/console/session';
import { eventually, newTenant } from '../support/harness';
import { createOrder, ref } from '../support/orders';
import {
  CONSOLE_SECRET,
  flakyWebhook,
  launchBrowser,
  OPERATOR,
  PAYER,
  session,
  shopOperator,
  startConsoleHarness,
  VIEWER,
  type Harness,
} from './console-support';

describe('the operator console lets in only the API callers, in their tenants, and acts only on a POST with its CSRF token', () => {
  let h: Harness;
  let base: string;
  let hook: Awaited<ReturnType<typeof flakyWebhook>>;
  let browser: Browser;
  let tenant: string;
  let other: string;
  let shop: ReturnType<typeof shopOperator>;
  let deadId: string;
  let payNo: string;

  beforeAll(async () => {
    hook = await flakyWebhook();
    // The one-tenant operator needs its tenant's id before the service starts: the tenant is registered after.
    const shopTenant = `tshop${Date.now().toString(36)}`;
    shop = shopOperator(shopTenant);
    ({ h, base } = await startConsoleHarness(
      { EVENT_WEBHOOK_URL: hook.url, EVENT_WEBHOOK_SECRET: 'console-webhook-secret-0123456789abcdef' },
      [shop],
    ));
    tenant = await newTenant(h, 'tauth');
    other = shopTenant;
    await registerTenant(h.service.deps.db, { id: other, name: other });
    const order = await createOrder(h, tenant);
    payNo = order.payNo;
    await h.call('cancel', { order: ref(order), reason: '' });
    deadId = (await eventually(() => h.service.deps.db.outboxEvent.findFirst({ where: { payNo, status: 'DEAD' } }))).id;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await hook?.close();
  });

  const get = (path: string, cookie?: string) => fetch(`${base}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const post = (path: string, form: Record<string, string>, cookie?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { ...(cookie ? { cookie } : {}), ...headers },
      redirect: 'manual',
    });
  /** The dead event is untouched: still DEAD, never replayed, no operator action recorded. */
  const unchanged = async () => {
    const db = h.service.deps.db;
    expect((await db.outboxEvent.findUniqueOrThrow({ where: { id: deadId } })).status).toBe('DEAD');
    expect(await db.eventDelivery.count({ where: { eventId: deadId, target: 'replay' } })).toBe(0);
    expect(await db.operatorAction.count({ where: { tenantId: tenant } })).toBe(0);
  };

  it('When there is no session cookie, then every page leads to the login and an action is refused', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/orders/${payNo}?tenant=${tenant}`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/console/orders/${payNo}?tenant=${tenant}`);
    // A wrong token and a caller without view or operate do not get in.
    await page.fill('input[name=token]', `${OPERATOR.token}x`);
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('button:text("Sign in")')]);
    expect(await page.locator('#error').innerText()).toBe('missing or invalid credentials');
    expect((await post('/login', { token: PAYER.token })).status).toBe(403);
    expect((await post(`/events/${deadId}/replay`, { tenant })).status).toBe(401);
    await unchanged();
  });

  it('When a cookie is forged, signed with another secret or expired, then it is refused like no cookie', async () => {
    const { cookie } = await session(base, OPERATOR.token);
    expect((await get(`/orders?tenant=${tenant}`, cookie)).status).toBe(200);
    const [payload, mac] = cookie.slice('paysvc_console='.length).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp: number };
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86400_000 })).toString('base64url');
    const now = new Date();
    const hash = tokenSha256(OPERATOR.token);
    const forged = [
      `paysvc_console=${longer}.${mac}`,
      `paysvc_console=${new SessionSigner('another-secret-another-secret-0123456789', 60_000).open('console-op', hash, now).cookie}`,
      `paysvc_console=${new SessionSigner(CONSOLE_SECRET, 60_000).open('console-op', hash, new Date(now.getTime() - 120_000)).cookie}`,
      `paysvc_console=${new SessionSigner(CONSOLE_SECRET, 60_000).open('console-op', tokenSha256('a rotated token'), now).cookie}`,
    ];
    for (const c of forged) {
      const res = await get(`/orders?tenant=${tenant}`, c);
      expect([res.status, res.headers.get('location')]).toEqual([
        303,
        `/console/login?next=${encodeURIComponent(`/console/orders?tenant=${tenant}`)}`,
      ]);
    }
    // The same signer with the right secret, grant and time is let in: the refusals above are the forgeries'.
    const good = `paysvc_console=${new SessionSigner(CONSOLE_SECRET, 60_000).open('console-op', hash, now).cookie}`;
    expect((await get(`/orders?tenant=${tenant}`, good)).status).toBe(200);
  });

  it("When an operator of one tenant asks for another tenant's pages or orders, then it is refused", async () => {
    const { cookie, csrf } = await session(base, shop.token);
    expect((await get(`/orders?tenant=${other}`, cookie)).status).toBe(200);
    for (const path of [
      `/orders?tenant=${tenant}`,
      `/orders/${payNo}?tenant=${tenant}`,
      `/dead-letters?tenant=${tenant}`,
      `/stats?tenant=${tenant}`,
    ]) {
      expect([path, (await get(path, cookie)).status]).toEqual([path, 403]);
    }
    // Its own tenant names no order of another: not found, as over gRPC.
    expect((await get(`/orders/${payNo}?tenant=${other}`, cookie)).status).toBe(404);
    expect((await post(`/events/${deadId}/replay`, { tenant, _csrf: csrf }, cookie)).status).toBe(403);
    expect((await post(`/events/${deadId}/replay`, { tenant: other, _csrf: csrf }, cookie)).status).toBe(404);
    await unchanged();
  });

  it('When a read-only caller looks, then it sees the dead letter with replay disabled, and its POST is refused', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/dead-letters?tenant=${tenant}`);
    await page.fill('input[name=token]', VIEWER.token);
    await Promise.all([page.waitForURL('**/dead-letters?**'), page.click('button:text("Sign in")')]);
    const replay = page.locator('#dead-letters tr', { hasText: deadId }).locator('button');
    expect(await replay.isDisabled()).toBe(true);
    expect(await page.locator('header .who').innerText()).toBe('console-viewer (read-only)');
    const { cookie, csrf } = await session(base, VIEWER.token);
    const res = await post(`/events/${deadId}/replay`, { tenant, _csrf: csrf }, cookie);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('may only view');
    await unchanged();
    await context.close();
  });

  it("When an action comes without its CSRF token, with another session's or from another origin, then it is 403 and changes nothing", async () => {
    const mine = await session(base, OPERATOR.token);
    const theirs = await session(base, OPERATOR.token);
    const replay = (form: Record<string, string>, headers?: Record<string, string>) =>
      post(`/events/${deadId}/replay`, { tenant, ...form }, mine.cookie, headers);
    expect((await replay({})).status).toBe(403);
    expect((await replay({ _csrf: theirs.csrf })).status).toBe(403);
    expect((await replay({ _csrf: 'A'.repeat(43) })).status).toBe(403);
    expect((await replay({ _csrf: mine.csrf }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(`/orders/${payNo}/sync`, { tenant }, mine.cookie)).status).toBe(403);
    await unchanged();
    // With its own token the same request acts (so the refusals above were the token's).
    const ok = await replay({ _csrf: mine.csrf });
    expect([ok.status, ok.headers.get('location')]).toEqual([303, expect.stringContaining('done=replayed')]);
    expect((await h.service.deps.db.operatorAction.findFirstOrThrow({ where: { tenantId: tenant } })).actor).toBe('console-op');
  });

  it('When identifiers and texts are hostile, then the pages show them as text', async () => {
    const evil = `"><img/src=x/onerror=alert(1)>`;
    const order = await createOrder(h, tenant, { userId: evil, subject: '<script>alert(1)</script>', amount: 1n });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/orders?tenant=${tenant}&key=user_id&q=${encodeURIComponent(evil)}`);
    await page.fill('input[name=token]', OPERATOR.token);
    await Promise.all([page.waitForURL('**/orders?**'), page.click('button:text("Sign in")')]);
    expect(await page.locator('main tbody tr').first().innerText()).toContain(evil);
    await page.goto(`${base}/orders/${order.payNo}?tenant=${tenant}`);
    expect(await page.locator('#story').innerText()).toContain('<script>alert(1)</script>');
    expect(await page.locator('main').innerText()).toContain(evil);
    expect(await page.locator('img, script').count()).toBe(0);
    await page.goto(`${base}/orders?tenant=${tenant}&key=out_order_no&q=${encodeURIComponent('<b>x</b>')}`);
    expect(await page.locator('.msg.err').innerText()).toContain('<b>x</b>');
    expect(await page.locator('main b').count()).toBe(0);
    await context.close();
  });

  it("When a list is longer than a page, then the next page link carries ListOrders' cursor and the filters", async () => {
    const pager = await newTenant(h, 'tpage');
    const made: string[] = [];
    for (let i = 0; i < 3; i += 1) made.push((await createOrder(h, pager, { userId: 'pager-1' })).payNo);
    await createOrder(h, pager, { userId: 'someone-else' });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/orders?tenant=${pager}&key=user_id&q=pager-1&size=2`);
    await page.fill('input[name=token]', OPERATOR.token);
    await Promise.all([page.waitForURL('**/orders?**'), page.click('button:text("Sign in")')]);
    const shown = async () => page.locator('main tbody tr td:first-child').allInnerTexts();
    const first = await shown();
    await Promise.all([page.waitForURL('**page=**'), page.click('a[rel=next]')]);
    const second = await shown();
    expect([...first, ...second]).toEqual([...made].reverse()); // newest first, each once, only the user's
    expect(await page.locator('a[rel=next]').count()).toBe(0);
    await context.close();
  });
});
