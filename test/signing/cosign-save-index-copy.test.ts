/**
 * Two paths of a `cosign save` layout (built as in ./support/cosign-save.ts, from real `tollgate sign/attest
 * --legacy` signatures): a saved image index — the `imageIndex` entry is the signed entity, its platform manifests
 * (blobs only, as cosign writes them) get none of its signatures, `verify --recursive` on a layout is refused as
 * for any layout — and `tollgate copy` out of such a layout, to a registry and to another layout, carrying the
 * signatures and attestations as `.sig`/`.att` tags, so that verify passes at the destination. For the registry
 * copy, the source images and their signatures are deleted from the registry after the layouts are saved (the
 * legacy payload names the repository, so the copy goes back to the same name): what verify then finds there,
 * copy wrote.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyTag, MediaType, RegistryClient } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { pushTestImage } from '../../packages/core/test/signing/helpers.js';
import { copyBlobs, entry, KIND, readManifest, writeLayout, type Saved } from './support/cosign-save.js';

const env = { TOLLGATE_PASSWORD: '' };

let registry: RunningRegistry;
let client: RegistryClient;
let work: string;
let key: string;
let pub: string;
/** An image index of two platforms in saved/multi, signed and attested (--legacy) as a whole; its platforms unsigned. */
let multi: { digest: string; platforms: string[]; index: Saved; sigs: Saved; atts: Saved };
/** A single image in saved/one, signed and attested (--legacy). */
let one: { digest: string; image: Saved; sigs: Saved; atts: Saved };
let savedMulti: string;
let savedOne: string;

const verify = (ref: string, ...extra: string[]) => runCli(['verify', '--offline', ref, '--key', pub, '--insecure-ignore-tlog', ...extra]);
const verifyAttestation = (ref: string) => runCli(['verify-attestation', '--offline', ref, '--type', 'filemanifest', '--key', pub, '--insecure-ignore-tlog']);

async function signAndAttest(ref: string): Promise<void> {
  for (const command of [['sign'], ['attest', '--type', 'filemanifest']]) {
    const result = await runCli([...command, ref, '--key', key, '--tlog-upload=false', '--legacy'], { env });
    expect(result.code, result.stderr).toBe(0);
  }
}

/** A cosign save layout in `work/<name>`: the entries' trees in blobs/, the entries in index.json. */
async function save(name: string, repository: string, entries: Array<[Saved, string]>): Promise<string> {
  const dir = join(work, name);
  for (const [saved] of entries) await copyBlobs(client, repository, saved, dir);
  await writeLayout(dir, entries.map(([saved, kind]) => entry(saved, kind)));
  return dir;
}

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host, { retries: 0 });
  work = await mkdtemp(join(tmpdir(), 'tollgate-cosign-save-copy-'));
  expect((await runCli(['generate-key-pair'], { cwd: work, env })).code).toBe(0);
  key = join(work, 'cosign.key');
  pub = join(work, 'cosign.pub');

  const amd64 = await pushTestImage(registry, 'saved/multi:amd64', { 'bin/app': 'amd64\n' });
  const arm64 = await pushTestImage(registry, 'saved/multi:arm64', { 'bin/app': 'arm64\n' });
  const children = await Promise.all([amd64, arm64].map((digest) => readManifest(client, 'saved/multi', digest)));
  const platforms = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const indexBytes = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: platforms[i] })),
  }));
  const indexDigest = await client.putManifest('saved/multi', 'v1', indexBytes, MediaType.OciIndex);
  await signAndAttest(`${registry.host}/saved/multi@${indexDigest}`);
  multi = {
    digest: indexDigest,
    platforms: [amd64, arm64],
    index: await readManifest(client, 'saved/multi', indexDigest),
    sigs: await readManifest(client, 'saved/multi', legacyTag(indexDigest, 'sig')),
    atts: await readManifest(client, 'saved/multi', legacyTag(indexDigest, 'att')),
  };
  savedMulti = await save('saved-multi', 'saved/multi', [[multi.index, KIND.imageIndex], [multi.sigs, KIND.sigs], [multi.atts, KIND.atts]]);

  const digest = await pushTestImage(registry, 'saved/one:v1', { 'bin/app': 'one\n' });
  await signAndAttest(`${registry.host}/saved/one@${digest}`);
  one = {
    digest,
    image: await readManifest(client, 'saved/one', digest),
    sigs: await readManifest(client, 'saved/one', legacyTag(digest, 'sig')),
    atts: await readManifest(client, 'saved/one', legacyTag(digest, 'att')),
  };
  savedOne = await save('saved-one', 'saved/one', [[one.image, KIND.image], [one.sigs, KIND.sigs], [one.atts, KIND.atts]]);

  // The registry forgets both (the manifests, and with them their tags): only the layouts hold them now.
  for (const [repository, digests] of [
    ['saved/multi', [multi.digest, multi.sigs.digest, multi.atts.digest, ...multi.platforms]],
    ['saved/one', [one.digest, one.sigs.digest, one.atts.digest]],
  ] as const) {
    for (const d of digests) await client.deleteManifest(repository, d);
  }
  expect((await verify(`${registry.host}/saved/multi@${multi.digest}`)).code).not.toBe(0);
  expect((await verify(`${registry.host}/saved/one@${one.digest}`)).code).not.toBe(0);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a cosign save layout of an image index', () => {
  it('verify passes for the index (oci:<dir> names it, and by digest); verify-attestation from the atts entry', async () => {
    const text = await verify(`oci:${savedMulti}`);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`^Verification for oci:${savedMulti} \\(${multi.digest}\\) --`));
    const json = await verify(`oci:${savedMulti}@${multi.digest}`, '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: true, digest: multi.digest });
    const attested = await verifyAttestation(`oci:${savedMulti}`);
    expect(attested.code, attested.stdout + attested.stderr).toBe(0);
  });

  it('--recursive is refused on the layout (exit 2), as on any layout: each manifest is named by oci:<dir>@<digest>', async () => {
    const result = await verify(`oci:${savedMulti}`, '--recursive');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--recursive works on registry images only; for a layout, verify each manifest by oci:<dir>@<digest>/);
  });

  it("a platform manifest of the index is not given the index's signatures (exit 1)", async () => {
    for (const platform of multi.platforms) {
      const result = await verify(`oci:${savedMulti}@${platform}`);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/no signatures are attached to sha256:/);
    }
  });
});

