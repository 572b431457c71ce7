import type { SerializedBundle } from '@sigstore/bundle';
import { digestOf } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, ImageManifest } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import type { RegistryClient } from '../../registry/client.js';
import {
  COSIGN_BUNDLE_ANNOTATION,
  COSIGN_CERTIFICATE_ANNOTATION,
  COSIGN_RFC3161_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
  DSSE_ENVELOPE_MEDIA_TYPE,
  LEGACY_PREDICATE_TYPE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../constants.js';
import { legacyTag } from './legacy-tags.js';

/**
 * The layer cosign's legacy scheme stores for a signed payload: the payload itself (`.sig`: simple signing;
 * `.att`: the DSSE envelope JSON) with the signature, certificate, Rekor bundle (SET) and RFC 3161 timestamp of
 * `bundle` as annotations.
 */
export function legacyLayerFromBundle(kind: 'sig' | 'att', payload: Uint8Array | undefined, bundle: SerializedBundle, predicateType?: string): { bytes: Uint8Array; mediaType: string; annotations: Record<string, string> } {
  const annotations: Record<string, string> = {};
  let bytes: Uint8Array;
  if (kind === 'sig') {
    if (!bundle.messageSignature || !payload) throw new TollgateError('USAGE', 'a legacy .sig layer needs a message-signature bundle over the simple-signing payload');
    annotations[COSIGN_SIGNATURE_ANNOTATION] = bundle.messageSignature.signature;
    bytes = payload;
  } else {
    if (!bundle.dsseEnvelope) throw new TollgateError('USAGE', 'a legacy .att layer needs a DSSE bundle');
    annotations[COSIGN_SIGNATURE_ANNOTATION] = '';
    if (predicateType !== undefined) annotations[LEGACY_PREDICATE_TYPE_ANNOTATION] = predicateType;
    bytes = new TextEncoder().encode(JSON.stringify(bundle.dsseEnvelope));
  }
  const material = bundle.verificationMaterial;
  const leaf = material.certificate?.rawBytes ?? material.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (leaf !== undefined) annotations[COSIGN_CERTIFICATE_ANNOTATION] = pem(leaf);
  const entry = material.tlogEntries?.[0];
  if (entry?.inclusionPromise) {
    annotations[COSIGN_BUNDLE_ANNOTATION] = JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    });
  }
  const timestamp = material.timestampVerificationData?.rfc3161Timestamps?.[0]?.signedTimestamp;
  if (timestamp !== undefined) annotations[COSIGN_RFC3161_ANNOTATION] = JSON.stringify({ SignedRFC3161Timestamp: timestamp });
  return { bytes, mediaType: kind === 'sig' ? SIMPLE_SIGNING_MEDIA_TYPE : DSSE_ENVELOPE_MEDIA_TYPE, annotations };
}

/**
 * Appends a layer to the legacy `sha256-<hex>.sig` / `.att` image of `digest` (creating it if absent), as cosign
 * does: every signature is one layer, the config lists the layers' digests as diff_ids. Returns the tag.
 */
export async function appendLegacyLayer(
  client: RegistryClient,
  repository: string,
  digest: string,
  kind: 'sig' | 'att',
  layer: { bytes: Uint8Array; mediaType: string; annotations: Record<string, string> },
): Promise<string> {
  const tag = legacyTag(digest, kind);
  let layers: Descriptor[] = [];
  try {
    const existing = await client.getManifest(repository, tag);
    const parsed = parseManifest(existing.bytes, existing.mediaType, `legacy ${tag} manifest`);
    if (parsed.kind !== 'image') throw new TollgateError('INVALID_MANIFEST', `the ${tag} tag names an index; delete it before signing with --legacy`);
    layers = [...parsed.manifest.layers];
  } catch (error) {
    if (!(error instanceof TollgateError && error.code === 'NOT_FOUND')) throw error;
  }
  const descriptor: Descriptor = { mediaType: layer.mediaType, digest: digestOf(layer.bytes), size: layer.bytes.byteLength, annotations: layer.annotations };
  if (!layers.some((l) => l.digest === descriptor.digest && JSON.stringify(l.annotations ?? {}) === JSON.stringify(descriptor.annotations))) layers.push(descriptor);
  await client.pushBlob(repository, layer.bytes, descriptor.digest, descriptor.size);
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  }));
  const configDigest = digestOf(config);
  await client.pushBlob(repository, config, configDigest, config.byteLength);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.byteLength },
    layers,
  };
  await client.putManifest(repository, tag, new TextEncoder().encode(JSON.stringify(manifest)), MediaType.OciManifest);
  return tag;
}

function pem(base64Der: string): string {
  const lines = base64Der.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
