import { ConfigError, loadConfig } from '../../src/config';
import { BASE_ENV } from '../support/config';

describe('MAX_PAY_ATTEMPTS (issue 14 §2: a failed payment can be tried again)', () => {
  it('When it is not set, then a failed order may be prepaid again until 3 of its attempts failed', () => {
    expect(loadConfig(BASE_ENV).MAX_PAY_ATTEMPTS).toBe(3);
  });

  it('When it is set within 1..10, then it is taken', () => {
    expect(loadConfig({ ...BASE_ENV, MAX_PAY_ATTEMPTS: '1' }).MAX_PAY_ATTEMPTS).toBe(1);
    expect(loadConfig({ ...BASE_ENV, MAX_PAY_ATTEMPTS: '10' }).MAX_PAY_ATTEMPTS).toBe(10);
  });

  it.each(['0', '11', '2.5', 'three', '-1'])('When it is %s, then the start is refused naming the variable', (value) => {
    expect(() => loadConfig({ ...BASE_ENV, MAX_PAY_ATTEMPTS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE_ENV, MAX_PAY_ATTEMPTS: value })).toThrow(/MAX_PAY_ATTEMPTS/);
  });
});
