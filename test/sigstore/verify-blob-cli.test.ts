import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { CONFORMANCE_DIR, DEFAULT_IDENTITY, DEFAULT_ISSUER, FIXTURES } from '../../packages/core/test/sigstore/conformance-cases.js';
import type * as SigstoreBundle from '../../packages/core/node_modules/@sigstore/bundle/dist/index.js';

const happyBundle = join(CONFORMANCE_DIR, 'happy-path-v0.3', 'bundle.sigstore.json');
const aTxt = join(CONFORMANCE_DIR, 'a.txt');
const identity = ['--certificate-identity', DEFAULT_IDENTITY, '--certificate-oidc-issuer', DEFAULT_ISSUER];
const cosignKey = join(FIXTURES, 'cosign', 'cosign-generated-empty-password.key');
const cosignPub = `-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGmsWpZNuu+SUX70n3lVK4JLsaoV7T+rhea2rQUu29EQiatoLB06QdsmSd+GsQGlQzfcDtsKPzb+B2zLggrWZjg==\n-----END PUBLIC KEY-----\n`;

// @sigstore/bundle is a dependency of @tollgate/core, resolved from there (the repository root does not depend on it);
// its types likewise.
const { bundleFromJSON } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('@sigstore/bundle') as typeof SigstoreBundle;

