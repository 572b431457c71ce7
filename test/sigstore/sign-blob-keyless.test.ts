import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { runCli } from '../support/cli.js';

/** Keyless sign-blob against the Sigstore mock's Fulcio, Rekor (v1) and TSA on loopback, verified with verify-blob. */
describe('tollgate sign-blob, keyless', () => {
  let mock: SigstoreMock;
  let work: string;
  const identity = 'release@tollgate.test';

  beforeAll(async () => {
    mock = await startSigstoreMock();
    work = await mkdtemp(join(tmpdir(), 'tollgate-signblob-keyless-'));
    await writeFile(join(work, 'artifact.txt'), 'release artifact\n');
    await writeFile(join(work, 'trusted_root.json'), mock.trustedRootJson);
    await writeFile(join(work, 'token.jwt'), mock.mintToken(identity));
  });

  afterAll(async () => {
    await mock?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('signs with a Fulcio certificate, logs to Rekor, timestamps, and verifies only for the right identity', async () => {
    const bundle = join(work, 'artifact.sigstore.json');
    const signed = await runCli([
      'sign-blob', join(work, 'artifact.txt'), '--bundle', bundle,
      '--identity-token', `@${join(work, 'token.jwt')}`,
      '--fulcio-url', mock.fulcioUrl, '--rekor-url', mock.rekorUrl, '--tsa-url', mock.tsaUrl,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const written = JSON.parse(await readFile(bundle, 'utf8'));
    expect(written.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(written.verificationMaterial.certificate).toBeDefined();
    expect(written.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(written.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);

    const trust = ['--trusted-root', join(work, 'trusted_root.json')];
    const ok = await runCli(['verify-blob', '--offline', join(work, 'artifact.txt'), '--bundle', bundle, '--certificate-identity', identity, '--certificate-oidc-issuer', mock.issuer, ...trust]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).toMatch(/Verified OK/);

    const wrongIdentity = await runCli(['verify-blob', '--offline', join(work, 'artifact.txt'), '--bundle', bundle, '--certificate-identity', 'someone@tollgate.test', '--certificate-oidc-issuer', mock.issuer, ...trust]);
    expect(wrongIdentity.code).toBe(1);
    const prefixOnly = await runCli(['verify-blob', '--offline', join(work, 'artifact.txt'), '--bundle', bundle, '--certificate-identity-regexp', 'release@tollgate', '--certificate-oidc-issuer', mock.issuer, ...trust]);
    expect(prefixOnly.code).toBe(1);
    const publicGood = await runCli(['verify-blob', '--offline', join(work, 'artifact.txt'), '--bundle', bundle, '--certificate-identity', identity, '--certificate-oidc-issuer', mock.issuer]);
    expect(publicGood.code).toBe(1);

    await writeFile(join(work, 'other.txt'), 'another artifact\n');
    const otherFile = await runCli(['verify-blob', '--offline', join(work, 'other.txt'), '--bundle', bundle, '--certificate-identity', identity, '--certificate-oidc-issuer', mock.issuer, ...trust]);
    expect(otherFile.code).toBe(1);
  });

  it('fails with exit 2 and one line when Fulcio refuses the token', async () => {
    await writeFile(join(work, 'bad.jwt'), 'not-a-jwt');
    const result = await runCli([
      'sign-blob', join(work, 'artifact.txt'), '--bundle', join(work, 'never.json'),
      '--identity-token', `@${join(work, 'bad.jwt')}`, '--fulcio-url', mock.fulcioUrl, '--rekor-url', mock.rekorUrl,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
