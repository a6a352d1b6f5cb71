import { Histogram, Registry } from 'prom-client';
import { CallHistogram } from '../../src/infra/call-histogram';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

describe('CallHistogram', () => {
  it("When it and prom-client's Histogram observe the same values, then /metrics shows the same series", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({
      name: 'rpc_seconds',
      help: 'latency',
      labelNames: ['method', 'code'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const histogram = new CallHistogram('rpc_seconds', 'latency', ['method', 'code'], BUCKETS, ours);
    // Bounds themselves (le is inclusive), between them, zero, past the last bound; several series interleaved.
    const values = [0, 0.001, 0.0011, 0.0025, 0.004, 0.05, 0.3, 1, 4.99, 5, 5.01, 60];
    values.forEach((v, i) => {
      const [method, code] = [
        ['CreateOrder', 'OK'],
        ['Query', 'OK'],
        ['CreateOrder', 'INVALID_ARGUMENT'],
      ][i % 3];
      reference.observe({ method, code }, v);
      histogram.observe(method, code, v);
    });
    const lines = async (r: Registry) => (await r.metrics()).split('\n').sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
    expect((await ours.metrics()).split('\n')).toContain('rpc_seconds_bucket{le="0.001",method="CreateOrder",code="OK"} 1');
  });

  it('When the registry is reset, then its series start again from nothing', async () => {
    const registry = new Registry();
    const histogram = new CallHistogram('rpc_seconds', 'latency', ['method', 'code'], BUCKETS, registry);
    histogram.observe('Query', 'OK', 0.002);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('rpc_seconds_count');
    histogram.startTimer('WatchOrder')('CANCELLED');
    expect(await registry.metrics()).toContain('rpc_seconds_count{method="WatchOrder",code="CANCELLED"} 1');
  });
});
