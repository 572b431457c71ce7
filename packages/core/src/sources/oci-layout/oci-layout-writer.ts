import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDigest, type DigestAlgorithm } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { Descriptor, IndexManifest, Platform } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import { syncDirectory, writeFileAtomic } from '../../util/atomic-write.js';
import { DirectoryStore } from './directory-store.js';
import { blobPath, checkLayoutMarker, INDEX_FILE, OCI_LAYOUT_FILE, readLayoutIndex, REF_NAME_ANNOTATION, shortJson } from './layout-read.js';

/** The ref.name grammar of the image-layout spec (component ("/" component)*). */
const REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

export interface BlobExpectation {
  digest?: string;
  size?: number;
}

export interface WrittenBlob {
  digest: string;
  size: number;
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes an OCI image layout: blobs streamed into place under their digest (hashed on the way, verified against
 * what the caller expects, fsynced and renamed atomically), manifests tagged in index.json (rewritten atomically).
 * One writer serialises its own index updates; concurrent writers in other processes are not coordinated.
 */
export class OciLayoutWriter {
  readonly dir: string;
  private readonly store: DirectoryStore;
  private indexLock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = resolve(dir);
    this.store = new DirectoryStore(this.dir);
  }

  /** Opens the layout in `dir`, creating the directory, `oci-layout`, `blobs/` and an empty index.json as needed. */
  static async create(dir: string): Promise<OciLayoutWriter> {
    const writer = new OciLayoutWriter(dir);
    await mkdir(join(writer.dir, 'blobs', 'sha256'), { recursive: true });
    if (!(await exists(join(writer.dir, OCI_LAYOUT_FILE)))) {
      await writeFileAtomic(join(writer.dir, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    }
    await checkLayoutMarker(writer.store);
    if (!(await exists(join(writer.dir, INDEX_FILE)))) {
      await writer.writeIndex({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    }
    await readLayoutIndex(writer.store);
    return writer;
  }

  /**
   * Stores a blob. The content is streamed to a temp file while it is hashed; when `expected` is given, a digest or
   * size that differs is refused (and a stream longer than the expected size is cut off early). A blob already
   * present is left as it is.
   */
  async writeBlob(content: Uint8Array | Readable, expected: BlobExpectation = {}): Promise<WrittenBlob> {
    const algorithm: DigestAlgorithm = expected.digest !== undefined ? parseDigest(expected.digest, 'expected blob digest').algorithm : 'sha256';
    if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw new TollgateError('USAGE', `expected blob size ${shortJson(expected.size)} is not a non-negative integer`);
    }
    const temp = join(this.dir, 'blobs', `.tmp-${randomBytes(8).toString('hex')}`);
    const hash = createHash(algorithm);
    let size = 0;
    const handle = await open(temp, 'wx', 0o644);
    let renamed = false;
    try {
      try {
        const chunks: AsyncIterable<unknown> | Iterable<Uint8Array> = content instanceof Uint8Array ? [content] : content;
        for await (const chunk of chunks) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
          size += bytes.length;
          if (expected.size !== undefined && size > expected.size) {
            throw new TollgateError('SIZE_MISMATCH', `blob is larger than the expected ${expected.size} bytes; refusing to store it`);
          }
          hash.update(bytes);
          await handle.write(bytes);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const digest = `${algorithm}:${hash.digest('hex')}`;
      if (expected.size !== undefined && size !== expected.size) {
        throw new TollgateError('SIZE_MISMATCH', `blob ${digest} is ${size} bytes, expected ${expected.size}; refusing to store it`);
      }
      if (expected.digest !== undefined && digest !== expected.digest) {
        throw new TollgateError('DIGEST_MISMATCH', `blob digest mismatch, expected ${expected.digest}, got ${digest}; refusing to store it`);
      }
      const target = join(this.dir, ...blobPath(digest).split('/'));
      if (!(await exists(target))) {
        await mkdir(join(this.dir, 'blobs', algorithm), { recursive: true });
        await rename(temp, target);
        renamed = true;
        await syncDirectory(join(this.dir, 'blobs', algorithm));
      }
      return { digest, size };
    } finally {
      if (!renamed) await rm(temp, { force: true });
      if (!(content instanceof Uint8Array)) content.destroy();
    }
  }

  /**
   * Stores a manifest (or index) and lists it in index.json: tagged `tag` (replacing the entry that had the tag)
   * or, without a tag, added once. Returns the descriptor written to index.json.
   */
  async writeManifest(bytes: Uint8Array, mediaType: string, tag?: string, platform?: Platform): Promise<Descriptor> {
    if (tag !== undefined && (tag.length > 255 || !REF_NAME.test(tag))) {
      throw new TollgateError('USAGE', `tag ${shortJson(tag)} is not a valid OCI layout ref name (letters, digits and . _ - : @ + / separators)`);
    }
    const blob = await this.writeBlob(bytes);
    const descriptor: Descriptor = { mediaType, digest: blob.digest, size: blob.size };
    if (platform !== undefined) descriptor.platform = platform;
    if (tag !== undefined) descriptor.annotations = { [REF_NAME_ANNOTATION]: tag };
    await this.updateIndex((index) => {
      const kept = index.manifests.filter((d) =>
        tag !== undefined ? d.annotations?.[REF_NAME_ANNOTATION] !== tag : !(d.digest === blob.digest && d.annotations?.[REF_NAME_ANNOTATION] === undefined),
      );
      return { ...index, manifests: [...kept, descriptor] };
    });
    return descriptor;
  }

  /** Removes the index.json entry tagged `tag` (blobs stay; they are shared and harmless). */
  async removeTag(tag: string): Promise<void> {
    await this.updateIndex((index) => ({ ...index, manifests: index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag) }));
  }

  private updateIndex(change: (index: IndexManifest) => IndexManifest): Promise<void> {
    const next = this.indexLock.then(async () => {
      const index = await readLayoutIndex(this.store);
      await this.writeIndex(change(index));
    });
    this.indexLock = next.catch(() => undefined);
    return next;
  }

  private async writeIndex(index: IndexManifest): Promise<void> {
    const ordered: Record<string, unknown> = { schemaVersion: 2, mediaType: index.mediaType ?? MediaType.OciIndex, manifests: index.manifests };
    await writeFileAtomic(join(this.dir, INDEX_FILE), `${JSON.stringify(ordered)}\n`);
  }
}
