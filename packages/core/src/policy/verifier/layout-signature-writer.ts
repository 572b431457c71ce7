import type { Descriptor, IndexManifest } from '../../image/types.js';
import { parseManifest } from '../../manifest/parse.js';
import { MediaType } from '../../media-types.js';
import { referrersTag } from '../../registry/referrers.js';
import { COSIGN_SIGN_PREDICATE_TYPE, EMPTY_CONFIG_BYTES, EMPTY_CONFIG_DIGEST } from '../../signing/constants.js';
import { signStatement, type ImageSigningOptions } from '../../signing/sign/sign-dsse.js';
import { imageAttestationStatement, imageSignatureStatement } from '../../signing/statement.js';
import { buildReferrerManifest } from '../../signing/storage/referrer-manifest.js';
import type { OciLayoutWriter } from '../../sources/oci-layout/oci-layout-writer.js';
import { OciLayoutSignatureReader } from './layout-signature-reader.js';

export interface LayoutSignResult {
  /** The signed manifest. */
  digest: string;
  /** The referrer manifest written. */
  referrer: string;
  /** The referrers tag (`sha256-<hex>`) that now lists it. */
  fallbackTag: string;
  bundle: unknown;
}

/**
 * Signs the manifest tagged `tag` (or named by its digest) in an OCI layout as cosign v3 signs one in a registry
 * without the referrers API: an in-toto statement naming the digest, signed as DSSE; the bundle, the empty config
 * and the referrer manifest stored as blobs; and the referrer listed in the index tagged `sha256-<hex>` (created, or
 * appended to). With `attestation`, an attestation of that predicate type instead; `annotations` go into a
 * signature's statement subject as sign -a puts them. The layout then carries its own signatures, which
 * OciLayoutSignatureReader (and the proxy's `oci:` upstream) read back.
 */
export async function signLayoutImage(
  writer: OciLayoutWriter,
  tag: string,
  signing: ImageSigningOptions,
  options: { attestation?: { predicateType: string; predicate: unknown; name?: string }; annotations?: Record<string, string>; created?: string } = {},
): Promise<LayoutSignResult> {
  const reader = new OciLayoutSignatureReader(writer.dir);
  const subjectRaw = await reader.getManifest('', tag);
  const subject: Descriptor = { mediaType: subjectRaw.mediaType ?? MediaType.OciManifest, digest: subjectRaw.digest, size: subjectRaw.bytes.byteLength };
  const attestation = options.attestation;
  const statement = attestation ? imageAttestationStatement(attestation.name ?? tag, subject.digest, attestation.predicateType, attestation.predicate) : imageSignatureStatement(subject.digest, options.annotations);
  const bundle = await signStatement(statement, signing);
  const bundleBytes = new TextEncoder().encode(JSON.stringify(bundle));
  const referrer = buildReferrerManifest(bundleBytes, subject, {
    content: 'dsse-envelope',
    predicateType: attestation?.predicateType ?? COSIGN_SIGN_PREDICATE_TYPE,
    ...(options.created !== undefined ? { created: options.created } : {}),
  });
  await writer.writeBlob(EMPTY_CONFIG_BYTES, { digest: EMPTY_CONFIG_DIGEST });
  await writer.writeBlob(bundleBytes, { digest: referrer.bundleDigest });
  await writer.writeBlob(referrer.bytes, { digest: referrer.digest });

  const fallbackTag = referrersTag(subject.digest);
  let index: IndexManifest = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const listed = await reader.referrers('', subject.digest);
  if (listed.source !== 'none') index = listed.index;
  if (!index.manifests.some((m) => m.digest === referrer.digest)) {
    const updated: IndexManifest = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...index.manifests, referrer.descriptor] };
    const bytes = new TextEncoder().encode(JSON.stringify(updated));
    parseManifest(bytes, MediaType.OciIndex, 'referrers index'); // what readers will parse
    await writer.writeManifest(bytes, MediaType.OciIndex, fallbackTag);
  }
  return { digest: subject.digest, referrer: referrer.digest, fallbackTag, bundle };
}
