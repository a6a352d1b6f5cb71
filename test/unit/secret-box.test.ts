import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/infra/secret-box';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('seals under the newest key and opens what it sealed', () => {
    const box = SecretBox.fromSpec(`k2:${key()},k1:${key()}`);
    const sealed = box.seal('-----BEGIN PRIVATE KEY-----abc', 'channel_account/t1/alipay');
    expect(sealed.keyId).toBe('k2');
    expect(sealed.sealed).not.toContain('PRIVATE');
    expect(box.open(sealed, 'channel_account/t1/alipay')).toBe('-----BEGIN PRIVATE KEY-----abc');
  });

  it('never produces the same ciphertext twice (fresh IV)', () => {
    const box = SecretBox.fromSpec(`k1:${key()}`);
    expect(box.seal('same', 'a').sealed).not.toBe(box.seal('same', 'a').sealed);
  });

  it('refuses a ciphertext moved to another row (associated data) or tampered with', () => {
    const box = SecretBox.fromSpec(`k1:${key()}`);
    const sealed = box.seal('secret', 'channel_account/t1/alipay');
    expect(() => box.open(sealed, 'channel_account/t2/alipay')).toThrow();
    const bytes = Buffer.from(sealed.sealed, 'base64');
    bytes[bytes.length - 1] ^= 1;
    expect(() => box.open({ ...sealed, sealed: bytes.toString('base64') }, 'channel_account/t1/alipay')).toThrow();
  });

  it('opens secrets sealed under an older key after rotation, and names a missing key', () => {
    const old = key();
    const before = SecretBox.fromSpec(`k1:${old}`).seal('secret', 'aad');
    expect(SecretBox.fromSpec(`k2:${key()},k1:${old}`).open(before, 'aad')).toBe('secret');
    expect(() => SecretBox.fromSpec(`k2:${key()}`).open(before, 'aad')).toThrow(/k1 is not configured/);
  });

  it.each([['nokey'], ['k1:short'], [':' + randomBytes(32).toString('base64')]])('rejects the key spec %s', (spec) => {
    expect(() => SecretBox.fromSpec(spec)).toThrow();
  });
});
