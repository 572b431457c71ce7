import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import type { ContentSource, Descriptor, IndexManifest, OpenBlobOptions, RawManifest } from '../../image/types.js';
import { MediaType } from '../../media-types.js';
import {
  byteRange,
  checkLayoutMarker,
  checkSize,
  INDEX_FILE,
  listNames,
  OCI_LAYOUT_FILE,
  openLayoutBlob,
  readLayoutIndex,
  readLayoutManifest,
} from '../oci-layout/layout-read.js';
import { MAX_ARCHIVE_MANIFEST_BYTES, parseArchiveManifest, selectArchiveImage, type ArchiveImage } from './archive-manifest.js';
import { findLayoutManifest, layoutImageNames } from './archive-layout-match.js';
import { synthesizeManifest, type SynthesizedManifest } from './synthesize-manifest.js';
import { indexTar } from './tar-index.js';
import { TarStore } from './tar-store.js';

const ARCHIVE_MANIFEST = 'manifest.json';

interface Selection {
  root: RawManifest;
  /** Set when the root was synthesised from manifest.json (archives before Docker 25). */
  synthetic?: SynthesizedManifest;
  /** The selected image's RepoTags in manifest.json (empty when it has none, or no manifest.json entry describes it). */
  repoTags: string[];
}

/**
 * A source that can say what its selected image calls itself. A name the content claims for itself, which nothing
 * verifies: a docker archive's RepoTags are whatever whoever wrote the archive put there.
 */
export interface ClaimsImageNames {
  claimedImageNames(): Promise<string[]>;
}

/** Whether a source can tell the names its image claims (see ClaimsImageNames). */
export function claimsImageNames(source: object): source is ClaimsImageNames {
  return typeof (source as Partial<ClaimsImageNames>).claimedImageNames === 'function';
}

/**
 * A `docker save` archive as a content source (skopeo's `docker-archive:<file>[:<name:tag>|:@<index>]`). The tar is
 * opened once and indexed by its headers; entries are then read in place. Archives from Docker 25 on carry an OCI
 * layout (index.json, blobs/) which is read as such; older ones carry only manifest.json, config and layer.tar files,
 * from which a Docker schema 2 manifest is synthesised (see synthesizeManifest: its digest is synthetic).
 */
