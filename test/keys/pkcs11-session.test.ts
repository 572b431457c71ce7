/**
 * sign, attest and sign-blob with a key on a PKCS#11 token (SoftHSM2) let the token go when they end, succeeded or
 * failed: they log out, close their session and finalize the module. The CLI runs in this process (main()), so what
 * it leaves behind is visible here: pkcs11js's PKCS11 is wrapped to record the calls, and afterwards the token must
 * take a fresh C_Initialize (CKR_CRYPTOKI_ALREADY_INITIALIZED while the CLI's module is still initialised), open a
 * session that is not logged in, and log in again (CKR_USER_ALREADY_LOGGED_IN while the CLI's login remains).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../packages/cli/src/main.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { createSoftHsmToken, softhsmMissing, type SoftHsmToken } from '../support/softhsm.js';

type Pkcs11js = typeof import('pkcs11js');
type Pkcs11 = InstanceType<Pkcs11js['PKCS11']>;

const missing = softhsmMissing();
// pkcs11js is core's (optional) dependency: loaded from there, it is the very module object the CLI uses.
const p11 = createRequire(new URL('../../packages/core/package.json', import.meta.url))('pkcs11js') as Pkcs11js;
const Original = p11.PKCS11;
const RECORDED = ['C_Initialize', 'C_OpenSession', 'C_Login', 'C_Logout', 'C_CloseSession', 'C_Finalize'] as const;
/** The session's life as the CLI's PKCS#11 calls made it, in order. */
let calls: string[] = [];
let token: SoftHsmToken;
let registry: RunningRegistry;
let work: string;
let previousConf: string | undefined;

beforeAll(async () => {
  if (missing) return;
  [token, registry] = await Promise.all([createSoftHsmToken('session'), startRegistry()]);
  await token.generateKey('signing', '01');
  await pushTestImage(registry, 'hsm/app:v1', { 'bin/app': 'session' });
  work = await mkdtemp(join(tmpdir(), 'tollgate-pkcs11-session-'));
  // SoftHSM reads its configuration when the module initialises, in this process.
  previousConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;
  (p11 as { PKCS11: unknown }).PKCS11 = function RecordingPkcs11(): Pkcs11 {
    const instance = new Original();
    for (const name of RECORDED) {
      const call = (instance[name] as (...args: unknown[]) => unknown).bind(instance);
      (instance as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name);
        return call(...args);
      };
    }
    return instance;
  };
}, 60_000);

afterAll(async () => {
  (p11 as { PKCS11: unknown }).PKCS11 = Original;
  if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
  else process.env.SOFTHSM2_CONF = previousConf;
  await Promise.all([token?.remove(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
});

const tollgate = (...args: string[]) => main(['node', 'tollgate', ...args]);

/** What a new user of the module in this process finds: `free`, or the PKCS#11 error / session state in its way. */
function tokenState(): string {
  const pkcs11 = new Original();
  pkcs11.load(token.module);
  try {
    pkcs11.C_Initialize();
  } catch (error) {
    return `C_Initialize: ${(error as Error).message}`;
  }
  try {
    const slot = pkcs11.C_GetSlotList(true).find((s) => pkcs11.C_GetTokenInfo(s).label.trimEnd() === token.label)!;
    const session = pkcs11.C_OpenSession(slot, p11.CKF_SERIAL_SESSION);
    try {
      // CKS_RO_PUBLIC_SESSION (0): nobody is logged in to the token.
      const state = pkcs11.C_GetSessionInfo(session).state;
      if (state !== 0) return `a new session is in state ${state}, not logged out`;
      try {
        pkcs11.C_Login(session, p11.CKU_USER, token.pin);
      } catch (error) {
        return `C_Login: ${(error as Error).message}`;
      }
      pkcs11.C_Logout(session);
      return 'free';
    } finally {
      pkcs11.C_CloseSession(session);
    }
  } finally {
    pkcs11.C_Finalize();
  }
}

const RELEASED = ['C_Initialize', 'C_OpenSession', 'C_Login', 'C_Logout', 'C_CloseSession', 'C_Finalize'];

describe('a PKCS#11 key is let go when the command ends', skipWhen(missing), () => {
  it('sign: logged out, session closed, module finalized; the token is free for a new login', async () => {
    const code = await tollgate('sign', `${registry.host}/hsm/app:v1`, '--key', token.uri('signing', { pin: true }), '--tlog-upload=false', '--json');
    expect(code).toBe(0);
    expect(calls).toEqual(RELEASED);
    expect(tokenState()).toBe('free');
  });

  it('attest: the same', async () => {
    const code = await tollgate('attest', `${registry.host}/hsm/app:v1`, '--key', token.uri('signing', { pin: true }), '--tlog-upload=false', '--type', 'filemanifest', '--json');
    expect(code).toBe(0);
    expect(calls).toEqual(RELEASED);
    expect(tokenState()).toBe('free');
  });

  it('sign-blob: the same', async () => {
    const blob = join(work, 'artifact.txt');
    await writeFile(blob, 'release 1.0\n');
    const code = await tollgate('sign-blob', blob, '--key', token.uri('signing', { pin: true }), '--tlog-upload=false', '--bundle', join(work, 'artifact.sigstore.json'));
    expect(code).toBe(0);
    expect(calls).toEqual(RELEASED);
    expect(tokenState()).toBe('free');
  });

  it('a command that fails once the key is open (no such image) lets it go too', async () => {
    const code = await tollgate('sign', `${registry.host}/hsm/absent:v1`, '--key', token.uri('signing', { pin: true }), '--tlog-upload=false');
    expect(code).toBe(2);
    expect(calls).toEqual(RELEASED);
    expect(tokenState()).toBe('free');
  });
});
