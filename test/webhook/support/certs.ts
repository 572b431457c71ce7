/** Self-signed certificates for the webhook's HTTPS, made by openssl in the test (a SAN for 127.0.0.1). */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestCert {
  cert: string;
  key: string;
  /** The certificate's PEM, for a client's `ca`. */
  pem: Buffer;
}

/** Writes `<name>.crt` and `<name>.key` (EC P-256, valid a day, SAN IP:127.0.0.1 and DNS:localhost) into `dir`. */
export async function makeCert(dir: string, name: string): Promise<TestCert> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await execFileAsync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=tollgate webhook ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
  return { cert, key, pem: await readFile(cert) };
}
