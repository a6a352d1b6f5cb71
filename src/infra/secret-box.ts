import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  keyId: string;
  /** base64(iv ‖ tag ‖ ciphertext) */
  sealed: string;
}

/**
 * AES-256-GCM sealing of secrets at rest under a ring of master keys from the environment. The first key seals;
 * every key opens, so a master key is rotated by putting the new one first and re-saving the accounts. The
 * associated data binds a ciphertext to its row: a secret copied to another tenant does not open.
 */
export class SecretBox {
  private constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly currentId: string,
  ) {}

  /** `id:base64key[,id:base64key…]`, newest first; each key must be 32 bytes. */
  static fromSpec(spec: string): SecretBox {
    const entries = spec.split(',').map((part) => {
      const at = part.indexOf(':');
      const id = part.slice(0, at).trim();
      const key = Buffer.from(part.slice(at + 1).trim(), 'base64');
      if (at <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error('each key must be written id:base64');
      if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes (base64 of 32 random bytes)`);
      return [id, key] as const;
    });
    return new SecretBox(new Map(entries), entries[0][0]);
  }

  /** A fixed key for development and tests only; production refuses to start without real keys. */
  static development(): SecretBox {
    return new SecretBox(new Map([['dev', createHash('sha256').update('paysvc development key').digest()]]), 'dev');
  }

  seal(plaintext: string, aad: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentId), iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.currentId, sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
  }

  open({ keyId, sealed }: Sealed, aad: string): string {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key(keyId), raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new Error(`master key ${id} is not configured (CHANNEL_SECRETS_KEYS)`);
    return key;
  }
}
