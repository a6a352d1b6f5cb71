import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultChannels, KNOWN_CHANNELS } from '../../src/channels';
import { PayWayCatalog } from '../../src/channels/catalog';
import type { ChannelModule } from '../../src/channels/channel-module';
import { buildChannel } from '../../src/channels/guarded-channel';
import { mockChannel, type MockAccount } from '../../src/channels/mock';
import { buildSignedHeaders } from '../../src/channels/mock/signature';
import { ChannelRegistry } from '../../src/channels/registry';
import { InvalidArgumentError } from '../../src/domain/errors';
import { PaymentEvent } from '../../src/gen/payment/v1/events';
import { PayWay } from '../../src/gen/payment/v1/types';
import { eventFromJson, eventToJson, payWayFromProto, payWayToProto } from '../../src/grpc/mappers';

const specs = KNOWN_CHANNELS.flatMap((m) => m.payWays.map((w) => ({ ...w, channel: m.name })));

describe('the channel list and the catalog derived from it', () => {
  it('names every pay way once, by code and by number, and every proto PayWay value is some module’s', () => {
    expect(new Set(specs.map((w) => w.code)).size).toBe(specs.length);
    expect(new Set(specs.map((w) => w.protoNumber)).size).toBe(specs.length);
    const protoValues = Object.values(PayWay).filter((v): v is number => typeof v === 'number' && v !== PayWay.PAY_WAY_UNSPECIFIED);
    expect(specs.map((w) => w.protoNumber).sort((a, b) => a - b)).toEqual(protoValues.sort((a, b) => a - b));
    for (const w of specs) expect(PayWay[w.protoNumber]).toBe(`PAY_WAY_${w.code}`);
  });

  it('gives each channel its own name and notify segment, and each pay way its prepay strategy', () => {
    expect(KNOWN_CHANNELS.map((m) => [m.name, m.notify.pathSegment])).toEqual([
      ['mock', 'mock'],
      ['alipay', 'alipay'],
      ['wechat', 'wx'],
    ]);
    for (const m of KNOWN_CHANNELS)
      expect(buildChannel(m, { timeoutMs: 1000 }).handlers.map((h) => h.payWay)).toEqual(m.payWays.map((w) => w.code));
  });

  it('refuses a module that claims a pay way code or number another has, a second module of a name or notify path, or a pay way without a strategy', () => {
    const clone = (over: Partial<ChannelModule>): ChannelModule => ({ ...mockChannel, ...over });
    const sameCode = clone({ name: 'other', payWays: [{ ...mockChannel.payWays[0], protoNumber: 901 }] });
    expect(() => new PayWayCatalog([...KNOWN_CHANNELS, sameCode])).toThrow('pay way MOCK is claimed by channels mock and other');
    const sameNumber = clone({ name: 'other', payWays: [{ ...mockChannel.payWays[0], code: 'OTHER' }] });
    expect(() => new PayWayCatalog([...KNOWN_CHANNELS, sameNumber])).toThrow('pay way number 1 is claimed by MOCK and OTHER');
    const samePath = clone({ name: 'other', payWays: [] });
    expect(() => new ChannelRegistry([mockChannel, samePath], { timeoutMs: 1000 })).toThrow('two channels with notify path /notify/mock/');
    const noStrategy = clone({ create: (deps) => ({ ...mockChannel.create(deps), prepay: {} }) });
    expect(() => buildChannel(noStrategy, { timeoutMs: 1000 })).toThrow('channel mock has no prepay strategy for its pay way MOCK');
  });

  it('offers the mock only outside production, and only when it is enabled', () => {
    const names = (c: Parameters<typeof defaultChannels>[0]) => defaultChannels(c).map((m) => m.name);
    expect(names({ MOCK_CHANNEL_ENABLED: true, MOCK_CHANNEL_SECRET: 'x'.repeat(16), NODE_ENV: 'test' })).toEqual([
      'mock',
      'alipay',
      'wechat',
    ]);
    expect(names({ MOCK_CHANNEL_ENABLED: true, MOCK_CHANNEL_SECRET: 'x'.repeat(16), NODE_ENV: 'production' })).toEqual([
      'alipay',
      'wechat',
    ]);
    expect(names({ MOCK_CHANNEL_ENABLED: false, MOCK_CHANNEL_SECRET: undefined, NODE_ENV: 'development' })).toEqual(['alipay', 'wechat']);
  });
});

