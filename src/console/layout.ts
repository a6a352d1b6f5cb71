import type { Caller } from '../grpc/auth';
import type { Session } from './session';
import { Html, html, query } from './html';

/** What every console page knows of its request: who, for which tenant, in which zone, and the session's CSRF token. */
export interface PageContext {
  caller: Caller;
  session: Session;
  csrf: string;
  /** '' until the operator picks one (a caller of every tenant). */
  tenant: string;
  timeZone: string;
  /** The operate permission: may replay, query channels. */
  canAct: boolean;
}

/** A console URL that keeps the tenant and time zone. */
export const link = (ctx: PageContext, path: string, extra: Record<string, string | undefined> = {}): string =>
  `/console${path}${query({ tenant: ctx.tenant, tz: ctx.timeZone, ...extra })}`;

/** A POST form for one action: the CSRF token and tenant go with it; a read-only caller sees it disabled. */
export function actionForm(ctx: PageContext, path: string, label: string, fields: Record<string, string> = {}): Html {
  return html`<form method="post" action="${link(ctx, path)}" class="act">
    <input type="hidden" name="_csrf" value="${ctx.csrf}" /><input type="hidden" name="tenant" value="${ctx.tenant}" />
    ${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}
    <button type="submit" ${ctx.canAct ? '' : html` disabled title="needs the operate permission"`}>${label}</button>
  </form>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#cfe0ff;text-decoration:none}header a:hover{text-decoration:underline}
header form{display:inline-flex;gap:.3rem;margin:0}header .who{margin-left:auto;opacity:.8}
main{padding:1rem;max-width:1200px}h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.2rem 0 .5rem}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border-bottom:1px solid #e3e6eb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px/1.4 ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all;background:#f0f2f5;padding:.5rem;margin:.3rem 0}
.tag{display:inline-block;padding:0 .4rem;border-radius:3px;background:#e3e6eb;font-size:12px}
.ok{background:#d6f5dd}.bad{background:#fbd9d9}.warn{background:#fdf0c8}
.msg{padding:.5rem 1rem;border-left:4px solid #3b6fd8;background:#fff;margin-bottom:1rem}.err{border-color:#c62828}
form.act{display:inline}button{font:inherit;padding:.15rem .6rem;cursor:pointer}button[disabled]{cursor:not-allowed}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:.6rem;margin-bottom:1rem}
.card{background:#fff;padding:.6rem;border:1px solid #e3e6eb}.card b{display:block;font-size:1.2rem}
svg{background:#fff;border:1px solid #e3e6eb;max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#444}
details summary{cursor:pointer;color:#3b6fd8}
`;

const ZONES = ['Asia/Shanghai', 'UTC', 'Asia/Hong_Kong', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'America/New_York'];

/** The page around `body`: navigation (tenant and time zone kept), the tenant and zone pickers, who is signed in. */
export function page(ctx: PageContext | undefined, title: string, body: Html, status?: Html): Html {
  const nav = ctx
    ? html`<a href="${link(ctx, '/orders')}">Orders</a><a href="${link(ctx, '/stats')}">Today &amp; 30 days</a>
        <a href="${link(ctx, '/dead-letters')}">Dead letters</a><a href="${link(ctx, '/stuck')}">Stuck orders</a>
        <a href="${link(ctx, '/reconciliation')}">Reconciliation</a>
        <form method="get" action="/console/orders">
          ${tenantPicker(ctx)}
          <select name="tz" aria-label="time zone">
            ${[...new Set([ctx.timeZone, ...ZONES])].map(
              (z) => html`<option${z === ctx.timeZone ? ' selected' : ''}>${z}</option>`,
            )}</select
          ><button>Go</button>
        </form>
        <span class="who">${ctx.caller.name}${ctx.canAct ? '' : ' (read-only)'}</span>
        <form method="post" action="/console/logout">
          <input type="hidden" name="_csrf" value="${ctx.csrf}" /><button>Sign out</button>
        </form>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width" />
        <title>${title} · paysvc console</title>
        <style>
          ${STYLE_HTML}
        </style>
      </head>
      <body>
        <header><strong>paysvc</strong>${nav}</header>
        <main>
          ${status ?? ''}
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>`;
}

/** A caller of every tenant types one; a caller of a few picks among them. */
function tenantPicker(ctx: PageContext): Html {
  if (ctx.caller.tenants === '*')
    return html`<input name="tenant" value="${ctx.tenant}" placeholder="tenant id" size="12" aria-label="tenant" />`;
  return html`<select name="tenant" aria-label="tenant">
    ${[...ctx.caller.tenants].map((t) => html`<option${t === ctx.tenant ? ' selected' : ''}>${t}</option>`)}
  </select>`;
}

/** Our own constant: trusted as is. */
const STYLE_HTML = new Html(STYLE);
