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
 * A source that says itself where its signatures are read — a wrapper (the proxy's upstream gateway counts and
 * shares every read) answers for what it wraps without being one of the classes below.
 */
export interface SignatureLocationSource {
  signatureLocation(): SignatureLocation | undefined;
}

function saysWhereSignaturesAre(source: ContentSource): source is ContentSource & SignatureLocationSource {
  return typeof (source as Partial<SignatureLocationSource>).signatureLocation === 'function';
}

/**
 * The signatures beside an image source: one that says where (SignatureLocationSource) is asked; a registry
 * repository is read through the source's own client (same credentials, same limits), an OCI layout through its
 * `sha256-<hex>` referrers tags. Other sources (docker archives) hold no signatures: undefined.
 */
export function signatureLocationOf(source: ContentSource): SignatureLocation | undefined {
  if (saysWhereSignaturesAre(source)) return source.signatureLocation();
  if (source instanceof RegistrySource) return { reader: source.client, repository: source.location.repository };
  if (source instanceof OciLayoutSource) return { reader: new OciLayoutSignatureReader(source.dir), repository: '' };
  return undefined;
}