describe('pay ways on the wire', () => {
  it('maps codes to the catalog’s numbers and back; an unknown number is INVALID_ARGUMENT naming the field', () => {
    expect(payWayToProto('ALIPAY_QR')).toBe(PayWay.PAY_WAY_ALIPAY_QR);
    expect(payWayToProto('MOCK_QR')).toBe(PayWay.PAY_WAY_MOCK_QR);
    expect(payWayToProto('')).toBe(PayWay.PAY_WAY_UNSPECIFIED);
    expect(payWayToProto('NO_SUCH_WAY')).toBe(PayWay.PAY_WAY_UNSPECIFIED);
    expect(payWayFromProto(PayWay.PAY_WAY_WECHAT_H5)).toBe('WECHAT_H5');
    expect(payWayFromProto(PayWay.PAY_WAY_UNSPECIFIED)).toBe('');
    expect(() => payWayFromProto(12345)).toThrow(InvalidArgumentError);
    expect(() => payWayFromProto(12345, 'pay_ways')).toThrow('pay_ways: 12345 is not a pay way this service knows');
  });

  it('writes an event with a pay way outside the proto as its number, and reads it back', () => {
    const event = PaymentEvent.fromPartial({ eventId: 'E1', payNo: 'P1', payWay: 900 as PayWay });
    const json = eventToJson(event) as Record<string, unknown>;
    expect(json.payWay).toBe(900);
    expect(eventFromJson(json)).toEqual(event);
    const known = PaymentEvent.fromPartial({ eventId: 'E2', payWay: PayWay.PAY_WAY_MOCK });
    expect((eventToJson(known) as Record<string, unknown>).payWay).toBe('PAY_WAY_MOCK');
    expect(eventFromJson(eventToJson(known))).toEqual(known);
  });
});

describe('the mock goes through the same guard as any channel', () => {
  const account: MockAccount = {
    channel: 'mock',
    merchantId: 'M1',
    secret: 'unit-test-secret-0001',
    gatewayUrl: 'http://127.0.0.1:1',
    notifyBaseUrl: 'http://127.0.0.1:2',
  };
  const { channel } = buildChannel(mockChannel, { timeoutMs: 1000 });
  const notify = (fields: Record<string, string>) => {
    const body = JSON.stringify({
      notify_id: 'N1',
      event: 'TRADE.SUCCESS',
      out_trade_no: 'A1',
      trade_no: 'T1',
      amount: '100',
      currency: 'CNY',
      paid_at: new Date().toISOString(),
      ...fields,
    });
    return { tenantId: 't', terminalType: 'web', headers: buildSignedHeaders(account.secret, body), rawBody: Buffer.from(body) };
  };

  it('When a validly signed mock notify names another merchant, or none, then it is refused with the trade as a hint', async () => {
    expect(await channel.verifyNotify(notify({ mch_id: 'M1' }), account)).toMatchObject({ valid: true });
    expect(await channel.verifyNotify(notify({ mch_id: 'M2' }), account)).toEqual({
      valid: false,
      reason: 'notify for another merchant: merchant M2 is not M1',
      attemptNo: 'A1',
    });
    expect(await channel.verifyNotify(notify({}), account)).toMatchObject({
      valid: false,
      reason: expect.stringContaining('unrecognised notify'),
    });
  });

  it('When a mock call has no mock account, then it is unknown, never fail', async () => {
    const trade = {
      tenantId: 't',
      payNo: 'P',
      attemptNo: 'A1',
      amount: 1n,
      currency: 'CNY',
      subject: 's',
      description: '',
      attach: '',
      expireAt: new Date(),
      clientIp: '',
      payerId: '',
      returnUrl: '',
    };
    expect(await channel.query(trade, { account: { channel: 'alipay' } })).toEqual({
      outcome: 'unknown',
      channelStatus: '',
      reason: 'no mock account for this tenant',
    });
    expect(await channel.verifyNotify(notify({ mch_id: 'M1' }), undefined)).toEqual({
      valid: false,
      reason: 'tenant t has no mock account',
    });
  });
});

describe('nothing outside a channel’s folder names it', () => {
  it('When src/ is searched for channel names, then only the channel folders, the channel list and config’s MOCK_* settings have them', () => {
    const root = path.join(__dirname, '../../src');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
      });
    const allowed = /^(channels\/(alipay|wechat|mock)\/|channels\/index\.ts$|gen\/|generated\/)/;
    const named = /'alipay'|'wechat'|'mock'|ALIPAY_|WECHAT_|MOCK/;
    const hits = files(root)
      .map((f) => path.relative(root, f).split(path.sep).join('/'))
      .filter((rel) => !allowed.test(rel))
      .flatMap((rel) =>
        readFileSync(path.join(root, rel), 'utf8')
          .split('\n')
          .map((line, i) => ({ at: `${rel}:${i + 1}`, line }))
          .filter(({ line }) => named.test(line)),
      )
      .filter(({ at, line }) => !(at.startsWith('config.ts:') && /MOCK_(CHANNEL_ENABLED|CHANNEL_SECRET|GATEWAY_URL)/.test(line)));
    expect(hits).toEqual([]);
  });
});