let dir: string;
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-verify-blob-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tollgate sign-blob --key → verify-blob --key', () => {
  it('round trips with a real cosign key (empty password), and the bundle is a v0.3 @sigstore/bundle', async () => {
    const artifact = file('art.txt', 'hello from tollgate\n');
    const bundle = join(dir, 'art.sigstore.json');
    const pub = file('cosign.pub', cosignPub);
    const signed = await runCli(['sign-blob', artifact, '--bundle', bundle, '--key', cosignKey, '--tlog-upload=false'], { env: { COSIGN_PASSWORD: '' } });
    expect(signed.code, signed.stderr).toBe(0);
    const written = JSON.parse(readFileSync(bundle, 'utf8'));
    expect(written.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(() => bundleFromJSON(written)).not.toThrow();

    const verified = await runCli(['verify-blob', '--offline', artifact, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog']);
    expect(verified).toMatchObject({ code: 0, stdout: 'Verified OK\n' });

    const json = await runCli(['verify-blob', '--offline', artifact, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: true, bundleVersion: '0.3', content: 'message_signature', signer: { keyId: expect.stringMatching(/^[0-9a-f]{64}$/) } });

    const tampered = file('art2.txt', 'hello from tollgate!\n');
    const failed = await runCli(['verify-blob', '--offline', tampered, '--bundle', bundle, '--key', pub, '--insecure-ignore-tlog']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^Error: verification failed: .*message digest/);

    const wrongKey = await runCli(['verify-blob', '--offline', artifact, '--bundle', bundle, '--key', join(CONFORMANCE_DIR, 'managed-key-happy-path', 'key.pub'), '--insecure-ignore-tlog']);
    expect(wrongKey.code).toBe(1);

    const noTlog = await runCli(['verify-blob', '--offline', artifact, '--bundle', bundle, '--key', pub]);
    expect(noTlog.code).toBe(1);
    expect(noTlog.stderr).toMatch(/no transparency log entry/);
  });

  it('sign-blob with a wrong or missing password exits 2 with a clear error', async () => {
    const artifact = file('p.txt', 'x');
    const wrong = await runCli(['sign-blob', artifact, '--bundle', join(dir, 'p.json'), '--key', cosignKey, '--tlog-upload=false'], { env: { TOLLGATE_PASSWORD: 'wrong' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^Error: .*password/i);
    const missing = await runCli(['sign-blob', artifact, '--bundle', join(dir, 'p.json'), '--key', cosignKey, '--tlog-upload=false']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/TOLLGATE_PASSWORD or COSIGN_PASSWORD/);
  });

  it('sign-blob usage errors exit 2', async () => {
    const artifact = file('u.txt', 'x');
    expect((await runCli(['sign-blob', artifact, '--bundle', join(dir, 'u.json')])).code).toBe(2);
    expect((await runCli(['sign-blob', artifact, '--bundle', join(dir, 'u.json'), '--key', cosignKey, '--tlog-upload=maybe'], { env: { COSIGN_PASSWORD: '' } })).code).toBe(2);
    expect((await runCli(['sign-blob', artifact, '--bundle', join(dir, 'u.json'), '--identity-token', 'not-a-jwt'])).code).toBe(2);
  });
});

describe('tollgate verify-blob with hostile input', () => {
  const happy = readFileSync(happyBundle, 'utf8');

  it.each([
    ['garbage', 'this is not json'],
    ['truncated', happy.slice(0, happy.length - 40)],
    ['unknown media type', happy.replace('application/vnd.dev.sigstore.bundle+json;version=0.3', 'application/vnd.dev.sigstore.bundle+json;version=0.9')],
    ['empty', ''],
  ])('a %s bundle fails verification (exit 1) with the reason', async (name, content) => {
    const bundle = file(`${name.replace(/ /g, '-')}.json`, content);
    const result = await runCli(['verify-blob', '--offline', aTxt, '--bundle', bundle, ...identity]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: verification failed: bundle: .+/);
    expect(result.stdout).toBe('');
  });

  it('an oversize bundle is not read (exit 2)', async () => {
    const bundle = file('huge.json', Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    const result = await runCli(['verify-blob', '--offline', aTxt, '--bundle', bundle, ...identity]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is 10485761 bytes, more than the 10485760 allowed/);
  });

  it('a missing bundle or artifact, or a directory, exits 2', async () => {
    expect((await runCli(['verify-blob', '--offline', aTxt, '--bundle', join(dir, 'nope.json'), ...identity])).stderr).toMatch(/does not exist/);
    expect((await runCli(['verify-blob', '--offline', join(dir, 'nope.txt'), '--bundle', happyBundle, ...identity])).code).toBe(2);
    const asDir = await runCli(['verify-blob', '--offline', aTxt, '--bundle', dir, ...identity]);
    expect(asDir.code).toBe(2);
    expect(asDir.stderr).toMatch(/not a regular file/);
  });

  it('a garbage or incomplete trusted root exits 2 with what is wrong', async () => {
    const garbage = await runCli(['verify-blob', aTxt, '--bundle', happyBundle, ...identity, '--trusted-root', file('root-garbage.json', '{"mediaType":')]);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/^Error: trusted root .+/);
    const root = JSON.parse(readFileSync(join(FIXTURES, 'sigstore-conformance', 'trusted_root.public-good.json'), 'utf8'));
    delete root.certificateAuthorities[0].validFor.start;
    const noStart = await runCli(['verify-blob', aTxt, '--bundle', happyBundle, ...identity, '--trusted-root', file('root-nostart.json', JSON.stringify(root))]);
    expect(noStart.code).toBe(2);
    expect(noStart.stderr).toMatch(/certificateAuthorities\[0\]\.validFor\.start is missing/);
    root.certificateAuthorities[0].validFor.start = '2021-03-07T03:20:29Z';
    root.tlogs[0].publicKey.rawBytes = 'AAAA';
    const badKey = await runCli(['verify-blob', aTxt, '--bundle', happyBundle, ...identity, '--trusted-root', file('root-badkey.json', JSON.stringify(root))]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/tlogs\[0\]\.publicKey\.rawBytes is not a public key that parses/);
  });

  it('an identity regexp that matches only a prefix fails (exit 1); the full one passes', async () => {
    const prefix = DEFAULT_IDENTITY.slice(0, DEFAULT_IDENTITY.indexOf('@')).replace(/[.]/g, '\\.');
    const partial = await runCli(['verify-blob', '--offline', aTxt, '--bundle', happyBundle, '--certificate-identity-regexp', prefix, '--certificate-oidc-issuer', DEFAULT_ISSUER]);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/does not match/);
    const full = await runCli(['verify-blob', '--offline', aTxt, '--bundle', happyBundle, '--certificate-identity-regexp', `${prefix}@refs/heads/.*`, '--certificate-oidc-issuer-regexp', 'https://token\\.actions\\.githubusercontent\\.com']);
    expect(full.code).toBe(0);
  });

  it('usage errors exit 2: no key or identity, both, half an identity, a bad regexp', async () => {
    for (const args of [
      [],
      ['--key', join(CONFORMANCE_DIR, 'managed-key-happy-path', 'key.pub'), ...identity],
      ['--certificate-identity', DEFAULT_IDENTITY],
      ['--certificate-identity-regexp', '(', '--certificate-oidc-issuer', DEFAULT_ISSUER],
    ]) {
      const result = await runCli(['verify-blob', '--offline', aTxt, '--bundle', happyBundle, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^Error: /);
    }
  });
});
