import { html, num, table, yuan, type Html } from '../../src/console/html';

/** The markup without the layout whitespace between tags (the source's formatter owns that). */
const tags = (h: Html): string => h.text.replace(/>\s+</g, '><');

describe("the console's HTML", () => {
  it('When a table has no rows, then one cell spans every column and says so; with rows, the rows are the body', () => {
    const columns = ['order', num('amount (yuan)'), ''];
    const empty = tags(table({ id: 'orders', columns, rows: [], empty: 'No orders.' }));
    expect(empty).toBe(
      '<table id="orders"><thead><tr><th>order</th><th class="num">amount (yuan)</th><th></th></tr></thead>' +
        '<tbody><tr><td colspan="3">No orders.</td></tr></tbody></table>',
    );
    const row = html`<tr>
      <td>P1</td>
      <td class="num">${yuan(12345n)}</td>
      <td></td>
    </tr>`;
    expect(tags(table({ columns, rows: [row, row], empty: 'No orders.' }))).toBe(
      '<table><thead><tr><th>order</th><th class="num">amount (yuan)</th><th></th></tr></thead>' +
        `<tbody>${tags(row)}${tags(row)}</tbody></table>`,
    );
  });

  it('When a header, id or empty text carries markup, then it is text', () => {
    const t = table({ id: '"><script>', columns: ['<b>x</b>'], rows: [], empty: '<i>none</i>' }).text;
    expect(t).not.toMatch(/<script>|<b>|<i>/);
    expect(t).toContain('id="&quot;&gt;&lt;script&gt;"');
  });
});
