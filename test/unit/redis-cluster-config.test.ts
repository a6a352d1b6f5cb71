import { ConfigError, loadConfig } from '../../src/config';

const DATABASE_URL = 'mysql://u:p@127.0.0.1:3306/db';

describe('REDIS_URL or REDIS_CLUSTER_NODES (issue 17)', () => {
  it('When REDIS_URL is set, then paysvc uses that one server', () => {
    expect(loadConfig({ DATABASE_URL, REDIS_URL: 'redis://127.0.0.1:6379' }).redis).toEqual({
      kind: 'single',
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('When REDIS_CLUSTER_NODES lists host:port seeds, then paysvc uses a Redis Cluster through them', () => {
    expect(loadConfig({ DATABASE_URL, REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2.internal:7001,[::1]:7002' }).redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-2.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it.each([
    ['neither is set', {}, /REDIS_URL: required \(or REDIS_CLUSTER_NODES/],
    ['both are set', { REDIS_URL: 'redis://h:6379', REDIS_CLUSTER_NODES: 'h:7000' }, /REDIS_CLUSTER_NODES: set REDIS_URL .* not both/],
    ['a node has no port', { REDIS_CLUSTER_NODES: 'h1:7000,h2' }, /REDIS_CLUSTER_NODES: must be host:port.*"h2"/],
    ['a port is out of range', { REDIS_CLUSTER_NODES: 'h1:70000' }, /REDIS_CLUSTER_NODES: must be host:port/],
    ['a node is a URL', { REDIS_CLUSTER_NODES: 'redis://h1:7000' }, /REDIS_CLUSTER_NODES: must be host:port/],
  ])('When %s, then the start is refused naming the variable', (_case, env, message) => {
    expect(() => loadConfig({ DATABASE_URL, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL, ...env })).toThrow(message);
  });
});
