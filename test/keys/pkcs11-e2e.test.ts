/**
 * PKCS#11 keys against a real token (SoftHSM2, initialised here in a temp dir, keys made by OpenSC's pkcs11-tool),
 * through the built CLI: public-key exports what the token holds; sign-blob, sign and attest sign on the token and
 * their signatures verify with that public key (verify-blob, verify, verify-attestation); a wrong PIN, a missing key
 * or token, no PIN, a KMS URI and malformed URIs each give one clear line and exit 2, never echoing the PIN.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { createSoftHsmToken, softhsmMissing, type SoftHsmToken } from '../support/softhsm.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';

const missing = softhsmMissing();
let token: SoftHsmToken;
let registry: RunningRegistry;
let work: string;
let pub: string;

beforeAll(async () => {
  if (missing) return;
  [token, registry] = await Promise.all([createSoftHsmToken('release'), startRegistry()]);
  await token.generateKey('signing', '01');
  await token.generateKey('p384', '02', 'EC:secp384r1');
  work = await mkdtemp(join(tmpdir(), 'tollgate-pkcs11-'));
  pub = join(work, 'token.pub');
}, 60_000);

afterAll(async () => {
  await Promise.all([token?.remove(), registry?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { ...token.env, ...env } });
const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);

describe('PKCS#11 keys on SoftHSM2', skipWhen(missing), () => {
  it('public-key exports the public key the token holds (PIN from the URI, from COSIGN_PKCS11_PIN, from pin-source)', async () => {
    const fromUri = await cli(['public-key', '--key', token.uri('signing', { pin: true })]);
    expect(fromUri.code, fromUri.stderr).toBe(0);
    const onToken = createPublicKey({ key: await token.readPublicKey('01'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' });
    expect(fromUri.stdout).toBe(onToken);
    await writeFile(pub, fromUri.stdout);

    const fromEnv = await cli(['public-key', '--key', token.uri('signing'), '--json'], { COSIGN_PKCS11_PIN: token.pin });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ publicKey: onToken, algorithm: 'ecdsa-p256', keyDetails: 'PKIX_ECDSA_P256_SHA_256' });

    const pinFile = join(work, 'pin');
    await writeFile(pinFile, `${token.pin}\n`, { mode: 0o600 });
    const fromFile = await cli(['public-key', '--key', token.uri('signing', { query: `pin-source=file:${pinFile}` })]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe(onToken);

    // The module from the environment, the key by id (%01), as cosign accepts.
    const byId = await cli(['public-key', '--key', `pkcs11:token=release;id=%01?pin-value=${token.pin}`], { COSIGN_PKCS11_MODULE_PATH: token.module });
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toBe(onToken);
  });

  it('sign-blob signs on the token; verify-blob accepts it with the exported key and refuses altered content', async () => {
    const blob = join(work, 'artifact.txt');
    await writeFile(blob, 'release 1.0\n');
    const bundle = join(work, 'artifact.sigstore.json');
    const signed = await cli(['sign-blob', blob, '--key', token.uri('signing'), '--tlog-upload=false', '--bundle', bundle], { COSIGN_PKCS11_PIN: token.pin });
    expect(signed.code, signed.stderr).toBe(0);
    const ok = await cli(['verify-blob', blob, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog', '--offline']);
    expect(ok.code, ok.stderr).toBe(0);
    await writeFile(blob, 'release 1.1\n');
    const altered = await cli(['verify-blob', blob, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog', '--offline']);
    expect(altered.code).toBe(1);
  });

  it('sign and attest an image on the token; verify --key and verify-attestation accept the exported key (v3 and --legacy)', async () => {
    await pushTestImage(registry, 'hsm/app:v1', { 'bin/app': 'hsm' });
    const ref = `${registry.host}/hsm/app:v1`;
    const env = { COSIGN_PKCS11_PIN: token.pin };
    const signed = await cli(['sign', ref, '--key', token.uri('signing'), '--tlog-upload=false'], env);
    expect(signed.code, signed.stderr).toBe(0);
    const verified = await cli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog']);
    expect(verified.code, verified.stderr).toBe(0);

    await pushTestImage(registry, 'hsm/legacy:v1', { 'bin/app': 'legacy' });
    const legacy = await cli(['sign', `${registry.host}/hsm/legacy:v1`, '--key', token.uri('signing'), '--tlog-upload=false', '--legacy'], env);
    expect(legacy.code, legacy.stderr).toBe(0);
    expect((await cli(['verify', '--offline', `${registry.host}/hsm/legacy:v1`, '--key', pub, '--insecure-ignore-tlog'])).code).toBe(0);

    const attested = await cli(['attest', ref, '--key', token.uri('signing'), '--tlog-upload=false', '--type', 'filemanifest'], env);
    expect(attested.code, attested.stderr).toBe(0);
    const checked = await cli(['verify-attestation', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', '--type', 'filemanifest']);
    expect(checked.code, checked.stderr).toBe(0);
  });

  it('a P-384 key on the token signs too', async () => {
    const exported = await cli(['public-key', '--key', token.uri('p384', { pin: true }), '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout).algorithm).toBe('ecdsa-p384');
  });

  it('a wrong PIN, a missing key, a missing token and no PIN are one clear line each (exit 2), never showing the PIN', async () => {
    const wrong = await cli(['public-key', '--key', token.uri('signing').replace('?', '?pin-value=99999999&')]);
    expect(wrong.code).toBe(2);
    oneLine(wrong.stderr);
    expect(wrong.stderr).toMatch(/PKCS#11 token "release" refused the PIN \(CKR_PIN_INCORRECT\)/);
    expect(wrong.stderr).not.toContain('99999999');
    const wrongEnv = await cli(['sign-blob', pub, '--key', token.uri('signing'), '--tlog-upload=false', '--bundle', join(work, 'x.json')], { COSIGN_PKCS11_PIN: 'secret-wrong-pin' });
    expect(wrongEnv.code).toBe(2);
    expect(wrongEnv.stderr).not.toContain('secret-wrong-pin');
    expect(wrongEnv.stderr).toMatch(/refused the PIN/);

    const noKey = await cli(['public-key', '--key', token.uri('absent', { pin: true })]);
    expect(noKey.code).toBe(2);
    oneLine(noKey.stderr);
    expect(noKey.stderr).toMatch(/no private key labelled "absent" on PKCS#11 token "release"/);

    const noToken = await cli(['public-key', '--key', token.uri('signing', { pin: true }).replace('token=release', 'token=elsewhere')]);
    expect(noToken.code).toBe(2);
    oneLine(noToken.stderr);
    expect(noToken.stderr).toMatch(/no PKCS#11 token labelled "elsewhere" .*tokens there: "release"/);

    const noPin = await cli(['public-key', '--key', token.uri('signing')]);
    expect(noPin.code).toBe(2);
    oneLine(noPin.stderr);
    expect(noPin.stderr).toMatch(/needs a PIN: add pin-value= or pin-source=file:<path> to the URI, or set COSIGN_PKCS11_PIN/);

    const noModule = await cli(['public-key', '--key', 'pkcs11:token=release;object=signing']);
    expect(noModule.code).toBe(2);
    expect(noModule.stderr).toMatch(/no module: add "module-path=/);
    const notAModule = await cli(['public-key', '--key', `pkcs11:token=release;object=signing?module-path=${pub}`]);
    expect(notAModule.code).toBe(2);
    oneLine(notAModule.stderr);
    expect(notAModule.stderr).toMatch(/cannot load the PKCS#11 module/);
  });

  it('cloud KMS keys are refused as not supported, without echoing the reference', async () => {
    for (const key of ['awskms://localhost:4566/alias/release', 'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', 'azurekms://vault.vault.azure.net/release', 'hashivault://release']) {
      const result = await cli(['sign-blob', pub, '--key', key, '--bundle', join(work, 'kms.json')]);
      expect(result.code, key).toBe(2);
      oneLine(result.stderr);
      expect(result.stderr).toMatch(/keys are not supported/);
      expect(result.stderr).not.toContain(key.slice(12));
    }
  });

  it('malformed URIs are usage errors in one line', async () => {
    for (const key of ['pkcs11:', 'pkcs11:token=release', 'pkcs11:object=x', 'pkcs11:token=a;object=b;object=c?module-path=/x', 'pkcs11:token=%zz;object=b?module-path=/x', 'pkcs11:token=a;object=b;pin-value=1?module-path=/x', 'pkcs11:token=a;object=b?module-path=relative.so']) {
      const result = await cli(['public-key', '--key', key]);
      expect(result.code, key).toBe(2);
      oneLine(result.stderr);
      expect(result.stderr, key).toMatch(/invalid PKCS#11 key URI/);
    }
  });
});
