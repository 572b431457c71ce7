/**
 * sign, attest, verify and verify-attestation on `oci:<dir>` (the built CLI): layouts made by core's builders and by
 * `tollgate copy` from a signed registry image. The layout is hostile input: a flipped layer byte, an altered
 * signature manifest or bundle, and a tag moved to another digest all fail closed (exit 1, the reason printed).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter, referrersTag, REF_NAME_ANNOTATION, type BuiltImage } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';

const otherPub = `-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\nOSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n-----END PUBLIC KEY-----\n`;
const env = { TOLLGATE_PASSWORD: '' };

let work: string;
let key: string;
let pub: string;
let wrongPub: string;
/** A layout holding v1 (signed below) and v2 (never signed). */
let signedLayout: string;
let v1: BuiltImage;
let v2: BuiltImage;

const verify = (ref: string, ...extra: string[]) => runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', ...extra]);

/** A private copy of the signed layout to tamper with. */
async function copyOfSigned(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(signedLayout, dir, { recursive: true });
  return dir;
}

function blobFile(dir: string, digest: string): string {
  return join(dir, 'blobs', ...digest.split(':'));
}

async function flipLastByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
  await writeFile(file, bytes);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-layout-sign-'));
  const generated = await runCli(['generate-key-pair'], { cwd: work, env });
  expect(generated.code, generated.stderr).toBe(0);
  key = join(work, 'cosign.key');
  pub = join(work, 'cosign.pub');
  wrongPub = join(work, 'other.pub');
  await writeFile(wrongPub, otherPub);
  signedLayout = join(work, 'signed');
  const writer = await OciLayoutWriter.create(signedLayout);
  v1 = await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'bin/app', content: 'v1\n' }] }, { files: [{ path: 'etc/app.conf', content: 'x=1\n' }] }] });
  v2 = await buildImage(writer, { tag: 'v2', layers: [{ files: [{ path: 'bin/app', content: 'v2\n' }] }] });
  const signed = await runCli(['sign', `oci:${signedLayout}:v1`, '--key', key, '--tlog-upload=false', '-a', 'env=prod'], { env });
  expect(signed.code, signed.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('sign and verify an image in an OCI layout (key, no tlog)', () => {
  it('sign prints the digest it signed and stores the referrer in the sha256-<hex> tag of index.json', async () => {
    const index = JSON.parse(await readFile(join(signedLayout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
    const tags = index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]);
    expect(tags).toEqual(['v1', 'v2', referrersTag(v1.descriptor.digest)]);
    const again = await runCli(['sign', `oci:${signedLayout}@${v1.descriptor.digest}`, '--key', key, '--tlog-upload=false', '--json'], { env });
    expect(again.code, again.stderr).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json).toMatchObject({ signed: `oci:${signedLayout}@${v1.descriptor.digest}`, digest: v1.descriptor.digest, referrer: { fallbackTag: referrersTag(v1.descriptor.digest) } });
    expect(json.referrer.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('verify passes by tag and by digest (text and --json, -a checked), and fails with another key (exit 1, the reason)', async () => {
    const ok = await verify(`oci:${signedLayout}:v1`, '-a', 'env=prod');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(new RegExp(`^Verification for oci:${signedLayout}:v1 \\(${v1.descriptor.digest}\\) --\\nThe following checks were performed`));
    expect(JSON.parse(ok.stdout.trim().split('\n')[0]!)).toMatchObject({ source: 'fallback-tag', predicateType: 'https://sigstore.dev/cosign/sign/v1' });

    const pinned = await verify(`oci:${signedLayout}@${v1.descriptor.digest}`, '--json');
    expect(pinned.code, pinned.stderr).toBe(0);
    const result = JSON.parse(pinned.stdout);
    expect(result).toMatchObject({ verified: true, ok: true, digest: v1.descriptor.digest, kind: 'signature', reasons: [] });
    expect(result.examined.filter((e: { ok: boolean }) => e.ok).length).toBeGreaterThanOrEqual(1);

    const wrongAnnotation = await verify(`oci:${signedLayout}:v1`, '-a', 'env=dev');
    expect(wrongAnnotation.code).toBe(1);

    const wrong = await runCli(['verify', '--offline', `oci:${signedLayout}:v1`, '--key', wrongPub, '--insecure-ignore-tlog']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`^Error: no valid signature for oci:${signedLayout}:v1 \\(${v1.descriptor.digest}\\)`));
    expect(wrong.stderr).toMatch(/- referrer sha256:[0-9a-f]{64} \(fallback-tag\): /);
    const wrongJson = await runCli(['verify', '--offline', `oci:${signedLayout}:v1`, '--key', wrongPub, '--insecure-ignore-tlog', '--json']);
    expect(wrongJson.code).toBe(1);
    expect(JSON.parse(wrongJson.stdout)).toMatchObject({ verified: false, ok: false, digest: v1.descriptor.digest });

    const unsigned = await verify(`oci:${signedLayout}:v2`);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/no signatures are attached to sha256:/);
  });

  it('a layout of one image still names it without a tag after signing added the sha256-<hex> tag', async () => {
    const dir = join(work, 'single');
    await buildImage(await OciLayoutWriter.create(dir), { tag: 'only', layers: [{ files: [{ path: 'a', content: 'a' }] }] });
    const signed = await runCli(['sign', `oci:${dir}`, '--key', key, '--tlog-upload=false'], { env });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stderr).toBe(`Writing signature to: oci:${dir}\n`);
    const ok = await verify(`oci:${dir}`);
    expect(ok.code, ok.stderr).toBe(0);
    const ambiguous = await verify(`oci:${signedLayout}`);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/holds 2 images; name one .* available tags: "v1", "v2"/);
  });

  it('a layer blob with one byte flipped fails closed', async () => {
    const dir = await copyOfSigned('layer-flipped');
    await flipLastByte(blobFile(dir, v1.manifest.layers[1]!.digest));
    const result = await verify(`oci:${dir}:v1`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: no valid signature/);
    expect(result.stderr).toContain(`blob ${v1.manifest.layers[1]!.digest} in OCI layout ${dir} digests to sha256:`);
    const json = JSON.parse((await verify(`oci:${dir}:v1`, '--json')).stdout);
    expect(json.ok).toBe(false);
    // The signature itself still verifies: it is the content that no longer matches what was signed.
    expect(json.examined.some((e: { ok: boolean }) => e.ok)).toBe(true);
  });

  it('a missing layer blob fails closed', async () => {
    const dir = await copyOfSigned('layer-missing');
    await rm(blobFile(dir, v1.manifest.layers[0]!.digest));
    const result = await verify(`oci:${dir}:v1`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not found in OCI layout .*the layout is incomplete/);
  });

  it('an altered signature manifest, an altered bundle and an altered referrers index fail closed', async () => {
    const referrers = JSON.parse(await readFile(join(signedLayout, 'index.json'), 'utf8')).manifests[2].digest as string;
    const listed = JSON.parse(await readFile(blobFile(signedLayout, referrers), 'utf8')) as { manifests: Array<{ digest: string }> };
    const referrer = listed.manifests[0]!.digest;
    const bundle = (JSON.parse(await readFile(blobFile(signedLayout, referrer), 'utf8')) as { layers: Array<{ digest: string }> }).layers[0]!.digest;

    // Every signature the layout holds (two: sign ran twice on v1) is altered the same way in each copy.
    const alterAll = async (dir: string, which: 'manifest' | 'bundle') => {
      for (const { digest } of listed.manifests) {
        const target = which === 'manifest' ? digest : (JSON.parse(await readFile(blobFile(dir, digest), 'utf8')) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
        const file = blobFile(dir, target);
        const text = await readFile(file, 'utf8');
        await writeFile(file, which === 'manifest' ? text.replace('"schemaVersion":2', '"schemaVersion": 2') : text.replace(/"sig":"(.)/, (_m, c: string) => `"sig":"${c === 'A' ? 'B' : 'A'}`));
      }
    };
    const manifestAltered = await copyOfSigned('referrer-altered');
    await alterAll(manifestAltered, 'manifest');
    const m = await verify(`oci:${manifestAltered}:v1`);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`manifest ${referrer} in OCI layout ${manifestAltered} digests to sha256:`);

    const bundleAltered = await copyOfSigned('bundle-altered');
    await alterAll(bundleAltered, 'bundle');
    const b = await verify(`oci:${bundleAltered}:v1`, '--json');
    expect(b.code).toBe(1);
    const bJson = JSON.parse(b.stdout);
    expect(bJson.examined.length).toBe(2);
    expect(bJson.examined.every((e: { ok: boolean }) => !e.ok)).toBe(true);
    expect(JSON.stringify(bJson.examined)).toContain(bundle);

    const indexAltered = await copyOfSigned('referrers-altered');
    await writeFile(blobFile(indexAltered, referrers), (await readFile(blobFile(indexAltered, referrers), 'utf8')).replace(referrer, referrer.replace(/.$/, (c) => (c === '0' ? '1' : '0'))));
    const i = await verify(`oci:${indexAltered}:v1`);
    expect(i.code).toBe(1);
    expect(i.stderr).toMatch(/the referrers of sha256:[0-9a-f]{64} could not be listed .*the layout was altered/);
  });

  it('the tag moved to another digest: the signature of the old digest does not follow it', async () => {
    const dir = await copyOfSigned('tag-moved');
    const indexFile = join(dir, 'index.json');
    const index = JSON.parse(await readFile(indexFile, 'utf8')) as { manifests: Array<{ digest: string; size: number; annotations?: Record<string, string> }> };
    index.manifests[0] = { ...index.manifests[0]!, digest: v2.descriptor.digest, size: v2.descriptor.size };
    index.manifests.splice(1, 1); // v2's own entry: the tag v1 is now the only name of v2
    await writeFile(indexFile, JSON.stringify(index));
    const result = await verify(`oci:${dir}:v1`, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, digest: v2.descriptor.digest, reasons: [`no signatures are attached to ${v2.descriptor.digest}`] });

    // A tag entry whose digest does not match the manifest bytes it leads to is refused outright (a digest mismatch: 1).
    index.manifests[0] = { ...index.manifests[0]!, digest: v1.descriptor.digest, size: v1.descriptor.size };
    await writeFile(blobFile(dir, v1.descriptor.digest), v2.manifestBytes);
    await writeFile(indexFile, JSON.stringify(index));
    const swapped = await verify(`oci:${dir}:v1`);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toMatch(/digests to sha256:[0-9a-f]{64}; the layout was altered/);
  });
});

describe('attest and verify-attestation on a layout', () => {
  it('filemanifest computed from the layout verifies; another type and a signature check fail', async () => {
    const dir = join(work, 'attested');
    await buildImage(await OciLayoutWriter.create(dir), { tag: 'v1', layers: [{ files: [{ path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' }, { path: 'bin/tool', content: '#!/bin/sh\n' }] }] });
    const attested = await runCli(['attest', `oci:${dir}:v1`, '--key', key, '--tlog-upload=false', '--type', 'filemanifest', '--json'], { env });
    expect(attested.code, attested.stderr).toBe(0);
    expect(JSON.parse(attested.stdout)).toMatchObject({ predicateType: 'https://tollgate.dev/attestations/filemanifest/v1' });
    const ok = await runCli(['verify-attestation', '--offline', `oci:${dir}:v1`, '--type', 'filemanifest', '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const statement = JSON.parse(ok.stdout).examined[0].statement;
    expect(Object.keys(statement.predicate.files)).toEqual(['bin/tool', 'etc/passwd']);
    expect(statement.subject[0].name).toBe('v1');
    const wrongType = await runCli(['verify-attestation', '--offline', `oci:${dir}:v1`, '--type', 'spdxjson', '--key', pub, '--insecure-ignore-tlog']);
    expect(wrongType.code).toBe(1);
    const asSignature = await verify(`oci:${dir}:v1`);
    expect(asSignature.code).toBe(1);
  });
});

describe('refusals on layouts', () => {
  it('--legacy, --recursive and --registry-referrers never exit 2 with what to do; a missing layout is not created', async () => {
    const ref = `oci:${signedLayout}:v1`;
    const legacy = await runCli(['sign', ref, '--key', key, '--tlog-upload=false', '--legacy'], { env });
    expect(legacy.code).toBe(2);
    expect(legacy.stderr).toMatch(/--legacy works on registry images only/);
    const recursive = await verify(ref, '--recursive');
    expect(recursive.code).toBe(2);
    expect(recursive.stderr).toMatch(/--recursive works on registry images only; for a layout, verify each manifest by oci:<dir>@<digest>/);
    const never = await runCli(['attest', ref, '--key', key, '--type', 'filemanifest', '--registry-referrers', 'never'], { env });
    expect(never.code).toBe(2);
    const missing = join(work, 'no-such-layout');
    const absent = await runCli(['sign', `oci:${missing}:v1`, '--key', key, '--tlog-upload=false'], { env });
    expect(absent.code).toBe(2);
    expect(existsSync(missing)).toBe(false);
    // Transports that hold no signatures are still refused.
    const archive = await runCli(['verify', '--offline', `docker-archive:${join(work, 'x.tar')}`, '--key', pub]);
    expect(archive.code).toBe(2);
    expect(archive.stderr).toMatch(/docker-archive: references cannot carry signatures/);
  });
});

describe('with a registry and Sigstore', () => {
  let registry: RunningRegistry;
  let sigstore: SigstoreMock;
  beforeAll(async () => {
    [registry, sigstore] = await Promise.all([startRegistry(), startSigstoreMock()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([registry?.stop(), sigstore?.stop()]);
  });

  it('a layout written by tollgate copy from a signed registry image verifies (referrer and legacy .sig)', async () => {
    const digest = await pushTestImage(registry, 'air/app:v1', { 'bin/app': 'copied' });
    const ref = `${registry.host}/air/app:v1`;
    expect((await runCli(['sign', ref, '--key', key, '--tlog-upload=false'], { env })).code).toBe(0);
    expect((await runCli(['sign', ref, '--key', key, '--tlog-upload=false', '--legacy'], { env })).code).toBe(0);
    const dir = join(work, 'copied');
    const copied = await runCli(['copy', ref, `oci:${dir}:v1`]);
    expect(copied.code, copied.stderr).toBe(0);
    const result = await verify(`oci:${dir}:v1`, '--json');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.digest).toBe(digest);
    const sources = json.examined.filter((e: { ok: boolean }) => e.ok).map((e: { source: string }) => e.source).sort();
    expect(sources).toEqual(['fallback-tag', 'legacy-tag']);
    expect((await runCli(['verify', '--offline', `oci:${dir}:v1`, '--key', wrongPub, '--insecure-ignore-tlog'])).code).toBe(1);
  });

  it('what sign writes into a layout, tollgate copy carries to a registry, where it verifies', async () => {
    const dir = await copyOfSigned('to-registry');
    const copied = await runCli(['copy', `oci:${dir}:v1`, `${registry.host}/from/layout:v1`]);
    expect(copied.code, copied.stderr).toBe(0);
    const result = await runCli(['verify', '--offline', `${registry.host}/from/layout:v1`, '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).digest).toBe(v1.descriptor.digest);
  });

  it('keyless: signs a layout with an identity token (Fulcio, Rekor, TSA) and verifies it with the identity', async () => {
    const dir = join(work, 'keyless');
    await buildImage(await OciLayoutWriter.create(dir), { tag: 'v1', layers: [{ files: [{ path: 'bin/app', content: 'keyless' }] }] });
    const root = join(work, 'trusted_root.json');
    await writeFile(root, sigstore.trustedRootJson);
    const token = join(work, 'token.jwt');
    await writeFile(token, sigstore.mintToken('ci@example.com'));
    const services = ['--fulcio-url', sigstore.fulcioUrl, '--rekor-url', sigstore.rekorUrl, '--tsa-url', sigstore.tsaUrl];
    const signed = await runCli(['sign', `oci:${dir}:v1`, '--identity-token', `@${token}`, ...services]);
    expect(signed.code, signed.stderr).toBe(0);
    const ok = await runCli(['verify', `oci:${dir}:v1`, '--trusted-root', root, '--certificate-identity', 'ci@example.com', '--certificate-oidc-issuer', sigstore.issuer]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/transparency log was verified offline/);
    const wrong = await runCli(['verify', `oci:${dir}:v1`, '--trusted-root', root, '--certificate-identity', 'ci@example.co', '--certificate-oidc-issuer', sigstore.issuer]);
    expect(wrong.code).toBe(1);
  });
});
