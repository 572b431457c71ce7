/**
 * A real PKCS#11 token for tests: SoftHSM2 (Debian's softhsm2) with its token directory in a temp dir (SOFTHSM2_CONF
 * points at a config written there), initialised by the test, and key pairs generated on it with OpenSC's
 * pkcs11-tool. Nothing outside the temp dir is touched.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SOFTHSM_MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p));

/** Why SoftHSM tests cannot run here, or undefined when they can. */
export function softhsmMissing(): string | undefined {
  if (SOFTHSM_MODULE === undefined) return 'SoftHSM2 is not installed (apt-get install softhsm2; scripts/test-deps.sh installs it)';
  return undefined;
}

export interface SoftHsmToken {
  dir: string;
  /** SOFTHSM2_CONF for every process that uses the token. */
  env: { SOFTHSM2_CONF: string };
  module: string;
  label: string;
  pin: string;
  /** A key URI as cosign writes them, for `object` (and optionally more attributes). */
  uri(object: string, extra?: { pin?: boolean; query?: string; path?: string }): string;
  /** Generates an EC key pair on the token (pkcs11-tool --keypairgen); `keyType` e.g. EC:prime256v1. */
  generateKey(label: string, id: string, keyType?: string): Promise<void>;
  /** The public key pkcs11-tool reads off the token, as SPKI DER. */
  readPublicKey(id: string): Promise<Buffer>;
  remove(): Promise<void>;
}

export async function createSoftHsmToken(label = 'tollgate', pin = '1234'): Promise<SoftHsmToken> {
  const module = SOFTHSM_MODULE!;
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-softhsm-'));
  await mkdir(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  const opts = { env: { ...process.env, ...env }, timeout: 60_000 };
  await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '5678', '--pin', pin], opts);
  const tool = (args: string[]) => run('pkcs11-tool', ['--module', module, '--token-label', label, ...args], { ...opts, encoding: 'buffer' as const });
  return {
    dir,
    env,
    module,
    label,
    pin,
    uri(object, extra = {}) {
      const query = [`module-path=${module}`, ...(extra.pin ? [`pin-value=${pin}`] : []), ...(extra.query ? [extra.query] : [])].join('&');
      return `pkcs11:token=${label};object=${object}${extra.path ?? ''}?${query}`;
    },
    async generateKey(keyLabel, id, keyType = 'EC:prime256v1') {
      await tool(['--login', '--pin', pin, '--keypairgen', '--key-type', keyType, '--label', keyLabel, '--id', id]);
    },
    async readPublicKey(id) {
      const out = join(dir, `pub-${id}.der`);
      await tool(['--read-object', '--type', 'pubkey', '--id', id, '--output-file', out]);
      const { readFile } = await import('node:fs/promises');
      return readFile(out);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
