/**
 * The sandbox buyer, over HTTP as a browser would: open the pay URL Prepay handed out (the mock cashier, the
 * Alipay QR code, the WeChat Pay Native code_url), then submit the page's Pay form. Each sandbox then sends its
 * signed payment notify to the sidecar. Returns the URL the form was posted to.
 */
export async function buyerPays(payUrl: string, signal: AbortSignal): Promise<string> {
  const page = await fetch(payUrl, { signal });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`GET ${payUrl} answered ${page.status}: ${html.slice(0, 200)}`);
  const form = /<form\b[^>]*\bmethod="post"[^>]*>/i.exec(html)?.[0];
  if (!form) throw new Error(`the cashier page at ${payUrl} has no Pay button (already paid or closed?)`);
  const action = /\baction="([^"]*)"/i.exec(form)?.[1];
  const target = new URL(action ? decodeEntities(action) : payUrl, payUrl).toString();
  // JSON where the sandbox offers it; manual redirects: a return_url would point at the shop, not the sandbox.
  const paid = await fetch(target, { method: 'POST', headers: { accept: 'application/json' }, redirect: 'manual', signal });
  await paid.arrayBuffer();
  if (paid.status >= 400) throw new Error(`POST ${target} answered ${paid.status}`);
  return target;
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}
