import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';

const otherPub = `-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\nOSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n-----END PUBLIC KEY-----\n`;
const env = { TOLLGATE_PASSWORD: '' };

let registry: RunningRegistry;
let sigstore: SigstoreMock;
let dir: string;
let cosignKey: string;
let pub: string;
let wrongPub: string;

beforeAll(async () => {
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  dir = mkdtempSync(join(tmpdir(), 'tollgate-sign-cli-'));
  // A cosign-format key pair (empty password) written by tollgate itself.
  const generated = await runCli(['generate-key-pair'], { cwd: dir, env });
  expect(generated.code, generated.stderr).toBe(0);
  cosignKey = join(dir, 'cosign.key');
  pub = join(dir, 'cosign.pub');
  wrongPub = join(dir, 'other.pub');
  writeFileSync(wrongPub, otherPub);
}, 60_000);

afterAll(async () => {
  await Promise.all([registry?.stop(), sigstore?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('tollgate sign / verify (keyed, no tlog)', () => {
  it('signs, verifies (0), rejects another key (1) with the reason, and --json prints the structured result', async () => {
    const digest = await pushTestImage(registry, 'cli/app:v1', { 'bin/app': 'v1' });
    const ref = `${registry.host}/cli/app:v1`;
    const signed = await runCli(['sign', ref, '--key', cosignKey, '--tlog-upload=false', '-a', 'env=prod'], { env });
    expect(signed.stderr).toBe('Pushing signature to: ' + `${registry.host}/cli/app\n`);
    expect(signed.code).toBe(0);
    expect(signed.stdout.trim()).toBe(`${registry.host}/cli/app@${digest}`);

    const ok = await runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', '-a', 'env=prod']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/^Verification for .* --\nThe following checks were performed/);
    expect(JSON.parse(ok.stdout.trim().split('\n')[0]!).predicateType).toBe('https://sigstore.dev/cosign/sign/v1');

    const bad = await runCli(['verify', '--offline', ref, '--key', wrongPub, '--insecure-ignore-tlog']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no valid signature/);
    expect(bad.stderr).toMatch(/- referrer sha256:[0-9a-f]{64} \(fallback-tag\): /);

    const json = await runCli(['verify', '--offline', ref, '--key', wrongPub, '--insecure-ignore-tlog', '--json']);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ verified: false, ok: false, digest, kind: 'signature' });
    expect(result.examined[0].reasons.length).toBe(1);

    const noTlog = await runCli(['verify', '--offline', ref, '--key', pub]);
    expect(noTlog.code).toBe(1);
    expect(noTlog.stderr).toMatch(/no transparency log entry/);
  });

  it('--legacy writes sha256-<hex>.sig, which verify reads', async () => {
    const digest = await pushTestImage(registry, 'cli/legacy:v1', { 'bin/app': 'legacy' });
    const ref = `${registry.host}/cli/legacy:v1`;
    const signed = await runCli(['sign', ref, '--key', cosignKey, '--tlog-upload=false', '--legacy', '--json'], { env });
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    expect(JSON.parse(signed.stdout).legacyTag).toBe(`sha256-${digest.slice(7)}.sig`);
    const ok = await runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result.examined[0]).toMatchObject({ ok: true, source: 'legacy-tag', format: 'legacy' });
    expect(result.examined[0].payload.critical.image['docker-manifest-digest']).toBe(digest);
  });

  it('attest + verify-attestation: the type asked for passes, another type fails', async () => {
    await pushTestImage(registry, 'cli/attested:v1', { 'bin/app': 'attested' });
    const ref = `${registry.host}/cli/attested:v1`;
    const predicate = join(dir, 'provenance.json');
    writeFileSync(predicate, JSON.stringify({ buildDefinition: { buildType: 'test' } }));
    const attested = await runCli(['attest', ref, '--key', cosignKey, '--tlog-upload=false', '--type', 'slsaprovenance1', '--predicate', predicate], { env });
    expect(attested.code).toBe(0);
    const ok = await runCli(['verify-attestation', '--offline', ref, '--type', 'slsaprovenance1', '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).examined[0].statement.predicate).toEqual({ buildDefinition: { buildType: 'test' } });
    const wrongType = await runCli(['verify-attestation', '--offline', ref, '--type', 'spdxjson', '--key', pub, '--insecure-ignore-tlog']);
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/predicate type is "https:\/\/slsa.dev\/provenance\/v1", not https:\/\/spdx.dev\/Document/);
    // An attestation is not a signature.
    const asSignature = await runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog']);
    expect(asSignature.code).toBe(1);
  });

  it('attest --type filemanifest computes the merged file index, and it verifies', async () => {
    await pushTestImage(registry, 'cli/files:v1', { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'bin/tool': '#!/bin/sh\n' });
    const ref = `${registry.host}/cli/files:v1`;
    const attested = await runCli(['attest', ref, '--key', cosignKey, '--tlog-upload=false', '--type', 'filemanifest'], { env });
    expect(attested.code).toBe(0);
    const ok = await runCli(['verify-attestation', '--offline', ref, '--type', 'filemanifest', '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(ok.code).toBe(0);
    const predicate = JSON.parse(ok.stdout).examined[0].statement.predicate;
    expect(Object.keys(predicate.files)).toEqual(['bin/tool', 'etc/passwd']);
    expect(predicate.files['etc/passwd']).toMatchObject({ type: 'file', uid: 0, gid: 0, size: 26 });
    expect(predicate.files['etc/passwd'].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('usage errors exit 2', async () => {
    const ref = `${registry.host}/cli/app:v1`;
    expect((await runCli(['verify', '--offline', ref])).code).toBe(2);
    expect((await runCli(['verify', '--offline', ref, '--key', pub, '--certificate-identity', 'a', '--certificate-oidc-issuer', 'b'])).code).toBe(2);
    expect((await runCli(['sign', ref])).code).toBe(2);
    expect((await runCli(['attest', ref, '--key', cosignKey, '--type', 'nonsense'], { env })).code).toBe(2);
    expect((await runCli(['verify', '--offline', `oci:${dir}:x`, '--key', pub])).code).toBe(2);
  });
});

describe('tollgate sign / verify keyless against @sigstore/mock', () => {
  it('signs with an identity token and verifies with --trusted-root and the identity; a wrong identity exits 1', async () => {
    await pushTestImage(registry, 'cli/keyless:v1', { 'bin/app': 'keyless' });
    const ref = `${registry.host}/cli/keyless:v1`;
    const root = join(dir, 'trusted_root.json');
    writeFileSync(root, sigstore.trustedRootJson);
    const token = join(dir, 'token.jwt');
    writeFileSync(token, sigstore.mintToken('ci@example.com'));
    const services = ['--fulcio-url', sigstore.fulcioUrl, '--rekor-url', sigstore.rekorUrl, '--tsa-url', sigstore.tsaUrl];
    const signed = await runCli(['sign', ref, '--identity-token', `@${token}`, ...services]);
    expect(signed.stderr).toMatch(/Pushing signature/);
    expect(signed.code).toBe(0);
    const ok = await runCli(['verify', ref, '--trusted-root', root, '--certificate-identity', 'ci@example.com', '--certificate-oidc-issuer', sigstore.issuer]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/transparency log was verified offline/);
    const wrong = await runCli(['verify', ref, '--trusted-root', root, '--certificate-identity', 'ci@example.co', '--certificate-oidc-issuer', sigstore.issuer]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/certificate identity "ci@example.com" does not match "ci@example.co"/);
    const attested = await runCli(['attest', ref, '--identity-token', `@${token}`, ...services, '--type', 'filemanifest']);
    expect(attested.code).toBe(0);
    const att = await runCli(['verify-attestation', ref, '--type', 'filemanifest', '--trusted-root', root, '--certificate-identity-regexp', 'ci@example\\.com', '--certificate-oidc-issuer', sigstore.issuer]);
    expect(att.code).toBe(0);
  });
});