describe('tollgate copy out of a cosign save layout', () => {
  it('to a registry: the image or index, its signatures and attestations land; verify and verify-attestation pass there', async () => {
    for (const [dir, repository, digest] of [[savedOne, 'saved/one', one.digest], [savedMulti, 'saved/multi', multi.digest]] as const) {
      const copied = await runCli(['copy', `oci:${dir}`, `${registry.host}/${repository}:copied`, '--json']);
      expect(copied.code, copied.stderr).toBe(0);
      const result = JSON.parse(copied.stdout);
      expect(result.digest).toBe(digest);
      expect(result.attachments.map((x: { kind: string; tag: string }) => [x.kind, x.tag]).sort()).toEqual([
        ['att', legacyTag(digest, 'att')],
        ['sig', legacyTag(digest, 'sig')],
      ]);
      const ref = `${registry.host}/${repository}@${digest}`;
      const verified = await verify(ref);
      expect(verified.code, verified.stderr).toBe(0);
      const attested = await verifyAttestation(ref);
      expect(attested.code, attested.stdout + attested.stderr).toBe(0);
    }
    // The index's platforms were copied, without signatures of their own.
    const platform = await verify(`${registry.host}/saved/multi@${multi.platforms[0]}`);
    expect(platform.code, platform.stderr).toBe(1);
  });

  it('to another layout: verify and verify-attestation pass on the copy (tagged .sig/.att there); a platform still has none', async () => {
    for (const [dir, digest] of [[savedOne, one.digest], [savedMulti, multi.digest]] as const) {
      const other = join(work, `copy-of-${digest.slice(7, 19)}`);
      const copied = await runCli(['copy', `oci:${dir}`, `oci:${other}:v1`]);
      expect(copied.code, copied.stderr).toBe(0);
      const verified = await verify(`oci:${other}:v1`, '--json');
      expect(verified.code, verified.stderr).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ verified: true, digest });
      const attested = await verifyAttestation(`oci:${other}:v1`);
      expect(attested.code, attested.stdout + attested.stderr).toBe(0);
    }
    const platform = await verify(`oci:${join(work, `copy-of-${multi.digest.slice(7, 19)}`)}@${multi.platforms[1]}`);
    expect(platform.code, platform.stderr).toBe(1);
  });
});
