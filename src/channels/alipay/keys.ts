import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Alipay keys arrive as PKCS#8 or PKCS#1 PEM, or as the bare base64 the Alipay console hands out. Everything is
 * normalised to PKCS#8 / SPKI PEM here, so alipay-sdk always gets `keyType: 'PKCS8'` and a key it can read.
 */
export function normalizePrivateKey(key: string): string {
  const k = readKey(key, (der, type) => createPrivateKey({ key: der, format: 'der', type }), createPrivateKey, ['pkcs8', 'pkcs1']);
  return k.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function normalizePublicKey(key: string): string {
  const k = readKey(key, (der, type) => createPublicKey({ key: der, format: 'der', type }), createPublicKey, ['spki', 'pkcs1']);
  return k.export({ type: 'spki', format: 'pem' }).toString();
}

function readKey<T extends string>(
  key: string,
  fromDer: (der: Buffer, type: T) => KeyObject,
  fromPem: (pem: string) => KeyObject,
  derTypes: readonly T[],
): KeyObject {
  const text = key.trim();
  const k = text.startsWith('-----BEGIN')
    ? fromPem(text)
    : firstReadable(Buffer.from(text.replace(/\s+/g, ''), 'base64'), fromDer, derTypes);
  if (k.asymmetricKeyType !== 'rsa') throw new Error(`an Alipay key must be RSA, not ${k.asymmetricKeyType}`);
  return k;
}

function firstReadable<T extends string>(der: Buffer, fromDer: (der: Buffer, type: T) => KeyObject, types: readonly T[]): KeyObject {
  for (const type of types) {
    try {
      return fromDer(der, type);
    } catch {
      // try the next encoding
    }
  }
  throw new Error('unreadable RSA key (neither PEM nor base64 DER)');
}
