import { isUnavailableError, TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, ImageManifest } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import type { RegistryClient } from '../../registry/client.js';
import { referrersTag } from '../../registry/referrers.js';
import { SIGSTORE_BUNDLE_MEDIA_TYPES } from '../../sigstore/bundle.js';
import type { CosignSaveOrigin } from '../../sources/oci-layout/cosign-save-index.js';
import { mapConcurrent } from '../../util/map-concurrent.js';
import { BUNDLE_PREDICATE_TYPE_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE, DSSE_ENVELOPE_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE } from '../constants.js';
import type { FetchedBundle, FetchedLegacy, FetchedSignature, FetchedSignatures, SignatureLimits } from '../types.js';
import { fetchSignatureBlob } from './fetch-blob.js';
import { legacyTag } from './legacy-tags.js';
import { resolveLimits } from './limits.js';

/**
 * What signature discovery reads: referrers (API or `sha256-<hex>` tag), manifests by tag or digest, and blobs.
 * RegistryClient fits; so does an OCI layout reader (OciLayoutSignatureReader), so layouts carry signatures too.
 */
export type SignatureReader = Pick<RegistryClient, 'referrers' | 'getManifest' | 'getBlob'>;

export interface FetchSignaturesOptions extends SignatureLimits {
  /** Image signatures (referrers + `.sig`), attestations (referrers + `.att`), or both (default). */
  include?: 'signatures' | 'attestations' | 'all';
  /** Requests in flight at once (default 4). */
  concurrency?: number;
}

/**
 * Fetches what is attached to `digest` in `repository`, without verifying any of it: Sigstore bundles listed by the
 * referrers API or, without one, the `sha256-<hex>` tag index; then the layers of cosign's legacy `.sig` / `.att`
 * tags. Every read is bounded: at most `maxSignatures` candidates in all (more is a problem, and nothing more is
 * fetched), each blob at most `maxBlobBytes` and never more than its descriptor declares. A candidate that cannot
 * be fetched is returned with its error; a listing that cannot be read is a problem of the whole fetch.
 */
export async function fetchSignatures(client: SignatureReader, repository: string, digest: string, options: FetchSignaturesOptions = {}): Promise<FetchedSignatures> {
  const limits = resolveLimits(options);
  const include = options.include ?? 'all';
  const problems: string[] = [];
  const unavailable = { seen: false };

  // The referrers listing and the legacy tags are independent questions: asked at once, one round trip instead of three.
  const kinds = include === 'all' ? (['sig', 'att'] as const) : include === 'signatures' ? (['sig'] as const) : (['att'] as const);
  const [bundles, ...legacy] = await Promise.all([listBundles(client, repository, digest, include, problems, unavailable), ...kinds.map((kind) => readLegacyTag(client, repository, digest, kind, problems, unavailable))]);
  const legacyManifests = legacy.filter((m): m is LegacyManifest => m !== undefined);

  const legacyLayers = legacyManifests.flatMap((m) => m.manifest.layers.map((layer, i) => ({ ...m, layer, index: i })));
  const total = bundles.length + legacyLayers.length;
  if (total > limits.maxSignatures) {
    problems.push(`${total} signatures and attestations are attached to ${digest}, more than the limit of ${limits.maxSignatures}; refusing to examine any (raise the limit only for a registry you trust)`);
    return { digest, signatures: [], problems, ...(unavailable.seen ? { unavailable: true } : {}) };
  }

  const jobs: Array<() => Promise<FetchedSignature>> = [
    ...bundles.map(({ descriptor, source }) => () => fetchBundle(client, repository, digest, descriptor, source, limits.maxBlobBytes)),
    ...legacyLayers.map((entry) => async (): Promise<FetchedLegacy> => {
      const id = `${entry.tag} layer ${entry.index}`;
      const kind = entry.kind === 'sig' ? 'legacy-signature' : 'legacy-attestation';
      const annotations = entry.layer.annotations ?? {};
      const base = { kind, id, source: 'legacy-tag', manifestDigest: entry.digest, layerDigest: entry.layer.digest, annotations } as const;
      const expected = entry.kind === 'sig' ? SIMPLE_SIGNING_MEDIA_TYPE : DSSE_ENVELOPE_MEDIA_TYPE;
      if (entry.layer.mediaType !== expected) return { ...base, error: `layer media type is ${JSON.stringify(entry.layer.mediaType).slice(0, 100)}, not ${expected}` };
      const blob = await fetchSignatureBlob(client, repository, entry.layer, limits.maxBlobBytes);
      return { ...base, ...blob };
    }),
  ];
  const signatures = await mapConcurrent(jobs, options.concurrency ?? 4, (job) => job());
  const anyUnavailable = unavailable.seen || signatures.some((s) => s.unavailable === true);
  return { digest, signatures, problems, ...(anyUnavailable ? { unavailable: true } : {}) };
}

