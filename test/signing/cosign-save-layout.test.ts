/**
 * verify, verify-attestation and the proxy's `oci:` upstream on layouts laid out as `cosign save` writes them. There
 * is no cosign binary here and no cosign-saved layout among the shared fixtures, so the test builds them: the
 * structure follows cosign's pkg/oci/layout/write.go as read at sigstore/cosign commit
 * 07ede865bda60679a4f90facefcfe3df96ff8502 (WriteSignedImage: an empty OCI index, then the image, its signatures
 * image and its attestations image appended in that order, each index.json entry annotated only with
 * `kind: dev.cosignproject.cosign/{image,sigs,atts}`; the later cosign/v3 write.go keeps that and adds the entry's
 * artifactType, falling back to the config media type, as written here) and the reading side in index.go
 * (2ccb878da6aa5087c9bf5fd9ba8f9bd0539357dc: the first `imageIndex` else `image` entry is the signed entity, the
 * first `sigs`/`atts` entry its signatures). The signature bytes are real: `tollgate sign --legacy` and
 * `tollgate attest --legacy` on a registry image with a key from `tollgate generate-key-pair`; the `.sig`/`.att`
 * images they push are exactly what cosign's `se.Signatures()`/`Attestations()` read, and are moved into the layout
 * as its `sigs`/`atts` images. Hostile variants (a `kind` entry on another image's manifest, two `sigs` entries, a
 * `sigs` entry whose manifest is missing, huge and garbage annotations) fail closed in one line.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { legacyTag, RegistryClient } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { copyBlobs as copyBlobsOf, entry, KIND, layoutFrom, readManifest as readManifestOf, SIGNATURE_ANNOTATION, withAnnotations, writeLayout, type Saved } from './support/cosign-save.js';

const otherPub = `-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\nOSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n-----END PUBLIC KEY-----\n`;
const env = { TOLLGATE_PASSWORD: '' };

let registry: RunningRegistry;
let client: RegistryClient;
let work: string;
let pub: string;
let wrongPub: string;
/** Two images in the registry: `a` signed and attested (--legacy), `b` signed only. */
let a: { digest: string; image: Saved; sigs: Saved; atts: Saved };
let b: { digest: string; image: Saved; sigs: Saved };
/** A cosign-save layout of `a`: image, sigs, atts. */
let savedA: string;

const readManifest = (repository: string, reference: string) => readManifestOf(client, repository, reference);
const copyBlobs = (repository: string, saved: Saved, dir: string) => copyBlobsOf(client, repository, saved, dir);
/** A fresh layout directory holding the blobs of everything in the registry fixture, and the given index.json. */
const layout = (name: string, entries: Array<Record<string, unknown>>) => layoutFrom(join(work, 'all-blobs'), join(work, name), entries);

