import { createServer, type Server } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mintCaller } from '../../src/grpc/caller-token';
import { freePort, startHarness, TEST_CALLER, type Harness } from '../support/harness';

export const CONSOLE_SECRET = 'console-test-secret-0123456789abcdef-0123';

/** The console's callers: an operator of every tenant, a read-only viewer, and an operator of one tenant only. */
export const OPERATOR = mintCaller('console-op', { tenants: '*', permissions: ['operate'] });
export const VIEWER = mintCaller('console-viewer', { tenants: '*', permissions: ['view'] });
export const PAYER = mintCaller('console-payer', { tenants: '*', permissions: ['pay'] });
export const shopOperator = (tenantId: string) => mintCaller('console-shop', { tenants: [tenantId], permissions: ['operate'] });

/** A harness with the console on (and the given extra callers), its base URL, and the test caller kept for h.call. */
export async function startConsoleHarness(env: Record<string, string> = {}, extra: ReturnType<typeof mintCaller>[] = []) {
  const h = await startHarness({
    CONSOLE_SECRET,
    PAYSVC_CALLERS: JSON.stringify([TEST_CALLER.entry, OPERATOR.entry, VIEWER.entry, PAYER.entry, ...extra.map((c) => c.entry)]),
    ...env,
  });
  return { h, base: `${h.notifyBaseUrl}/console` };
}

/** Debian's chromium through playwright-core (no browser download). */
export const launchBrowser = (): Promise<Browser> => chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

/** Signs in through the login form and returns the page, on whatever the login led to. */
export async function signIn(context: BrowserContext, base: string, token: string, path = '/orders'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.fill('input[name=token]', token);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login')), page.click('button:text("Sign in")')]);
  return page;
}

/** The session cookie and CSRF token of a signed-in caller, for requests without the browser. */
export async function session(base: string, token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    body: new URLSearchParams({ token, next: '/console/orders' }),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  const page = await (await fetch(`${base}/orders`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1];
  return { cookie, csrf };
}

/** A webhook that answers 500 until told otherwise: events dead-letter, then a replay delivers them. */
export async function flakyWebhook(): Promise<{ url: string; setFailing(on: boolean): void; close(): Promise<void> }> {
  let failing = true;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(failing ? 500 : 200).end());
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/events`,
    setFailing: (on) => (failing = on),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export type { Harness };
