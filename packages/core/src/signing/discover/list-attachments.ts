import { TollgateError } from '../../errors/tollgate-error.js';
import type { ImageManifest } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import { referrersTag } from '../../registry/referrers.js';
import { CREATED_ANNOTATION, LEGACY_PREDICATE_TYPE_ANNOTATION } from '../constants.js';
import type { SignatureReader } from '../storage/fetch-signatures.js';
import { classifyReferrer, type AttachedArtifactKind } from '../classify-referrer.js';

/** Where an attachment was found. */
export type AttachmentSource = 'referrers-api' | 'fallback-tag' | 'legacy-tag';

export interface Attachment {
  kind: AttachedArtifactKind;
  source: AttachmentSource;
  /** The referrer manifest's digest; for a legacy tag, the layer's (each layer is one signature, attestation or SBOM). */
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  /** From the annotations (a hint: `verify-attestation` checks the signed statement). */
  predicateType?: string;
  /** The legacy tag (`sha256-<hex>.sig|.att|.sbom`) or the referrers tag (`sha256-<hex>`) it was listed under. */
  tag?: string;
  created?: string;
}

export interface ImageAttachments {
  /** The manifest digest the attachments are for. */
  digest: string;
  /** How the referrers were listed: the OCI 1.1 API, the `sha256-<hex>` tag schema, or neither exists. */
  referrersSource: 'api' | 'tag-fallback' | 'none';
  attachments: Attachment[];
  /** How many more were attached than `maxAttachments` (not listed). */
  omitted: number;
}

export const DEFAULT_MAX_ATTACHMENTS = 1000;
const LEGACY_KINDS = [
  ['sig', 'signature'],
  ['att', 'attestation'],
  ['sbom', 'sbom'],
] as const;

/**
 * Everything attached to a manifest digest, without fetching or verifying any of it: the referrers (API, else the
 * `sha256-<hex>` tag index) classified by artifactType and annotations, and the layers of cosign's legacy
 * `sha256-<hex>.sig`, `.att` and `.sbom` tags. Reads are bounded (manifests and indexes at 4 MiB by the client) and
 * at most `maxAttachments` entries are listed. A listing or legacy tag that exists but cannot be read is an error.
 */
export async function listAttachments(client: SignatureReader, repository: string, digest: string, options: { maxAttachments?: number } = {}): Promise<ImageAttachments> {
  const max = options.maxAttachments ?? DEFAULT_MAX_ATTACHMENTS;
  const fallbackTag = referrersTag(digest);
  const [listed, ...legacy] = await Promise.all([
    client.referrers(repository, digest),
    ...LEGACY_KINDS.map(([suffix]) => readLegacy(client, repository, `${fallbackTag}.${suffix}`)),
  ]);
  const attachments: Attachment[] = [];
  const source: AttachmentSource = listed.source === 'api' ? 'referrers-api' : 'fallback-tag';
  for (const descriptor of listed.index.manifests) {
    const { kind, predicateType } = classifyReferrer(descriptor);
    const created = descriptor.annotations?.[CREATED_ANNOTATION];
    attachments.push({
      kind,
      source,
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      ...(descriptor.artifactType !== undefined ? { artifactType: descriptor.artifactType } : {}),
      ...(predicateType !== undefined ? { predicateType } : {}),
      ...(source === 'fallback-tag' ? { tag: fallbackTag } : {}),
      ...(created !== undefined ? { created } : {}),
    });
  }
  legacy.forEach((manifest, i) => {
    if (manifest === undefined) return;
    const [suffix, kind] = LEGACY_KINDS[i]!;
    for (const layer of manifest.layers) {
      const predicateType = suffix === 'att' ? layer.annotations?.[LEGACY_PREDICATE_TYPE_ANNOTATION] : undefined;
      attachments.push({
        kind,
        source: 'legacy-tag',
        digest: layer.digest,
        mediaType: layer.mediaType,
        size: layer.size,
        tag: `${fallbackTag}.${suffix}`,
        ...(predicateType !== undefined ? { predicateType } : {}),
      });
    }
  });
  return { digest, referrersSource: listed.source, attachments: attachments.slice(0, max), omitted: Math.max(0, attachments.length - max) };
}

async function readLegacy(client: SignatureReader, repository: string, tag: string): Promise<ImageManifest | undefined> {
  try {
    const raw = await client.getManifest(repository, tag);
    const parsed = parseManifest(raw.bytes, raw.mediaType, `legacy ${tag} manifest`);
    if (parsed.kind !== 'image') throw new TollgateError('INVALID_MANIFEST', `the ${tag} tag names an index; cosign writes an image manifest there`);
    return parsed.manifest;
  } catch (error) {
    if (error instanceof TollgateError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}
