import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import type { OciLayoutSignatureReader } from '../../policy/verifier/layout-signature-reader.js';
import { DirectoryStore } from '../../sources/oci-layout/directory-store.js';
import { cosignSaveSubject, isCosignSaveAttachment } from '../../sources/oci-layout/cosign-save-index.js';
import { checkLayoutMarker, listNames, readLayoutIndex, refName } from '../../sources/oci-layout/layout-read.js';
import type { LayoutImageReference } from './layout-image-reference.js';

/** The tags signatures live under in a layout: the referrers tag `sha256-<hex>` and cosign's `.sig`/`.att`/`.sbom`. */
const SIGNATURE_TAG = /^sha(?:256|512)-[0-9a-f]+(?:\.(?:sig|att|sbom))?$/;

/**
 * The manifest a layout reference names, as the descriptor signatures are made for and checked against: read from
 * `blobs/` and checked against its digest (by the reader), so a tag only ever leads to a digest. Without a tag or
 * digest, the one entry of index.json that is not a signature tag — signing a layout adds such entries, and
 * `oci:<dir>` must still name the same image afterwards; in a `cosign save` layout, the entity cosign's
 * `verify --local-image` checks (cosignSaveSubject), as cosign picks it.
 */
export async function resolveLayoutSubject(reader: OciLayoutSignatureReader, reference: LayoutImageReference): Promise<Descriptor> {
  const named = reference.digest ?? reference.tag ?? (await onlyImage(reader.dir));
  const raw = await reader.getManifest('', named);
  return { mediaType: raw.mediaType ?? MediaType.OciManifest, digest: raw.digest, size: raw.bytes.byteLength };
}

async function onlyImage(dir: string): Promise<string> {
  const store = new DirectoryStore(dir);
  await checkLayoutMarker(store);
  const index = await readLayoutIndex(store);
  const saved = cosignSaveSubject(index);
  if (saved !== undefined) return saved.digest;
  const images = index.manifests.filter((d) => !SIGNATURE_TAG.test(refName(d) ?? '') && !isCosignSaveAttachment(d));
  if (images.length === 1) return images[0]!.digest;
  if (images.length === 0) throw new TollgateError('NOT_FOUND', `${store.location} holds no images (index.json lists none besides signatures)`);
  const tags = images.map(refName).filter((t): t is string => t !== undefined);
  throw new TollgateError('USAGE', `${store.location} holds ${images.length} images; name one with oci:<dir>:<tag> or oci:<dir>@<digest>, available tags: ${listNames(tags)}`);
}
