/**
 * `tollgate tree` and `tollgate download signature|attestation` on an image in a real docker-registry carrying
 * every kind of attachment: a cosign v3 signature and attestations (referrers tag schema), a legacy `.sig` and
 * `.att`, a legacy `.sbom`, an SPDX SBOM referrer, a notation-like signature, another referrer — and on images
 * carrying nothing or junk.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, legacyTag, MediaType, type Descriptor } from '@tollgate/core';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { clientFor, pushTestImage } from '../../packages/core/test/signing/helpers.js';
import { pushNotationSignature } from '../../packages/core/test/notation/registry-helpers.js';

const env = { TOLLGATE_PASSWORD: '' };
const SLSA = 'https://slsa.dev/provenance/v1';
const SCAN = 'https://example.com/scan/v1';
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';

let registry: RunningRegistry;
let work: string;
let key: string;
let ref: string;
let digest: string;
let bare: string;
const attached: Record<string, string> = {};

async function subjectOf(repository: string, reference: string): Promise<Descriptor> {
  const raw = await clientFor(registry).getManifest(repository, reference);
  return { mediaType: raw.mediaType!, digest: raw.digest, size: raw.bytes.byteLength };
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tollgate-tree-'));
  const generated = await runCli(['generate-key-pair'], { cwd: work, env });
  expect(generated.code, generated.stderr).toBe(0);
  key = join(work, 'cosign.key');
  digest = await pushTestImage(registry, 'attached/app:v1', { 'bin/app': 'everything attached' });
  ref = `${registry.host}/attached/app:v1`;
  bare = await pushTestImage(registry, 'attached/bare:v1', { 'bin/app': 'bare' });
  await writeFile(join(work, 'provenance.json'), JSON.stringify({ buildDefinition: { buildType: 'https://example.com/build/v1' } }));
  await writeFile(join(work, 'scan.json'), JSON.stringify({ findings: [] }));
  const signing = ['--key', key, '--tlog-upload=false'];
  for (const args of [
    ['sign', ref],
    ['sign', ref, '--legacy'],
    ['attest', ref, '--type', 'slsaprovenance1', '--predicate', join(work, 'provenance.json')],
    ['attest', ref, '--type', SCAN, '--predicate', join(work, 'scan.json')],
    ['attest', ref, '--type', SCAN, '--predicate', join(work, 'scan.json'), '--legacy'],
  ]) {
    const result = await runCli([...args, ...signing], { env });
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  }
  const client = clientFor(registry);
  const subject = await subjectOf('attached/app', digest);
  attached.sbom = await pushNotationSignature(client, 'attached/app', subject, Buffer.from('{"spdxVersion":"SPDX-2.3"}'), { artifactType: 'application/spdx+json', layerMediaType: 'application/spdx+json' });
  attached.notation = await pushNotationSignature(client, 'attached/app', subject, Buffer.from('{"payload":"e30","protected":"e30","signature":"AA"}'));
  attached.other = await pushNotationSignature(client, 'attached/app', subject, Buffer.from('{"report":true}'), { artifactType: 'application/vnd.example.report+json', layerMediaType: 'application/json' });
  // cosign attach sbom's legacy tag: an image manifest whose layer is the SBOM.
  const sbom = Buffer.from('SPDXVersion: SPDX-2.3\n');
  const config = Buffer.from('{}');
  attached.legacySbom = digestOf(sbom);
  await client.pushBlob('attached/app', sbom, digestOf(sbom), sbom.byteLength);
  await client.pushBlob('attached/app', config, digestOf(config), config.byteLength);
  const manifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: 2 }, layers: [{ mediaType: 'text/spdx', digest: digestOf(sbom), size: sbom.byteLength }] };
  await client.putManifest('attached/app', `sha256-${digest.slice(7)}.sbom`, Buffer.from(JSON.stringify(manifest)), MediaType.OciManifest);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tollgate tree', () => {
  it('--json lists every attachment with its kind and where it was found', async () => {
    const result = await runCli(['tree', ref, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const tree = JSON.parse(result.stdout) as { digest: string; referrersSource: string; omitted: number; attachments: Array<{ kind: string; source: string; predicateType?: string; digest: string; artifactType?: string; tag?: string }> };
    expect(tree).toMatchObject({ reference: ref, digest, referrersSource: 'tag-fallback', omitted: 0 });
    const summary = tree.attachments.map((a) => `${a.kind} ${a.source} ${a.predicateType ?? a.artifactType ?? ''}`.trim()).sort();
    expect(summary).toEqual([
      `attestation fallback-tag ${SCAN}`,
      `attestation fallback-tag ${SLSA}`,
      `attestation legacy-tag ${SCAN}`,
      'notation-signature fallback-tag application/vnd.cncf.notary.signature',
      'other fallback-tag application/vnd.example.report+json',
      'sbom fallback-tag application/spdx+json',
      'sbom legacy-tag',
      `signature fallback-tag ${COSIGN_SIGN}`,
      'signature legacy-tag',
    ].sort());
    const byDigest = new Map(tree.attachments.map((a) => [a.digest, a]));
    expect(byDigest.get(attached.sbom!)?.tag).toBe(`sha256-${digest.slice(7)}`);
    expect(byDigest.get(attached.notation!)?.kind).toBe('notation-signature');
    expect(byDigest.get(attached.legacySbom!)).toMatchObject({ kind: 'sbom', tag: `sha256-${digest.slice(7)}.sbom` });
    expect(tree.attachments.find((a) => a.source === 'legacy-tag' && a.kind === 'signature')?.tag).toBe(legacyTag(digest, 'sig'));
  });

  it('prints cosign tree\'s picture: one branch per kind, attestations by predicate type', async () => {
    const result = await runCli(['tree', ref]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`📦 Supply Chain Security Related artifacts for an image: ${ref} (${digest})`);
    const branches = lines.filter((l) => /^[├└]── /.test(l));
    expect(branches).toEqual(['├── 🔐 Signatures', '├── 💾 Attestations', '├── 📦 SBOMs', '├── 🖋  Notation signatures', '└── 🔗 Other referrers']);
    expect(lines).toContain(`│   ├── ${SLSA}`);
    expect(lines).toContain(`│   └── ${SCAN}`);
    expect(result.stdout).toContain(`🍒 ${attached.notation}  application/vnd.cncf.notary.signature, referrers tag sha256-${digest.slice(7)}`);
    expect(result.stdout).toContain(`🍒 ${attached.legacySbom}  cosign legacy text/spdx, tag sha256-${digest.slice(7)}.sbom`);
    expect(lines.at(-1)).toBe(`    └── 🍒 ${attached.other}  application/vnd.example.report+json, referrers tag sha256-${digest.slice(7)}`);
  });

  it('says so when nothing is attached, and bounds what it lists', async () => {
    const nothing = await runCli(['tree', `${registry.host}/attached/bare:v1`]);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toBe(`No Supply Chain Security Related Artifacts found for image ${registry.host}/attached/bare:v1 (${bare}), start creating one with simply \`tollgate sign ${registry.host}/attached/bare:v1\`\n`);
    const limited = JSON.parse((await runCli(['tree', ref, '--json', '--max-attachments', '2'])).stdout);
    expect(limited.attachments).toHaveLength(2);
    expect(limited.omitted).toBe(7);
    const bad = await runCli(['tree', ref, '--max-attachments', '0']);
    expect(bad.code).toBe(2);
    const missing = await runCli(['tree', `${registry.host}/attached/none:v1`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a referrers tag that names an image is an error, not an empty tree', async () => {
    const victim = await pushTestImage(registry, 'attached/hostile:v1', { 'bin/app': 'hostile' });
    // The referrers tag names the image itself: a manifest, where the tag schema wants an index.
    const own = await subjectOf('attached/hostile', victim);
    const raw = await clientFor(registry).getManifest('attached/hostile', victim);
    await clientFor(registry).putManifest('attached/hostile', `sha256-${victim.slice(7)}`, raw.bytes, own.mediaType);
    const result = await runCli(['tree', `${registry.host}/attached/hostile:v1`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/names an image, not an index/);
  });
});

describe('tollgate download', () => {
  it('signature: the v3 bundle and the legacy .sig entry, one JSON per line', async () => {
    const result = await runCli(['download', 'signature', ref]);
    expect(result.code, result.stderr).toBe(0);
    const docs = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(docs).toHaveLength(2);
    const bundle = docs.find((d) => d.mediaType !== undefined);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(statement.predicateType).toBe(COSIGN_SIGN);
    expect(statement.subject[0].digest.sha256).toBe(digest.slice(7));
    const legacy = docs.find((d) => d.Base64Signature !== undefined);
    expect(Object.keys(legacy)).toEqual(['Base64Signature', 'Payload', 'Cert', 'Chain', 'Bundle', 'RFC3161Timestamp']);
    expect(JSON.parse(Buffer.from(legacy.Payload, 'base64').toString('utf8')).critical.image['docker-manifest-digest']).toBe(digest);
    expect(legacy.Base64Signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('attestation: bundles and the legacy envelope, filtered by --predicate-type', async () => {
    const all = await runCli(['download', 'attestation', ref]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trim().split('\n')).toHaveLength(3);
    const slsa = await runCli(['download', 'attestation', ref, '--predicate-type', 'slsaprovenance1']);
    expect(slsa.code, slsa.stderr).toBe(0);
    const [only, ...rest] = slsa.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rest).toEqual([]);
    expect(JSON.parse(Buffer.from(only.dsseEnvelope.payload, 'base64').toString('utf8')).predicateType).toBe(SLSA);
    const scan = await runCli(['download', 'attestation', ref, '--predicate-type', SCAN, '--json']);
    const json = JSON.parse(scan.stdout);
    expect(json.attestations.map((a: { source: string }) => a.source).sort()).toEqual(['fallback-tag', 'legacy-tag']);
    const envelope = json.attestations.find((a: { source: string }) => a.source === 'legacy-tag').document;
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    const none = await runCli(['download', 'attestation', ref, '--predicate-type', 'https://example.com/none']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe(`Error: no attestations of type https://example.com/none attached to ${ref} (${digest})\n`);
  });

  it('prints what it can read, exits 2 naming what it cannot, and respects the limits', async () => {
    const junk = await pushTestImage(registry, 'attached/junk:v1', { 'bin/app': 'junk' });
    const junkRef = `${registry.host}/attached/junk:v1`;
    expect((await runCli(['sign', junkRef, '--key', key, '--tlog-upload=false'], { env })).code).toBe(0);
    await pushNotationSignature(clientFor(registry), 'attached/junk', await subjectOf('attached/junk', junk), Buffer.from('not a bundle'), { artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', layerMediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
    const result = await runCli(['download', 'signature', junkRef]);
    expect(result.code).toBe(2);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Error: referrer sha256:[0-9a-f]{64}: bundle: unexpected character/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const limited = await runCli(['download', 'signature', junkRef, '--max-signatures', '1']);
    expect(limited.code).toBe(2);
    expect(limited.stdout).toBe('');
    expect(limited.stderr).toMatch(/more than the limit of 1/);
    const bareResult = await runCli(['download', 'signature', `${registry.host}/attached/bare:v1`]);
    expect(bareResult.code).toBe(1);
  });
});
