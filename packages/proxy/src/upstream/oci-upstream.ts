import { createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  listLayoutTags,
  MAX_MANIFEST_BYTES,
  MediaType,
  OciLayoutSource,
  parseDigest,
  parseManifest,
  referrersTag,
  TollgateError,
  type ContentSource,
  type IndexManifest,
} from '@tollgate/core';
import type { UpstreamConfig } from '../config/types.js';
import { checkedManifest } from './manifest-check.js';
import type { TagsPage, Upstream, UpstreamManifest } from './types.js';

/**
 * An OCI image layout directory served as a registry (air-gapped mirrors, the demo). Every repository name maps
 * to the one layout; tags are its index.json ref.name annotations. Blob paths are built from parsed digests only
 * and must be regular files (a symlink is refused).
 */
export class OciUpstream implements Upstream {
  readonly name: string;
  readonly location: string;
  readonly dockerHub = false;
  private readonly dir: string;

  constructor(readonly config: UpstreamConfig) {
    this.name = config.name;
    this.dir = config.oci!;
    this.location = `oci:${this.dir}`;
  }

  private async blobFile(digest: string): Promise<{ path: string; size: number }> {
    const parsed = parseDigest(digest);
    const path = join(this.dir, 'blobs', parsed.algorithm, parsed.hex);
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) throw new TollgateError('NOT_FOUND', `${digest} is not in ${this.location}`);
    if (!info.isFile()) throw new TollgateError('INVALID_LAYOUT', `${digest} in ${this.location} is not a regular file; refusing it`);
    return { path, size: info.size };
  }

  async getManifest(_repository: string, reference: string): Promise<UpstreamManifest> {
    const what = `manifest ${this.name}:${reference}`;
    if (!reference.includes(':')) {
      const raw = await new OciLayoutSource(this.dir, reference).resolveRoot();
      return checkedManifest(raw.bytes, raw.mediaType, raw.expectedDigest, what);
    }
    const { path, size } = await this.blobFile(reference);
    if (size > MAX_MANIFEST_BYTES) throw new TollgateError('MANIFEST_TOO_LARGE', `${what} is ${size} bytes, over the 4 MiB limit; refused unread`);
    const handle = await open(path, 'r');
    try {
      const bytes = new Uint8Array(size);
      const { bytesRead } = await handle.read(bytes, 0, size, 0);
      return checkedManifest(bytes.subarray(0, bytesRead), undefined, reference, what);
    } finally {
      await handle.close();
    }
  }

  async getBlob(_repository: string, digest: string, size: number): Promise<Readable> {
    const file = await this.blobFile(digest);
    if (file.size !== size) throw new TollgateError('SIZE_MISMATCH', `${digest} in ${this.location} is ${file.size} bytes, but its descriptor says ${size}`);
    return createReadStream(file.path);
  }

  async listTags(_repository: string, options: { n?: number; last?: string }): Promise<TagsPage> {
    const all = [...new Set(await listLayoutTags(this.dir))].sort();
    const after = options.last !== undefined ? all.filter((t) => t > options.last!) : all;
    const page = options.n !== undefined ? after.slice(0, options.n) : after;
    return { tags: page, more: page.length < after.length };
  }

  async referrers(repository: string, digest: string, artifactType?: string): Promise<IndexManifest> {
    const empty: IndexManifest = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    let manifest: UpstreamManifest;
    try {
      manifest = await this.getManifest(repository, referrersTag(digest));
    } catch (error) {
      if (error instanceof TollgateError && error.code === 'NOT_FOUND') return empty;
      throw error;
    }
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, 'referrers index');
    if (parsed.kind !== 'index') return empty;
    const manifests = parsed.index.manifests.filter((d) => artifactType === undefined || d.artifactType === artifactType);
    return { ...empty, manifests };
  }

  source(): ContentSource {
    return new OciLayoutSource(this.dir);
  }

  async close(): Promise<void> {}
}
