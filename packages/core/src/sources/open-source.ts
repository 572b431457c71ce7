import { parseTransportReference, type TransportReference } from '../reference/transport.js';
import type { ContentSource } from '../image/types.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import { RegistrySource } from './registry-source.js';
import { OciLayoutSource } from './oci-layout/oci-layout-source.js';
import { DockerArchiveSource } from './docker-archive/docker-archive-source.js';

export interface OpenSourceOptions {
  registry?: RegistryClientOptions;
}

/** Opens the content source a transport reference names: `docker://…` (or none), `oci:…`, `docker-archive:…`. */
export function openSource(reference: string | TransportReference, options: OpenSourceOptions = {}): ContentSource {
  const parsed = typeof reference === 'string' ? parseTransportReference(reference) : reference;
  switch (parsed.transport) {
    case 'docker': {
      const client = new RegistryClient(parsed.reference.registry, options.registry);
      return new RegistrySource(parsed.reference, client);
    }
    case 'oci':
      return new OciLayoutSource(parsed.dir, parsed.tag);
    case 'docker-archive':
      return new DockerArchiveSource(parsed.path, parsed.reference);
  }
}
