import { html, type Html } from './html';

/** One bar: its label under the axis, its value, and what hovering it says. */
export interface Bar {
  label: string;
  value: bigint;
  title: string;
}

/** A bar's height in pixels out of `height` for value/max, in integer math until the pixel. */
const scaled = (value: bigint, max: bigint, height: number): number => (max > 0n ? Number((value * BigInt(height * 10)) / max) / 10 : 0);

/** A chart's frame: an accessible inline SVG of w × h named by its caption (its <title>, shown on hover). */
function svg(id: string, caption: string, w: number, h: number, body: Html): Html {
  return html`<svg
    id="${id}"
    role="img"
    aria-label="${caption}"
    viewBox="0 0 ${w} ${h}"
    width="${w}"
    height="${h}"
    xmlns="http://www.w3.org/2000/svg"
  >
    <title>${caption}</title>
    ${body}
  </svg>`;
}

/**
 * Vertical bars, server-rendered as inline SVG (no script, no library): one per label, the top value written on
 * the axis, every bar's exact figures in its <title> (shown on hover).
 */
export function barChart(id: string, caption: string, bars: Bar[], axis: (v: bigint) => string): Html {
  const [w, h, left, bottom, top] = [Math.max(320, 60 + bars.length * 26), 220, 56, 36, 14];
  const max = bars.reduce((m, b) => (b.value > m ? b.value : m), 0n);
  const slot = (w - left - 8) / Math.max(1, bars.length);
  const plot = h - bottom - top;
  const rects = bars.map((b, i) => {
    const bh = scaled(b.value, max, plot);
    const x = left + i * slot + slot * 0.15;
    return html`<g
      ><title>${b.title}</title
      ><rect
        x="${x.toFixed(1)}"
        y="${(top + plot - bh).toFixed(1)}"
        width="${(slot * 0.7).toFixed(1)}"
        height="${bh.toFixed(1)}"
        fill="#3b6fd8"
      ></rect>
      <text
        x="${(x + slot * 0.35).toFixed(1)}"
        y="${h - bottom + 14}"
        text-anchor="end"
        transform="rotate(-45 ${(x + slot * 0.35).toFixed(1)} ${h - bottom + 14})"
        >${b.label}</text
      ></g
    >`;
  });
  return svg(
    id,
    caption,
    w,
    h,
    html`<line x1="${left}" y1="${top + plot}" x2="${w - 4}" y2="${top + plot}" stroke="#999"></line>
      <line x1="${left}" y1="${top}" x2="${left}" y2="${top + plot}" stroke="#999"></line>
      <text x="${left - 4}" y="${top + 4}" text-anchor="end">${axis(max)}</text>
      <text x="${left - 4}" y="${top + plot}" text-anchor="end">${axis(0n)}</text>
      ${rects}`,
  );
}

/** Horizontal bars, for a few groups (pay ways, channels). */
export function hbarChart(id: string, caption: string, bars: Bar[], show: (v: bigint) => string): Html {
  const [w, row, left] = [560, 24, 170];
  const h = Math.max(1, bars.length) * row + 10;
  const max = bars.reduce((m, b) => (b.value > m ? b.value : m), 0n);
  const rows = bars.map((b, i) => {
    const bw = scaled(b.value, max, w - left - 110);
    const y = 6 + i * row;
    return html`<g
      ><title>${b.title}</title><text x="${left - 6}" y="${y + 14}" text-anchor="end">${b.label}</text>
      <rect x="${left}" y="${y}" width="${bw.toFixed(1)}" height="${row - 8}" fill="#2e9d6a"></rect
      ><text x="${(left + bw + 4).toFixed(1)}" y="${y + 14}">${show(b.value)}</text></g
    >`;
  });
  return svg(id, caption, w, h, html`${rows}`);
}
