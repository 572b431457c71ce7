import type { Readable } from 'node:stream';
import type { Descriptor, IndexManifest } from '../image/types.js';
import { parseManifest } from '../manifest/parse.js';
import { MediaType } from '../media-types.js';
import { OciLayoutSignatureReader } from '../policy/verifier/layout-signature-reader.js';
import { referrersTag } from '../registry/referrers.js';
import { DirectoryStore } from '../sources/oci-layout/directory-store.js';
import { blobPath, readLayoutIndex, refName } from '../sources/oci-layout/layout-read.js';
import { OciLayoutWriter } from '../sources/oci-layout/oci-layout-writer.js';
import type { CopyTarget } from './copy-target.js';

/**
 * An OCI image layout as a copy target. Blobs (manifests included) are written first, each through a temp file
 * renamed into place only after its digest checked; index.json — the only thing that makes content reachable — is
 * rewritten (atomically) only when a tag is set, so a copy that fails leaves index.json as it was and at most some
 * verified, unreferenced blobs. Referrers go into the `sha256-<hex>` referrers tag index, as a registry without
 * the referrers API keeps them (OciLayoutSignatureReader and the proxy's `oci:` upstream read them from there).
 */
export class LayoutCopyTarget implements CopyTarget {
  readonly description: string;
  private readonly store: DirectoryStore;
  private readonly reader: OciLayoutSignatureReader;

  private constructor(private readonly writer: OciLayoutWriter) {
    this.description = `oci:${writer.dir}`;
    this.store = new DirectoryStore(writer.dir);
    this.reader = new OciLayoutSignatureReader(writer.dir);
  }

  /** Opens (creating if needed) the layout in `dir`. */
  static async open(dir: string): Promise<LayoutCopyTarget> {
    return new LayoutCopyTarget(await OciLayoutWriter.create(dir));
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return (await this.store.size(blobPath(descriptor.digest))) === descriptor.size;
  }

  async putBlob(descriptor: Descriptor, content: Readable): Promise<void> {
    await this.writer.writeBlob(content, { digest: descriptor.digest, size: descriptor.size });
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.store.size(blobPath(digest))) !== undefined;
  }

  async putManifest(bytes: Uint8Array, _mediaType: string, digest: string): Promise<void> {
    await this.writer.writeBlob(bytes, { digest, size: bytes.byteLength });
  }

  async resolveTag(tag: string): Promise<string | undefined> {
    const index = await readLayoutIndex(this.store);
    return index.manifests.find((d) => refName(d) === tag)?.digest;
  }

  async tagManifest(bytes: Uint8Array, mediaType: string, tag: string): Promise<void> {
    await this.writer.writeManifest(bytes, mediaType, tag);
  }

  async addReferrer(subjectDigest: string, referrer: Descriptor): Promise<boolean> {
    const listed = await this.reader.referrers('', subjectDigest);
    const index: IndexManifest = listed.source === 'none' ? { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] } : listed.index;
    if (index.manifests.some((m) => m.digest === referrer.digest)) return false;
    const updated: IndexManifest = { ...index, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...index.manifests, referrer] };
    const bytes = new TextEncoder().encode(JSON.stringify(updated));
    parseManifest(bytes, MediaType.OciIndex, 'referrers index');
    await this.writer.writeManifest(bytes, MediaType.OciIndex, referrersTag(subjectDigest));
    return true;
  }
}
