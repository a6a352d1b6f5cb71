import { newAttemptNo, newPayNo, newRefundNo } from '../../src/domain/ids';
import * as ids from '../../src/domain/identifiers';

/** The identifier rules as a table: what each accepts and refuses (the README's table says the same). */
const RULES: [name: string, rule: RegExp, accepted: string[], refused: string[]][] = [
  ['tenant_id', ids.TENANT_ID, ['demo', 'DEMO', 'a_b-1', 'x'.repeat(64)], ['', 'a b', 'demo ', 'a.b', 'dé', 'x'.repeat(65)]],
  ['out_order_no', ids.CALLER_NO, ['case-1-abc', 'CASE-1-ABC'], ['', 'a ', 'a/b', 'a\u0000']],
  [
    'pay_no',
    ids.SERVICE_NO,
    [newPayNo(), newAttemptNo(), newRefundNo(), 'P0'],
    ['', newPayNo().toLowerCase(), 'P-1', `${newPayNo()} `, 'P'.repeat(33)],
  ],
  [
    'event_id',
    ids.EVENT_ID,
    ['3f2b8c1e-9d4a-4c6b-8e2f-0a1b2c3d4e5f'],
    ['3F2B8C1E-9D4A-4C6B-8E2F-0A1B2C3D4E5F', '3f2b8c1e9d4a4c6b8e2f0a1b2c3d4e5f', '{3f2b8c1e-9d4a-4c6b-8e2f-0a1b2c3d4e5f}', ''],
  ],
  ['notify_topic', ids.NOTIFY_TOPIC, ['order.pay.notify'], ['', 'a b', 'a:b']],
  ['user_id', ids.USER_ID, ['', 'u-1', 'alice@example.com', 'auth0|42'], ['a b', 'ü', 'a\t', 'x'.repeat(65)]],
  ['payer_id', ids.PAYER_ID, ['', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', '2088102146225135'], ['a b', 'a.b', 'x'.repeat(129)]],
];

describe('identifier rules', () => {
  it.each(RULES)('%s accepts exactly its character set and length', (_name, rule, accepted, refused) => {
    for (const s of accepted) expect([s, rule.test(s)]).toEqual([s, true]);
    for (const s of refused) expect([s, rule.test(s)]).toEqual([s, false]);
  });
});

describe('free text', () => {
  it.each([
    ['NUL', '\u0000', 'U+0000'],
    ['TAB', '\t', 'U+0009'],
    ['ESC', '\u001b', 'U+001B'],
    ['DEL', '\u007f', 'U+007F'],
    ['C1 CSI', '\u009b', 'U+009B'],
    ['LINE SEPARATOR', '\u2028', 'U+2028'],
    ['a lone high surrogate', '\ud83d', 'U+D83D'],
    ['a lone low surrogate', '\ude00', 'U+DE00'],
    ['U+FFFD', '\ufffd', 'U+FFFD'],
  ])('refuses %s, naming it', (_name, ch, named) => {
    expect(ids.textProblem(`a${ch}b`)).toContain(named);
  });

  it('accepts any other Unicode, spaces and emoji included', () => {
    expect(ids.textProblem('  商品 Café 🍵 “x” – ü ')).toBeUndefined();
  });
});
