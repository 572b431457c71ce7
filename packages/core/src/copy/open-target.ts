import { TollgateError } from '../errors/tollgate-error.js';
import { parseTransportReference, type TransportReference } from '../reference/transport.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import type { CopyTarget } from './copy-target.js';
import { LayoutCopyTarget } from './layout-target.js';
import { RegistryCopyTarget } from './registry-target.js';

export interface OpenedCopyTarget {
  target: CopyTarget;
  /** The tag the destination names (a layout without one takes `defaultTag`). */
  tag?: string;
  /** The destination was named by digest. */
  digest?: string;
}

/**
 * The copy destination a transport reference names: a registry repository (`[docker://]host/repo[:tag|@digest]`,
 * the tag `latest` when none is given, as docker and cosign do) or an OCI layout (`oci:<dir>[:<tag>]`, created if
 * missing; without a tag, `defaultTag`). A docker archive is refused: `docker save`'s format keeps neither the
 * manifest's digest nor signatures, so a copy into one could not be verified.
 */
export async function openCopyTarget(reference: string | TransportReference, options: { registry?: RegistryClientOptions; defaultTag?: string } = {}): Promise<OpenedCopyTarget> {
  const parsed = typeof reference === 'string' ? parseTransportReference(reference) : reference;
  switch (parsed.transport) {
    case 'docker': {
      const ref = parsed.reference;
      const target = new RegistryCopyTarget(new RegistryClient(ref.registry, options.registry), ref.repository);
      return { target, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) };
    }
    case 'oci': {
      const tag = parsed.tag ?? options.defaultTag;
      return { target: await LayoutCopyTarget.open(parsed.dir), ...(tag !== undefined ? { tag } : {}) };
    }
    case 'docker-archive':
      throw new TollgateError(
        'USAGE',
        'docker-archive: cannot be a copy destination: a docker save archive keeps neither the manifest digest nor the signatures, so the copy could not be verified; copy to an OCI layout (oci:<dir>:<tag>) instead',
      );
  }
}