export class DockerArchiveSource implements ContentSource, ClaimsImageNames {
  readonly description: string;
  private readonly location: string;
  private opened: Promise<{ handle: FileHandle; store: TarStore }> | undefined;
  private selection: Promise<Selection> | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly reference?: string,
  ) {
    this.description = `docker-archive:${path}${reference !== undefined ? `:${reference}` : ''}`;
    this.location = `docker archive ${path}`;
  }

  async resolveRoot(): Promise<RawManifest> {
    return (await this.select()).root;
  }

  /**
   * The selected image's tags from manifest.json (`RepoTags`), as written: unparsed, unverified, possibly empty.
   * When the archive was opened without a name and holds one image, these are that image's tags.
   */
  async claimedImageNames(): Promise<string[]> {
    return [...(await this.select()).repoTags];
  }

  async fetchManifest(descriptor: Descriptor): Promise<RawManifest> {
    const { synthetic } = await this.select();
    if (synthetic !== undefined && descriptor.digest === synthetic.digest) {
      return { bytes: synthetic.bytes, mediaType: MediaType.DockerManifest, expectedDigest: synthetic.digest };
    }
    const store = await this.store();
    if (this.isLayout(store)) return readLayoutManifest(store, descriptor);
    throw new TollgateError('NOT_FOUND', `manifest ${descriptor.digest} not found in ${this.location}; the archive holds one synthesised manifest, ${synthetic?.digest}`);
  }

  async openBlob(descriptor: Descriptor, options: OpenBlobOptions = {}): Promise<Readable> {
    const { synthetic } = await this.select();
    const store = await this.store();
    parseDigest(descriptor.digest, 'blob digest');
    checkSize(descriptor);
    const entry = synthetic?.blobs.get(descriptor.digest);
    if (entry !== undefined) {
      const { start, end } = byteRange(options, Math.min(entry.size, descriptor.size + 1));
      return store.openEntry(entry, start, end, options.signal);
    }
    if (this.isLayout(store)) return openLayoutBlob(store, descriptor, options);
    throw new TollgateError('NOT_FOUND', `blob ${descriptor.digest} not found in ${this.location}; it is not the config or a layer of the selected image`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const opened = this.opened;
    this.opened = undefined;
    this.selection = undefined;
    if (opened !== undefined) await opened.then(({ handle }) => handle.close(), () => undefined);
  }

  private isLayout(store: TarStore): boolean {
    return store.entries.has(OCI_LAYOUT_FILE) && store.entries.has(INDEX_FILE);
  }

  private async store(): Promise<TarStore> {
    if (this.closed) throw new TollgateError('USAGE', `${this.location} was closed; open the source again`);
    this.opened ??= this.openArchive();
    return (await this.opened).store;
  }

  private async openArchive(): Promise<{ handle: FileHandle; store: TarStore }> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      this.opened = undefined;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new TollgateError('NOT_FOUND', `${this.location} does not exist; check the file path`);
      if (code === 'EISDIR') throw new TollgateError('INVALID_ARCHIVE', `${this.location} is a directory; a docker archive is the tar file docker save writes`);
      throw error;
    }
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw new TollgateError('INVALID_ARCHIVE', `${this.location} is a directory; a docker archive is the tar file docker save writes`);
      if (!info.isFile()) throw new TollgateError('INVALID_ARCHIVE', `${this.location} is not a regular file; a docker archive is the tar file docker save writes`);
      const entries = await indexTar(handle, info.size, this.location);
      return { handle, store: new TarStore(this.location, handle, entries) };
    } catch (error) {
      this.opened = undefined;
      await handle.close();
      throw error;
    }
  }

  private select(): Promise<Selection> {
    this.selection ??= this.selectImage();
    this.selection.catch(() => {
      this.selection = undefined;
    });
    return this.selection;
  }

  private async selectImage(): Promise<Selection> {
    const store = await this.store();
    const images = await this.readArchiveManifest(store);
    if (this.isLayout(store)) {
      await checkLayoutMarker(store);
      const index = await readLayoutIndex(store);
      return this.selectFromLayout(store, index, images);
    }
    if (images === undefined) {
      throw new TollgateError('INVALID_ARCHIVE', `${this.location} has neither manifest.json nor index.json; it is not an archive written by docker save`);
    }
    return this.synthesize(store, selectArchiveImage(images, this.reference, this.location).image);
  }

  /** Docker 25+: the image is an entry of the embedded OCI layout, chosen by manifest.json's tags when named. */
  private async selectFromLayout(store: TarStore, index: IndexManifest, images: ArchiveImage[] | undefined): Promise<Selection> {
    let descriptor: Descriptor | undefined;
    let image: ArchiveImage | undefined;
    if (this.reference === undefined && index.manifests.length === 1) {
      descriptor = index.manifests[0]!;
      // docker save writes one manifest.json entry per image: with one of each, they describe the same image.
      if (images?.length === 1) image = images[0];
    } else if (images !== undefined) {
      image = selectArchiveImage(images, this.reference, this.location).image;
      descriptor = await findLayoutManifest(store, index, image.config);
    } else {
      descriptor = this.reference === undefined ? undefined : layoutImageNames(index).find((n) => n.matches(this.reference!))?.descriptor;
      if (descriptor === undefined) {
        const names = layoutImageNames(index).map((n) => n.name);
        const what = this.reference === undefined ? `${this.location} holds ${index.manifests.length} images; name one` : `image ${JSON.stringify(this.reference)} not found in ${this.location}`;
        throw new TollgateError(this.reference === undefined ? 'USAGE' : 'NOT_FOUND', `${what}; available: ${listNames(names)}`);
      }
    }
    if (descriptor !== undefined) return { root: await readLayoutManifest(store, descriptor), repoTags: image?.repoTags ?? [] };
    // manifest.json names an image that no index.json entry describes: read it the pre-Docker-25 way.
    return this.synthesize(store, image!);
  }

  private async synthesize(store: TarStore, image: ArchiveImage): Promise<Selection> {
    const synthetic = await synthesizeManifest(store, image);
    return { root: { bytes: synthetic.bytes, mediaType: MediaType.DockerManifest, expectedDigest: synthetic.digest }, synthetic, repoTags: image.repoTags };
  }

  private async readArchiveManifest(store: TarStore): Promise<ArchiveImage[] | undefined> {
    const bytes = await store.read(ARCHIVE_MANIFEST, MAX_ARCHIVE_MANIFEST_BYTES);
    if (bytes === undefined) return undefined;
    if (bytes.length > MAX_ARCHIVE_MANIFEST_BYTES) {
      throw new TollgateError('INVALID_ARCHIVE', `manifest.json in ${this.location} is over the ${MAX_ARCHIVE_MANIFEST_BYTES}-byte limit; refusing to read it`);
    }
    return parseArchiveManifest(bytes, this.location);
  }
}
