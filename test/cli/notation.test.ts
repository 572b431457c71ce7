/** `tollgate notation verify` end to end: the built CLI, a real registry, notation's trust policy and store layout. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Descriptor } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { makeCert, rsaKey, signEnvelope, simplePki } from '../../packages/core/test/notation/pki.js';
import { clientFor, pushNotationSignature, pushTestImage } from '../../packages/core/test/notation/registry-helpers.js';

let registry: RunningRegistry;
let work: string;
let signed: Descriptor;
let expired: Descriptor;
let unsigned: Descriptor;
const pki = simplePki();

function policy(level: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    trustPolicies: [
      {
        name: 'apps',
        registryScopes: [`${registry.host}/team/signed`, `${registry.host}/team/expired`, `${registry.host}/team/unsigned`],
        signatureVerification: { level, ...extra },
        trustStores: ['ca:team'],
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=tollgate-test, CN=Test Signer'],
      },
    ],
  };
}

async function writePolicy(name: string, doc: unknown): Promise<string> {
  const path = join(work, name);
  await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tollgate-notation-cli-'));
  await mkdir(join(work, 'store/x509/ca/team'), { recursive: true });
  await writeFile(join(work, 'store/x509/ca/team/root.pem'), pki.root.toString());
  await mkdir(join(work, 'other-store/x509/ca/team'), { recursive: true });
  await writeFile(join(work, 'other-store/x509/ca/team/other-root.pem'), makeCert({ cn: 'Other Root', key: rsaKey(), ca: true }).toString());
  const client = clientFor(registry);
  signed = await pushTestImage(registry, 'team/signed', 'v1', 'signed');
  await pushNotationSignature(client, 'team/signed', signed, signEnvelope({ key: pki.leafKey, alg: 'PS256', chain: [pki.leaf, pki.root], target: signed }));
  expired = await pushTestImage(registry, 'team/expired', 'v1', 'expired');
  await pushNotationSignature(
    client,
    'team/expired',
    expired,
    signEnvelope({
      key: pki.leafKey,
      alg: 'PS256',
      chain: [pki.leaf, pki.root],
      target: expired,
      protected: { 'io.cncf.notary.expiry': '2023-01-01T00:00:00Z', crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'] },
    }),
  );
  unsigned = await pushTestImage(registry, 'team/unsigned', 'v1', 'unsigned');
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tollgate notation verify', () => {
  it('verifies a signed image by tag and by digest (exit 0), with --json', async () => {
    const trustPolicy = await writePolicy('strict.json', policy('strict'));
    const byTag = await runCli(['notation', 'verify', `${registry.host}/team/signed:v1`, '--trust-policy', trustPolicy, '--trust-store', join(work, 'store')]);
    expect(byTag.stderr).toBe('');
    expect(byTag.code).toBe(0);
    expect(byTag.stdout).toContain(`Successfully verified signature for ${registry.host}/team/signed@${signed.digest}`);
    expect(byTag.stdout).toContain('signed by CN=Test Signer,O=tollgate-test,ST=WA,C=US (notary.x509)');
    const json = await runCli(['notation', 'verify', `${registry.host}/team/signed@${signed.digest}`, '--trust-policy', trustPolicy, '--trust-store', join(work, 'store'), '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ verified: true, policy: 'apps', level: 'strict', signer: { subject: 'CN=Test Signer,O=tollgate-test,ST=WA,C=US' } });
    expect(doc.checks.map((c: { check: string }) => c.check)).toEqual(['integrity', 'authenticity', 'expiry', 'authenticTimestamp', 'revocation']);
  });

  it('an expired signature: exit 1 at strict, exit 0 with a warning at permissive and audit', async () => {
    const args = (file: string) => ['notation', 'verify', `${registry.host}/team/expired:v1`, '--trust-policy', file, '--trust-store', join(work, 'store')];
    const strict = await runCli(args(await writePolicy('strict.json', policy('strict'))));
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/signature verification failed .*\n.*expiry: the signature expired at 2023-01-01T00:00:00.000Z/);
    for (const level of ['permissive', 'audit']) {
      const result = await runCli(args(await writePolicy(`${level}.json`, policy(level))));
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`Warning: expiry (logged at ${level}): the signature expired`);
      expect(result.stdout).toContain('Successfully verified signature');
    }
  });

  it('an unsigned image and a store without the root fail with exit 1; a repository outside every scope fails too', async () => {
    const trustPolicy = await writePolicy('strict.json', policy('strict'));
    const none = await runCli(['notation', 'verify', `${registry.host}/team/unsigned:v1`, '--trust-policy', trustPolicy, '--trust-store', join(work, 'store')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no notation signature is associated with ${unsigned.digest}`);
    const wrongStore = await runCli(['notation', 'verify', `${registry.host}/team/signed:v1`, '--trust-policy', trustPolicy, '--trust-store', join(work, 'other-store')]);
    expect(wrongStore.code).toBe(1);
    expect(wrongStore.stderr).toMatch(/does not contain any certificate of the ca trust store/);
    const outside = await runCli(['notation', 'verify', `${registry.host}/elsewhere/app:v1`, '--trust-policy', trustPolicy, '--trust-store', join(work, 'store')]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/no trust policy applies to .*elsewhere\/app/);
  });

  it('skip verifies nothing and says so (exit 0)', async () => {
    const doc = { version: '1.0', trustPolicies: [{ name: 'skip', registryScopes: [`${registry.host}/team/unsigned`], signatureVerification: { level: 'skip' } }] };
    const result = await runCli(['notation', 'verify', `${registry.host}/team/unsigned:v1`, '--trust-policy', await writePolicy('skip.json', doc), '--trust-store', join(work, 'store')]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/set to skip/);
  });

  it('bad trust policies, trust stores and references are usage errors (exit 2) with a clear message', async () => {
    const store = join(work, 'store');
    const run = async (trustPolicy: string, trustStore = store, image = `${registry.host}/team/signed:v1`) => runCli(['notation', 'verify', image, '--trust-policy', trustPolicy, '--trust-store', trustStore]);
    const unknownKey = await run(await writePolicy('bad1.json', { ...policy('strict'), extra: true }));
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.stderr).toMatch(/unknown key "extra"/);
    const badLevel = await run(await writePolicy('bad2.json', policy('lenient')));
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toMatch(/"lenient" is not one of strict, permissive, audit, skip/);
    const truncated = await run(await writePolicy('bad3.json', JSON.stringify(policy('strict')).slice(0, 40)));
    expect(truncated.code).toBe(2);
    const missingFile = await run(join(work, 'nope.json'));
    expect(missingFile.code).toBe(2);
    const notAStore = await run(await writePolicy('ok.json', policy('strict')), work);
    expect(notAStore.code).toBe(2);
    expect(notAStore.stderr).toMatch(/is not a notation trust store/);
    const missingStore = await run(await writePolicy('ok2.json', { ...policy('strict'), trustPolicies: [{ ...(policy('strict').trustPolicies as object[])[0], trustStores: ['ca:absent'] }] }));
    expect(missingStore.code).toBe(2);
    expect(missingStore.stderr).toMatch(/"ca:absent", which does not exist/);
    const ociRef = await run(await writePolicy('ok3.json', policy('strict')), store, `oci:${work}`);
    expect(ociRef.code).toBe(2);
    const help = await runCli(['notation', 'verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--trust-policy <file>/);
  });

  it('a signature by an untrusted identity is rejected at strict but passes with a warning at audit', async () => {
    const key = rsaKey();
    const stranger = makeCert({ cn: 'Someone Else', key, issuer: { cert: pki.root, key: pki.rootKey } });
    const client = clientFor(registry);
    const image = await pushTestImage(registry, 'team/signed', 'v2', 'other signer');
    await pushNotationSignature(client, 'team/signed', image, signEnvelope({ key, alg: 'PS256', chain: [stranger, pki.root], target: image }));
    const strict = await runCli(['notation', 'verify', `${registry.host}/team/signed:v2`, '--trust-policy', await writePolicy('strict.json', policy('strict')), '--trust-store', join(work, 'store')]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/does not match the trusted identities/);
    const audit = await runCli(['notation', 'verify', `${registry.host}/team/signed:v2`, '--trust-policy', await writePolicy('audit.json', policy('audit')), '--trust-store', join(work, 'store')]);
    expect(audit.code).toBe(0);
    expect(audit.stderr).toMatch(/authenticity \(logged at audit\)/);
  });
});
