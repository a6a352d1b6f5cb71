import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** PEM files of one key pair and its certificate, and their contents. */
export interface Pem {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  dir: string;
  ca: Pem;
  /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, issued by `ca`. */
  server: Pem;
  /** CN=orders-svc, SAN URI:spiffe://paysvc.test/orders-svc, issued by `ca`. */
  client: Pem;
  /** Another CA, and a client certificate it issued with the very same subject. */
  rogueCa: Pem;
  rogueClient: Pem;
  remove(): void;
}

/**
 * Throwaway certificates for one test file, made with the openssl CLI in a temp dir (node:crypto cannot issue
 * X.509). P-256 keys, valid one day. Nothing of this is committed.
 */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'paysvc-pki-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const pem = (name: string): Pem => ({
    certFile: file(`${name}.crt`),
    keyFile: file(`${name}.key`),
    cert: readFileSync(file(`${name}.crt`)),
    key: readFileSync(file(`${name}.key`)),
  });
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(`${name}.key`));
  const selfSigned = (name: string, cn: string) => {
    key(name);
    openssl('req', '-x509', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${cn}`, '-days', '1', '-out', file(`${name}.crt`));
    return pem(name);
  };
  const issued = (name: string, cn: string, ca: string, ext: string) => {
    key(name);
    openssl('req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${cn}`, '-out', file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${ca}.crt`),
      '-CAkey',
      file(`${ca}.key`),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.crt`),
    );
    return pem(name);
  };
  const ca = selfSigned('ca', 'paysvc test CA');
  const rogueCa = selfSigned('rogue-ca', 'paysvc test CA');
  const server = issued('server', 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  const clientExt = 'subjectAltName=URI:spiffe://paysvc.test/orders-svc\nextendedKeyUsage=clientAuth';
  const client = issued('client', 'orders-svc', 'ca', clientExt);
  const rogueClient = issued('rogue-client', 'orders-svc', 'rogue-ca', clientExt);
  return { dir, ca, server, client, rogueCa, rogueClient, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
