import type { ContentSource } from '../../image/types.js';
import type { SignatureReader } from '../../signing/storage/fetch-signatures.js';
import { OciLayoutSource } from '../../sources/oci-layout/oci-layout-source.js';
import { RegistrySource } from '../../sources/registry-source.js';
import { OciLayoutSignatureReader } from './layout-signature-reader.js';

/** Where the signatures of an image are read: a reader and the repository to ask it about. */
export interface SignatureLocation {
  reader: SignatureReader;
  repository: string;
}

/**
 * The signatures beside an image source: a registry repository is read through the source's own client (same
 * credentials, same limits), an OCI layout through its `sha256-<hex>` referrers tags. Other sources (docker
 * archives) hold no signatures: undefined.
 */
export function signatureLocationOf(source: ContentSource): SignatureLocation | undefined {
  if (source instanceof RegistrySource) return { reader: source.client, repository: source.location.repository };
  if (source instanceof OciLayoutSource) return { reader: new OciLayoutSignatureReader(source.dir), repository: '' };
  return undefined;
}
