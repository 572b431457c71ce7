import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, publicKeyPem } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { generateBundles } from '../../packages/core/test/sigstore/generated-bundles.js';
import { publicGoodRootText } from '../../packages/core/test/sigstore/public-good-root.js';
import type * as SigstoreBundle from '../../packages/core/node_modules/@sigstore/bundle/dist/index.js';

// A keyless bundle signed against @sigstore/mock (Fulcio certificate, Rekor entry) and that instance's trusted root;
// the key pair comes from `tollgate generate-key-pair` (cosign's format, empty password) in beforeAll.
const generated = await generateBundles();
const { subject: signerIdentity, issuer: signerIssuer } = generated.identity;
const identity = ['--certificate-identity', signerIdentity, '--certificate-oidc-issuer', signerIssuer];
let happyBundle: string;
let aTxt: string;
let mockRoot: string;
let cosignKey: string;
let cosignPub: string;
let otherPub: string;

// @sigstore/bundle is a dependency of @tollgate/core, resolved from there (the repository root does not depend on it);
// its types likewise.
const { bundleFromJSON } = createRequire(new URL('../../packages/core/package.json', import.meta.url))('@sigstore/bundle') as typeof SigstoreBundle;

let dir: string;
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-verify-blob-'));
  happyBundle = file('happy.sigstore.json', JSON.stringify(generated.messageSignature));
  aTxt = file('a.txt', generated.artifact);
  mockRoot = file('mock-root.json', generated.trustedRootJson);
  const keys = await runCli(['generate-key-pair'], { cwd: dir, env: { TOLLGATE_PASSWORD: '' } });
  expect(keys.code, keys.stderr).toBe(0);
  cosignKey = join(dir, 'cosign.key');
  cosignPub = readFileSync(join(dir, 'cosign.pub'), 'utf8');
  otherPub = file('other.pub', publicKeyPem(generateKeyPair()));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await generated.stop();
});

describe('tollgate sign-blob --key → verify-blob --key', () => {
  it('round trips with a cosign-format key (empty password), and the bundle is a v0.3 @sigstore/bundle', async () => {
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

    const wrongKey = await runCli(['verify-blob', '--offline', artifact, '--bundle', bundle, '--key', otherPub, '--insecure-ignore-tlog']);
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
  const happy = JSON.stringify(generated.messageSignature);

  it.each([
    ['garbage', 'this is not json'],
    ['truncated', happy.slice(0, happy.length - 40)],
    ['unknown media type', happy.replace(generated.messageSignature.mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.9')],
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
    const root = JSON.parse(publicGoodRootText());
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
    const escape = (text: string) => text.replace(/[.]/g, '\\.');
    const prefix = escape(signerIdentity.slice(0, signerIdentity.indexOf('@')));
    const partial = await runCli(['verify-blob', '--trusted-root', mockRoot, aTxt, '--bundle', happyBundle, '--certificate-identity-regexp', prefix, '--certificate-oidc-issuer', signerIssuer]);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toMatch(/does not match/);
    const full = await runCli(['verify-blob', '--trusted-root', mockRoot, aTxt, '--bundle', happyBundle, '--certificate-identity-regexp', `${prefix}@.*`, '--certificate-oidc-issuer-regexp', escape(signerIssuer)]);
    expect(full.code, full.stderr).toBe(0);
  });

  it('usage errors exit 2: no key or identity, both, half an identity, a bad regexp', async () => {
    for (const args of [
      [],
      ['--key', otherPub, ...identity],
      ['--certificate-identity', signerIdentity],
      ['--certificate-identity-regexp', '(', '--certificate-oidc-issuer', signerIssuer],
    ]) {
      const result = await runCli(['verify-blob', '--offline', aTxt, '--bundle', happyBundle, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^Error: /);
    }
  });
});
