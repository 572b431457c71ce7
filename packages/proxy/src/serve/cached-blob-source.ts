import { PassThrough, type Readable } from 'node:stream';
import type { ContentSource, Descriptor, OpenBlobOptions } from '@tollgate/core';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { EvaluationOutages } from './evaluation-outages.js';
import { openBlob, sendOpened } from './serve-blob.js';
import type { ProxyCore } from './proxy-core.js';

/**
 * The upstream repository as the gate sees it, with blobs read through the proxy's cache: a config or layer the
 * policy reads (checks on users, files, sizes) is fetched once, verified and kept, and the client that pulls it
 * next is served from the store (or joins the same download) instead of the upstream sending it a second time.
 * Manifests are read from the upstream as they are. A ranged read bypasses the cache.
 *
 * Reading a blob here admits nothing: a client still gets only blobs that an admitted manifest references.
 * `outages` hears of every failed read, so that an undecided outcome can say whether the store was the cause.
 */
export function cachedBlobSource(core: ProxyCore, route: UpstreamRoute, upstream: ContentSource, outages?: EvaluationOutages): ContentSource {
  return {
    description: upstream.description,
    resolveRoot: () => upstream.resolveRoot(),
    fetchManifest: (descriptor) => upstream.fetchManifest(descriptor),
    async openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> {
      try {
        const stream = await openCachedOrFetched(core, route, upstream, descriptor, options);
        if (outages !== undefined) stream.once('error', (error) => outages.saw(error));
        return stream;
      } catch (error) {
        outages?.saw(error);
        throw error;
      }
    },
    ...(upstream.close ? { close: () => upstream.close!() } : {}),
  };
}

async function openCachedOrFetched(core: ProxyCore, route: UpstreamRoute, upstream: ContentSource, descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable> {
  if (options?.range !== undefined) return upstream.openBlob(descriptor, options);
  const opened = await openBlob(core, route, descriptor.digest, descriptor.size);
  if (opened.kind === 'file') return opened.handle.createReadStream({ start: opened.start, end: opened.end });
  const reader = new PassThrough();
  void sendOpened(core, opened, reader);
  return reader;
}
