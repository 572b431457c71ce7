import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, generateKeyPair, OciLayoutWriter, publicVerificationKey, signLayoutImage } from '@tollgate/core';
import { runCli } from '../../../../../test/support/cli.js';
import { HEADER } from '../support.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
let dir: string;
const key = generateKeyPair('ecdsa-p256');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-check-sig-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  await buildImage(writer, { tag: 'signed', layers: [{ files: [{ path: 'a', content: 'signed' }] }] });
  await buildImage(writer, { tag: 'unsigned', layers: [{ files: [{ path: 'a', content: 'unsigned' }] }] });
  await signLayoutImage(writer, 'signed', { key });
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'cosign.pub'), publicVerificationKey(key).pem);
  await writeFile(join(dir, 'policy.yaml'), `${HEADER}rules:\n  - name: apps\n    images: ["demo.oci/**"]\n    authorities: [{name: release, key: {file: keys/cosign.pub}, transparencyLog: ignore}]\n`);
  await writeFile(join(dir, 'garbage.json'), '{"mediaType": 1');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (tag: string, ...extra: string[]) =>
  runCli(['policy', 'check', `oci:${join(dir, 'layout')}:${tag}`, '--name', 'demo.oci/app', '--policy', join(dir, 'policy.yaml'), '--no-cache', ...extra]);

describe('tollgate policy check verifies signatures', () => {
  it('allows the image signed by the policy key (0), denies the unsigned one (1) with the reason', async () => {
    const ok = await check('signed');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`pass {2}authority {3}apps/authorities/release: verified key signature by ${publicVerificationKey(key).keyId}`));
    const denied = await check('unsigned', '--json');
    expect(denied.code).toBe(1);
    const verdict = JSON.parse(denied.stdout);
    expect(verdict.decision).toBe('deny');
    expect(verdict.signatureVerification).toBeUndefined();
    expect(verdict.findings.find((f: { name: string }) => f.name === 'apps/authorities/release').reason).toMatch(/no signatures are attached/);
  });

  it('a --trusted-root that is missing or not a trusted root is an error (2), never an allow', async () => {
    const missing = await check('signed', '--trusted-root', join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/trusted root .*nope\.json/);
    const garbage = await check('signed', '--trusted-root', join(dir, 'garbage.json'));
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/trusted root/);
  });

  it('asks TUF for the Sigstore root only when the governing rule needs it', async () => {
    const keyless = join(dir, 'keyless.yaml');
    await writeFile(
      keyless,
      `${HEADER}rules:\n  - name: apps\n    images: ["demo.oci/**"]\n    authorities: [{name: release, key: {file: keys/cosign.pub}, transparencyLog: ignore}]\n  - name: ci\n    images: ["demo.oci/ci/**"]\n    authorities: [{name: ci, keyless: {issuer: "https://issuer.example", subject: "ci@example.com"}}]\n`,
    );
    const data = await mkdtemp(join(dir, 'data-'));
    const run = (name: string, ...extra: string[]) =>
      runCli(['policy', 'check', `oci:${join(dir, 'layout')}:signed`, '--name', name, '--policy', keyless, '--no-cache', ...extra], { env: { TOLLGATE_DATA: data } });
    // Governed by the key rule: no trusted root is needed, so none is fetched (no TUF cache appears).
    const keyed = await run('demo.oci/app');
    expect(keyed.code).toBe(0);
    expect(keyed.stderr).toBe('');
    await expect(readdir(data)).resolves.toEqual([]);
    // Governed by the keyless rule, offline: the embedded root, no request, no notice; the image is not keyless-signed.
    const offline = await run('demo.oci/ci/app', '--offline');
    expect(offline.stderr).toBe('');
    expect(offline.code).toBe(1);
    expect(offline.stdout).toMatch(/ci\/authorities\/ci: /);
  });
});