const verify = (ref: string, ...extra: string[]) => runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', ...extra]);

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host, { retries: 0 });
  work = await mkdtemp(join(tmpdir(), 'tollgate-cosign-save-'));
  expect((await runCli(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
  pub = join(work, 'cosign.pub');
  wrongPub = join(work, 'other.pub');
  await writeFile(wrongPub, otherPub);
  const key = join(work, 'cosign.key');

  const digestA = await pushTestImage(registry, 'saved/a:v1', { 'bin/app': 'a\n' });
  const digestB = await pushTestImage(registry, 'saved/b:v1', { 'bin/app': 'b\n' });
  const sign = async (ref: string, ...extra: string[]) => {
    const result = await runCli([...extra, ref, '--key', key, '--tlog-upload=false', '--legacy'], { env });
    expect(result.code, result.stderr).toBe(0);
  };
  await sign(`${registry.host}/saved/a@${digestA}`, 'sign');
  await sign(`${registry.host}/saved/a@${digestA}`, 'attest', '--type', 'filemanifest');
  await sign(`${registry.host}/saved/b@${digestB}`, 'sign');
  a = {
    digest: digestA,
    image: await readManifest('saved/a', digestA),
    sigs: await readManifest('saved/a', legacyTag(digestA, 'sig')),
    atts: await readManifest('saved/a', legacyTag(digestA, 'att')),
  };
  b = { digest: digestB, image: await readManifest('saved/b', digestB), sigs: await readManifest('saved/b', legacyTag(digestB, 'sig')) };
  // Every blob of both images and their signatures, for the layouts below to pick their index.json entries from.
  const all = join(work, 'all-blobs');
  for (const saved of [a.image, a.sigs, a.atts]) await copyBlobs('saved/a', saved, all);
  for (const saved of [b.image, b.sigs]) await copyBlobs('saved/b', saved, all);
  savedA = await layout('saved-a', [entry(a.image, KIND.image), entry(a.sigs, KIND.sigs), entry(a.atts, KIND.atts)]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a layout as cosign save writes it', () => {
  it('verify passes (text and --json), by oci:<dir> (the image cosign picks) and by digest; the signature comes from the sigs entry', async () => {
    const text = await verify(`oci:${savedA}`);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`^Verification for oci:${savedA} \\(${a.digest}\\) --\\nThe following checks were performed`));
    const json = await verify(`oci:${savedA}@${a.digest}`, '--json');
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ verified: true, ok: true, digest: a.digest, kind: 'signature', reasons: [] });
    const used = result.examined.filter((e: { ok: boolean }) => e.ok);
    expect(used).toHaveLength(1);
    expect(used[0]).toMatchObject({ source: 'legacy-tag', id: 'cosign save sigs entry layer 0' });
  });

  it('verify-attestation passes from the atts entry; another predicate type finds none (exit 1)', async () => {
    const ok = await runCli(['verify-attestation', '--offline', `oci:${savedA}`, '--type', 'filemanifest', '--key', pub, '--insecure-ignore-tlog', '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, digest: a.digest });
    const other = await runCli(['verify-attestation', '--offline', `oci:${savedA}`, '--type', 'slsaprovenance1', '--key', pub, '--insecure-ignore-tlog']);
    expect(other.code).toBe(1);
  });

  it('another key → exit 1, the cosign save entry named in the reason', async () => {
    const wrong = await runCli(['verify', '--offline', `oci:${savedA}`, '--key', wrongPub, '--insecure-ignore-tlog']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`^Error: no valid signature for oci:${savedA} \\(${a.digest}\\)`));
    expect(wrong.stderr).toMatch(/- cosign save sigs entry layer 0 \(legacy-tag\): /);
  });

  it('a tampered signature → exit 1: a changed signature annotation (index.json updated to match), a flipped payload byte', async () => {
    const dir = join(work, 'tampered-annotation');
    await cp(savedA, dir, { recursive: true });
    const forged = await withAnnotations(dir, a.sigs, (annotations) => {
      const signature = Buffer.from(annotations[SIGNATURE_ANNOTATION]!, 'base64');
      signature[signature.length - 1] = signature[signature.length - 1]! ^ 0x01;
      annotations[SIGNATURE_ANNOTATION] = signature.toString('base64');
    });
    await writeLayout(dir, [entry(a.image, KIND.image), entry(forged, KIND.sigs)]);
    expect((await verify(`oci:${dir}`)).code).toBe(1);

    const flipped = join(work, 'tampered-payload');
    await cp(savedA, flipped, { recursive: true });
    const payload = join(flipped, 'blobs', 'sha256', a.sigs.manifest.layers[0]!.digest.slice(7));
    const bytes = await readFile(payload);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
    await writeFile(payload, bytes);
    const result = await verify(`oci:${flipped}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cosign save sigs entry layer 0 \(legacy-tag\): .*digest/);
  });

  it('a sigs entry naming another image is not used: not for the image cosign picks, not for the one it signs', async () => {
    // b's signatures saved beside a: the payload names b, the layout's entity is a.
    const dir = await layout('sigs-of-b', [entry(a.image, KIND.image), entry(b.sigs, KIND.sigs)]);
    const result = await verify(`oci:${dir}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`no valid signature for oci:${dir} \\(${a.digest}\\)`));
    // b is in the layout (untagged) but is not the entity the sigs entry belongs to.
    const forB = await verify(`oci:${dir}@${b.digest}`);
    expect(forB.code).toBe(1);
    expect(forB.stderr).toMatch(/no signatures are attached to sha256:/);
  });

  it('several images: the signatures belong to the one cosign picks (first image entry), only to it', async () => {
    const dir = await layout('two-images', [entry(a.image, KIND.image), entry(b.image, KIND.image), entry(a.sigs, KIND.sigs)]);
    expect((await verify(`oci:${dir}`)).code).toBe(0);
    expect((await verify(`oci:${dir}@${a.digest}`)).code).toBe(0);
    expect((await verify(`oci:${dir}@${b.digest}`)).code).toBe(1);
    // The kind entry moved to another image's manifest: that image is the entity, a's signatures do not name it.
    const moved = await layout('image-entry-moved', [entry(b.image, KIND.image), entry(a.sigs, KIND.sigs)]);
    const result = await verify(`oci:${moved}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`\\(${b.digest}\\)`));
    expect((await verify(`oci:${moved}@${a.digest}`)).code).toBe(1);
  });

  it('a sigs entry on an image manifest (not a signatures image) → exit 1, its layers refused by media type', async () => {
    const dir = await layout('sigs-on-image', [entry(a.image, KIND.image), entry(b.image, KIND.sigs)]);
    const result = await verify(`oci:${dir}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cosign save sigs entry layer 0 \(legacy-tag\): layer media type is .*, not application\/vnd\.dev\.cosign\.simplesigning\.v1\+json/);
  });

  it('two sigs entries for the image → exit 1, refused as ambiguous in one line (neither read)', async () => {
    const dir = await layout('two-sigs', [entry(a.image, KIND.image), entry(a.sigs, KIND.sigs), entry(b.sigs, KIND.sigs)]);
    const result = await verify(`oci:${dir}`);
    expect(result.code).toBe(1);
    const line = result.stderr.split('\n').find((l) => l.includes('entries of kind'));
    expect(line).toMatch(/has 2 entries of kind dev\.cosignproject\.cosign\/sigs; cosign save writes one, so which holds the signatures is ambiguous: refused/);
  });

  it('a sigs entry for a manifest not in the layout → exit 1, said in one line; a wrong size in its descriptor too', async () => {
    const missing = { ...entry(a.sigs, KIND.sigs), digest: `sha256:${'5'.repeat(64)}` };
    const dir = await layout('sigs-missing', [entry(a.image, KIND.image), missing]);
    const result = await verify(`oci:${dir}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the cosign save sigs entry sha256:5{64} of index\.json in .* names a manifest that is not in blobs\/; the layout is incomplete/);
    const resized = await layout('sigs-resized', [entry(a.image, KIND.image), { ...entry(a.sigs, KIND.sigs), size: a.sigs.size + 1 }]);
    const wrongSize = await verify(`oci:${resized}`);
    expect(wrongSize.code).toBe(1);
    expect(wrongSize.stderr).toMatch(/declares \d+ bytes, but the manifest is \d+; the layout was altered/);
  });

  it('huge and garbage annotations fail closed with short output', async () => {
    // A 3 MiB signature annotation (the manifest stays under the 4 MiB limit): not a signature.
    const dir = join(work, 'huge-annotation');
    await cp(savedA, dir, { recursive: true });
    const huge = await withAnnotations(dir, a.sigs, (annotations) => {
      annotations[SIGNATURE_ANNOTATION] = 'A'.repeat(3 * 1024 * 1024);
      annotations['dev.sigstore.cosign/certificate'] = '\u0000garbage\n-----BEGIN CERTIFICATE-----\nnope';
    });
    await writeLayout(dir, [entry(a.image, KIND.image), entry(huge, KIND.sigs)]);
    const result = await verify(`oci:${dir}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/- cosign save sigs entry layer 0 \(legacy-tag\): /);
    expect(result.stderr.length).toBeLessThan(4000);

    // A kind annotation cosign does not write, huge: not one of cosign's entries, so the layout has two plain images.
    const odd = await layout('odd-kind', [entry(a.image, KIND.image), entry(a.sigs, 'x'.repeat(1024 * 1024))]);
    const oddResult = await verify(`oci:${odd}`);
    expect(oddResult.code).toBe(1);
    expect(oddResult.stderr).toMatch(/no signatures are attached to sha256:/);
    expect(oddResult.stderr.length).toBeLessThan(4000);

    // A non-string annotation value: index.json is refused as a whole (exit 2, one line).
    const garbage = await layout('garbage-annotation', [entry(a.image, KIND.image), { ...entry(a.sigs, KIND.sigs), annotations: { kind: { nested: true } } }]);
    const garbageResult = await verify(`oci:${garbage}`);
    expect(garbageResult.code).toBe(2);
    expect(garbageResult.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the proxy serving a cosign save layout (oci: upstream, key policy)', () => {
  let proxy: RunningProxy;
  let tampered: string;
  /** The image's name as the signatures give it: the layouts are declared mirrors of the registry it was saved from. */
  const name = () => `${registry.host}/saved/a`;

  beforeAll(async () => {
    tampered = await layout('proxy-wrong-sigs', [entry(a.image, KIND.image), entry(b.sigs, KIND.sigs)]);
    await writeFile(
      join(work, 'policy.yaml'),
      `apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\nrules:\n  - name: signed\n    images: ["**"]\n    authorities:\n      - name: release\n        key: {pem: ${JSON.stringify(await readFile(pub, 'utf8'))}}\n        transparencyLog: ignore\n`,
    );
    const upstreams = [
      { name: 'saved', oci: savedA, registry: registry.host, default: true },
      { name: 'wrong', oci: tampered, registry: registry.host, prefix: 'wrong' },
    ];
    const config = normalizeProxyConfig({ dataDir: work, upstreams, gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
    const gate = (await loadGate(config.gate, config.upstreams))!;
    proxy = await startProxy({ gate, upstreams });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
  });

  const get = (path: string) => fetch(`${proxy.url}/v2/${path}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });

  it('admits the saved image by digest (its sigs entry verifies) and refuses it where the sigs entry signs another image', async () => {
    const ok = await get(`saved/a/manifests/${a.digest}`);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(Buffer.from(a.image.bytes))).toBe(true);
    const refused = await get(`wrong/saved/a/manifests/${a.digest}`);
    expect(refused.status).toBe(403);
    await refused.arrayBuffer();
  });

  it('policy check oci:<dir> reads the same signatures (the image named as cosign names it)', async () => {
    const checked = await runCli(['policy', 'check', `oci:${savedA}`, '--name', name(), '--policy', join(work, 'policy.yaml'), '--no-cache']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const wrong = await runCli(['policy', 'check', `oci:${tampered}`, '--name', name(), '--policy', join(work, 'policy.yaml'), '--no-cache']);
    expect(wrong.code, wrong.stdout + wrong.stderr).toBe(1);
    expect(wrong.stdout).toMatch(/the signed payload names manifest sha256:[0-9a-f]{64}, not sha256:/);
  });
});
