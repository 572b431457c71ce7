import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { readPrivateKey, readPublicKey, signMessage, verifyMessage } from '../../packages/core/src/index.js';
// Internal: seals any plaintext (here a SEC1 key, which the public writer never writes) as cosign does.
import { sealCosignEnvelope } from '../../packages/core/src/keys/cosign-envelope.js';
import { runCli } from '../support/cli.js';
import { needsShared, sharedPath } from '../support/shared.js';

const FIXTURES = sharedPath('fixtures/');

/** `tollgate generate-key-pair` and `tollgate public-key`, run as built binaries in a temp working directory. */
describe('tollgate generate-key-pair / public-key', () => {
  let root: string;
  let n = 0;
  const freshDir = async (): Promise<string> => {
    const dir = join(root, `case-${n++}`);
    await mkdir(dir);
    return dir;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tollgate-keys-e2e-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes cosign.key (0600, cosign format) and cosign.pub (0644) that read back and match', async () => {
    const cwd = await freshDir();
    const result = await runCli(['generate-key-pair'], { cwd, env: { TOLLGATE_PASSWORD: 'e2e-pass' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Private key written to cosign.key\nPublic key written to cosign.pub\n');
    expect((await stat(join(cwd, 'cosign.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(cwd, 'cosign.pub'))).mode & 0o777).toBe(0o644);
    expect((await readdir(cwd)).sort()).toEqual(['cosign.key', 'cosign.pub']);
    const keyText = await readFile(join(cwd, 'cosign.key'), 'utf8');
    expect(keyText.startsWith('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n')).toBe(true);
    const key = await readPrivateKey(keyText, 'e2e-pass');
    const pub = readPublicKey(await readFile(join(cwd, 'cosign.pub')));
    expect(verifyMessage(pub, Buffer.from('x'), signMessage(key, Buffer.from('x')))).toBe(true);
    await expect(readPrivateKey(keyText, '')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
  });

  it('COSIGN_PASSWORD works, --output-key-prefix and --algorithm are honoured, --json reports paths and key id', async () => {
    const cwd = await freshDir();
    await mkdir(join(cwd, 'keys'));
    const result = await runCli(['generate-key-pair', '--output-key-prefix', 'keys/release', '--algorithm', 'ed25519', '--json'], { cwd, env: { COSIGN_PASSWORD: 'c' } });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ privateKey: 'keys/release.key', publicKey: 'keys/release.pub', algorithm: 'ed25519', keyDetails: 'PKIX_ED25519' });
    const pub = readPublicKey(await readFile(join(cwd, 'keys/release.pub')));
    expect(report.keyId).toBe(pub.keyId);
    expect((await readPrivateKey(await readFile(join(cwd, 'keys/release.key')), 'c')).algorithm).toBe('ed25519');
  });

  it('TOLLGATE_PASSWORD wins over COSIGN_PASSWORD', async () => {
    const cwd = await freshDir();
    expect((await runCli(['generate-key-pair'], { cwd, env: { TOLLGATE_PASSWORD: 'tg', COSIGN_PASSWORD: 'co' } })).code).toBe(0);
    const keyText = await readFile(join(cwd, 'cosign.key'));
    await expect(readPrivateKey(keyText, 'tg')).resolves.toBeDefined();
  });

  it('an empty password is used only when set explicitly; with no password and no terminal it exits 2', async () => {
    const cwd = await freshDir();
    const refused = await runCli(['generate-key-pair'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/set TOLLGATE_PASSWORD or COSIGN_PASSWORD \(empty allowed\)/);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(cwd)).toEqual([]);
    const explicit = await runCli(['generate-key-pair'], { cwd, env: { TOLLGATE_PASSWORD: '' } });
    expect(explicit.code).toBe(0);
    expect((await readPrivateKey(await readFile(join(cwd, 'cosign.key')), '')).algorithm).toBe('ecdsa-p256');
  });

  it('refuses to overwrite either file without --force (exit 2, nothing changed), overwrites with --force', async () => {
    const cwd = await freshDir();
    const env = { TOLLGATE_PASSWORD: 'one' };
    expect((await runCli(['generate-key-pair'], { cwd, env })).code).toBe(0);
    const before = await readFile(join(cwd, 'cosign.key'), 'utf8');
    const again = await runCli(['generate-key-pair'], { cwd, env: { TOLLGATE_PASSWORD: 'two' } });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/cosign\.key already exists.*--force/);
    expect(await readFile(join(cwd, 'cosign.key'), 'utf8')).toBe(before);

    const other = await freshDir();
    await writeFile(join(other, 'cosign.pub'), 'keep me');
    const pubExists = await runCli(['generate-key-pair'], { cwd: other, env });
    expect(pubExists.code).toBe(2);
    expect(pubExists.stderr).toMatch(/cosign\.pub already exists/);
    expect(await readdir(other)).toEqual(['cosign.pub']);

    const forced = await runCli(['generate-key-pair', '--force'], { cwd, env: { TOLLGATE_PASSWORD: 'two' } });
    expect(forced.code).toBe(0);
    const after = await readFile(join(cwd, 'cosign.key'), 'utf8');
    expect(after).not.toBe(before);
    await expect(readPrivateKey(after, 'two')).resolves.toBeDefined();
    expect((await stat(join(cwd, 'cosign.key'))).mode & 0o777).toBe(0o600);
    expect((await readdir(cwd)).sort()).toEqual(['cosign.key', 'cosign.pub']);
  });

  it('a prefix in a missing directory is a one-line exit 2', async () => {
    const cwd = await freshDir();
    const result = await runCli(['generate-key-pair', '--output-key-prefix', 'nope/k'], { cwd, env: { TOLLGATE_PASSWORD: 'x' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write nope\/k\.key: ENOENT/);
  });

  it('public-key prints exactly the .pub written by generate-key-pair', async () => {
    const cwd = await freshDir();
    const env = { COSIGN_PASSWORD: 'pk' };
    expect((await runCli(['generate-key-pair'], { cwd, env })).code).toBe(0);
    const result = await runCli(['public-key', '--key', 'cosign.key'], { cwd, env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(await readFile(join(cwd, 'cosign.pub'), 'utf8'));
    const json = JSON.parse((await runCli(['public-key', '--key', 'cosign.key', '--json'], { cwd, env })).stdout);
    expect(json).toMatchObject({ algorithm: 'ecdsa-p256', keyDetails: 'PKIX_ECDSA_P256_SHA_256', publicKey: result.stdout });
  });

  it('public-key reads a key written by real cosign (empty password, set explicitly)', needsShared('fixtures/cosign'), async () => {
    const result = await runCli(['public-key', '--key', join(FIXTURES, 'cosign/cosign-generated-empty-password.key')], { env: { COSIGN_PASSWORD: '' } });
    expect(result.code).toBe(0);
    expect(result.stdout.replace(/-----[A-Z ]+-----|\n/g, '')).toBe('MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGmsWpZNuu+SUX70n3lVK4JLsaoV7T+rhea2rQUu29EQiatoLB06QdsmSd+GsQGlQzfcDtsKPzb+B2zLggrWZjg==');
  });

  it('public-key: wrong password, no password, SEC1 cosign key, missing and public files are one-line exit 2', async () => {
    const cwd = await freshDir();
    expect((await runCli(['generate-key-pair'], { cwd, env: { TOLLGATE_PASSWORD: 'hello' } })).code).toBe(0);
    const sigstoreKey = join(cwd, 'cosign.key');
    // cosign's legacy label around a SEC1 EC key, as cosign's own test key cosign-ec-encrypted-COSIGN-label.key: cosign refuses it.
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'der' });
    const body = Buffer.from(await sealCosignEnvelope(sec1, 'hello', 32768)).toString('base64').replace(/(.{64})/g, '$1\n');
    await writeFile(join(cwd, 'sec1.key'), `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n${body}\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n`);
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['--key', sigstoreKey], { TOLLGATE_PASSWORD: 'wrong' }, /wrong password or corrupted key/],
      [['--key', sigstoreKey], {}, /is encrypted: set TOLLGATE_PASSWORD or COSIGN_PASSWORD/],
      [['--key', join(cwd, 'sec1.key')], { TOLLGATE_PASSWORD: 'hello' }, /SEC1/],
      [['--key', join(cwd, 'cosign.pub')], {}, /is a public key/],
      [['--key', join(root, 'does-not-exist.key')], {}, /cannot read key file .*ENOENT/],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli(['public-key', ...args], { env });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain('wrong\n');
    }
    const ok = await runCli(['public-key', '--key', sigstoreKey], { env: { TOLLGATE_PASSWORD: 'hello' } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('public-key refuses an oversize file without reading it all', async () => {
    const cwd = await freshDir();
    await writeFile(join(cwd, 'big.key'), Buffer.alloc(1024 * 1024, 0x41));
    const result = await runCli(['public-key', '--key', 'big.key'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/too large to be a key file/);
  });

  it('both commands have --help with examples', async () => {
    for (const command of ['generate-key-pair', 'public-key']) {
      const result = await runCli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Examples:/);
    }
  });
});