type BundleCandidate = { descriptor: Descriptor; source: 'referrers-api' | 'fallback-tag' };
type LegacyManifest = { tag: string; kind: 'sig' | 'att'; manifest: ImageManifest; digest: string };

/** The Sigstore bundles listed by the referrers API or the `sha256-<hex>` tag; a listing that fails is a problem. */
async function listBundles(client: SignatureReader, repository: string, digest: string, include: 'signatures' | 'attestations' | 'all', problems: string[], unavailable: { seen: boolean }): Promise<BundleCandidate[]> {
  const bundles: BundleCandidate[] = [];
  try {
    const listed = await client.referrers(repository, digest);
    if (listed.source !== 'none') {
      for (const descriptor of listed.index.manifests) {
        if (descriptor.artifactType === undefined || !SIGSTORE_BUNDLE_MEDIA_TYPES.includes(descriptor.artifactType)) continue;
        if (!wanted(include, descriptor.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION])) continue;
        bundles.push({ descriptor, source: listed.source === 'api' ? 'referrers-api' : 'fallback-tag' });
      }
    }
  } catch (error) {
    problems.push(`the referrers of ${digest} could not be listed (referrers API or ${referrersTag(digest)} tag): ${messageOf(error)}`);
    if (isUnavailableError(error)) unavailable.seen = true;
  }
  return bundles;
}

/**
 * cosign's legacy `.sig` / `.att` tag manifest; undefined when the tag does not exist or cannot be read (a problem).
 * A layout reader may answer with a `cosign save` layout's signatures/attestations image instead (same format): its
 * layers are then named after it, not after a tag the layout does not have.
 */
async function readLegacyTag(client: SignatureReader, repository: string, digest: string, kind: 'sig' | 'att', problems: string[], unavailable: { seen: boolean }): Promise<LegacyManifest | undefined> {
  const tag = legacyTag(digest, kind);
  try {
    const raw: Awaited<ReturnType<SignatureReader['getManifest']>> & CosignSaveOrigin = await client.getManifest(repository, tag);
    const name = raw.cosignSave !== undefined ? `cosign save ${raw.cosignSave} entry` : tag;
    const parsed = parseManifest(raw.bytes, raw.mediaType, `legacy ${name} manifest`);
    if (parsed.kind !== 'image') throw new TollgateError('INVALID_MANIFEST', `the ${raw.cosignSave !== undefined ? name : `${tag} tag`} names an index; cosign writes an image manifest there`);
    return { tag: name, kind, manifest: parsed.manifest, digest: raw.digest };
  } catch (error) {
    if (!(error instanceof TollgateError && error.code === 'NOT_FOUND')) problems.push(`the legacy ${tag} tag could not be read: ${messageOf(error)}`);
    if (isUnavailableError(error)) unavailable.seen = true;
    return undefined;
  }
}

function wanted(include: 'signatures' | 'attestations' | 'all', predicateTypeHint: string | undefined): boolean {
  if (include === 'all' || predicateTypeHint === undefined) return true;
  return include === 'signatures' ? predicateTypeHint === COSIGN_SIGN_PREDICATE_TYPE : predicateTypeHint !== COSIGN_SIGN_PREDICATE_TYPE;
}

async function fetchBundle(
  client: SignatureReader,
  repository: string,
  subjectDigest: string,
  descriptor: Descriptor,
  source: 'referrers-api' | 'fallback-tag',
  maxBytes: number,
): Promise<FetchedBundle> {
  const hint = descriptor.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
  const base: FetchedBundle = { kind: 'bundle', id: `referrer ${String(descriptor.digest).slice(0, 80)}`, source, manifestDigest: descriptor.digest, ...(hint !== undefined ? { predicateTypeHint: hint } : {}) };
  try {
    if (descriptor.size > maxBytes) return { ...base, error: `the referrer manifest declares ${descriptor.size} bytes, more than the ${maxBytes}-byte limit; refused unread` };
    const raw = await client.getManifest(repository, descriptor.digest);
    const parsed = parseManifest(raw.bytes, raw.mediaType, `referrer ${descriptor.digest}`);
    if (parsed.kind !== 'image') return { ...base, error: 'the referrer is an index, not an artifact manifest' };
    const manifest = parsed.manifest;
    if (manifest.subject?.digest !== subjectDigest) {
      return { ...base, error: `the referrer's subject is ${manifest.subject?.digest ?? 'missing'}, not ${subjectDigest}: it is attached to something else` };
    }
    const layer = manifest.layers.find((l) => SIGSTORE_BUNDLE_MEDIA_TYPES.includes(l.mediaType));
    if (!layer) return { ...base, error: 'the referrer manifest has no Sigstore bundle layer' };
    const blob = await fetchSignatureBlob(client, repository, layer, maxBytes);
    return { ...base, ...blob };
  } catch (error) {
    return { ...base, error: messageOf(error), ...(isUnavailableError(error) ? { unavailable: true } : {}) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
