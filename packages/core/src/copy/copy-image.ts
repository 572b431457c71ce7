import { Transform, type Readable } from 'node:stream';
import { TollgateError } from '../errors/tollgate-error.js';
import type { Image } from '../image/image.js';
import type { ImageIndex } from '../image/image-index.js';
import { loadManifest } from '../image/load-manifest.js';
import { openRoot } from '../image/open-image.js';
import type { ContentSource, Descriptor } from '../image/types.js';
import { formatPlatform } from '../platform/platform.js';
import { signatureLocationOf, type SignatureLocation } from '../policy/verifier/signature-location.js';
import { referrersTag } from '../registry/referrers.js';
import { DEFAULT_MAX_SIGNATURES } from '../signing/constants.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { referrerKind, type AttachmentKind } from '../signing/classify-referrer.js';
import { LEGACY_SUFFIXES } from './only-kinds.js';
import type { CopyTarget, MountSource } from './copy-target.js';
import type { CopiedAttachment, CopyImageOptions, CopyResult } from './types.js';
import { verified } from './verifying-stream.js';

type Node = Image | ImageIndex;

/** Layers that registries may not serve (foreign/non-distributable): left out, as crane and skopeo do by default. */
const NON_DISTRIBUTABLE = /\.(?:foreign|nondistributable)\./;
const MAX_TOTAL_ATTACHMENTS = 10_000;

/**
 * Copies an image (or index) from a source to a target byte for byte — every manifest and blob keeps its digest —
 * with what is attached to it: referrers (OCI 1.1 API or the `sha256-<hex>` tag) and cosign's legacy
 * `.sig`/`.att`/`.sbom` tags, of the root and of every manifest below it, and of those attachments in turn.
 *
 * Order: blobs, then each manifest after everything it names, then the attachments, and the destination tag last,
 * so a failure never leaves a tag pointing at something incomplete. Every manifest is checked against its digest
 * when read, every blob while it streams (the last chunk is held until the digest matches, so no sink receives a
 * whole altered blob). Blobs and manifests already at the destination are skipped (a second copy is cheap), blobs
 * of the same registry are mounted instead of uploaded. A destination tag naming another digest is an error unless
 * `force`.
 */
export async function copyImage(source: ContentSource, target: CopyTarget, options: CopyImageOptions = {}): Promise<CopyResult> {
  return new Copier(source, target, options).run();
}

class Copier {
  private readonly result: CopyResult;
  private readonly blobs = new Map<string, Promise<void>>();
  private readonly manifests = new Set<string>();
  private readonly nodes = new Map<string, Promise<Node>>();
  private readonly attached = new Set<string>();
  private readonly signatures: SignatureLocation | undefined;
  private readonly mountFrom: MountSource | undefined;

  constructor(
    private readonly source: ContentSource,
    private readonly target: CopyTarget,
    private readonly options: CopyImageOptions,
  ) {
    this.signatures = signatureLocationOf(source);
    this.mountFrom = mountSourceOf(source);
    this.result = {
      source: source.description,
      destination: target.description,
      digest: '',
      mediaType: '',
      imageCopied: false,
      manifests: { copied: 0, present: 0 },
      blobs: { copied: 0, present: 0, mounted: 0, bytes: 0 },
      attachments: [],
      warnings: [],
    };
  }

  async run(): Promise<CopyResult> {
    const { options, target } = this;
    let root: Node = await openRoot(this.source);
    if (options.platform !== undefined && root.kind === 'index') {
      root = await root.imageFor(options.platform);
      this.result.platform = formatPlatform(options.platform);
    }
    this.result.digest = root.digest;
    this.result.mediaType = root.mediaType;
    if (options.expectDigest !== undefined && options.expectDigest !== root.digest) {
      throw new TollgateError('USAGE', `the destination names ${options.expectDigest}, but the source is ${root.digest}; a copy keeps the digest: name the destination by tag, or by the source's digest`);
    }
    const copyImage = options.only === undefined;
    const tag = copyImage ? options.tag : undefined;
    if (tag !== undefined) await this.checkTag(tag, root.digest);

    if (copyImage) {
      await this.copyNode(root);
      this.result.imageCopied = true;
    }
    // Attachments of the root and, for a whole index, of every manifest below it (cosign's walk).
    const subjects = await this.subjectsOf(root);
    for (const subject of subjects) await this.copyAttachments(subject, 0);
    if (tag !== undefined) {
      await target.tagManifest(root.rawManifest, root.mediaType, tag);
      this.result.tag = tag;
    }
    return this.result;
  }

  /** A tag at the destination that names another digest is only moved with force. */
  private async checkTag(tag: string, digest: string): Promise<void> {
    const existing = await this.target.resolveTag(tag);
    if (existing !== undefined && existing !== digest && this.options.force !== true) {
      throw new TollgateError('ALREADY_EXISTS', `${this.target.description}:${tag} already names ${existing}, not ${digest}; pass --force to move the tag`);
    }
  }

  /** The root and, for an index, every manifest below it (read and verified, once). */
  private async subjectsOf(root: Node): Promise<string[]> {
    const out: string[] = [];
    const walk = async (node: Node): Promise<void> => {
      out.push(node.digest);
      if (node.kind === 'index') for (const child of node.manifests) await walk(await this.childOf(node, child));
    };
    await walk(root);
    return [...new Set(out)];
  }

  private childOf(index: ImageIndex, descriptor: Descriptor): Promise<Node> {
    let child = this.nodes.get(descriptor.digest);
    if (child === undefined) {
      child = index.child(descriptor);
      this.nodes.set(descriptor.digest, child);
    }
    return child;
  }

  /**
   * A manifest tree: every blob of every manifest first, then the manifests children first, so no manifest is
   * stored before all it names is, and none at all if any blob fails. Manifests already at the destination are
   * skipped with what is below them (their content is there).
   */
  private async copyNode(root: Node): Promise<void> {
    const order: Node[] = [];
    const visit = async (node: Node): Promise<void> => {
      if (this.manifests.has(node.digest) || order.some((n) => n.digest === node.digest)) return;
      if (await this.target.hasManifest(node.digest)) {
        this.manifests.add(node.digest);
        this.result.manifests.present++;
        return;
      }
      if (node.kind === 'index') for (const child of node.manifests) await visit(await this.childOf(node, child));
      order.push(node);
    };
    await visit(root);
    const blobs = new Map<string, Descriptor>();
    for (const node of order) {
      if (node.kind !== 'image') continue;
      for (const d of [node.configDescriptor, ...node.layers]) {
        if (NON_DISTRIBUTABLE.test(d.mediaType)) {
          this.result.warnings.push(`non-distributable layer ${d.digest} (${d.mediaType}) of ${node.digest} left out, as registries do not serve it`);
        } else {
          blobs.set(d.digest, d);
        }
      }
    }
    const list = [...blobs.values()];
    if (list.length > 0) this.options.onProgress?.({ type: 'planned', blobs: list.length, bytes: list.reduce((n, d) => n + d.size, 0) });
    await mapConcurrent(list, this.options.concurrency ?? 3, (d) => this.copyBlob(d));
    for (const node of order) {
      await this.target.putManifest(node.rawManifest, node.mediaType, node.digest);
      this.manifests.add(node.digest);
      this.result.manifests.copied++;
    }
  }

  private copyBlob(descriptor: Descriptor): Promise<void> {
    let done = this.blobs.get(descriptor.digest);
    if (done === undefined) {
      done = (async () => {
        const report = (status: 'copied' | 'present' | 'mounted') => this.options.onProgress?.({ type: 'blob', digest: descriptor.digest, size: descriptor.size, status });
        if (await this.target.hasBlob(descriptor)) {
          this.result.blobs.present++;
          report('present');
          return;
        }
        if (this.mountFrom !== undefined && this.target.mountBlob !== undefined && (await this.target.mountBlob(descriptor, this.mountFrom))) {
          this.result.blobs.mounted++;
          report('mounted');
          return;
        }
        const body = verified(await this.source.openBlob(descriptor), descriptor, 'blob');
        await this.target.putBlob(descriptor, this.counted(body));
        this.result.blobs.copied++;
        this.result.blobs.bytes += descriptor.size;
        report('copied');
      })();
      this.blobs.set(descriptor.digest, done);
    }
    return done;
  }

  private counted(body: Readable): Readable {
    const onProgress = this.options.onProgress;
    if (onProgress === undefined) return body;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        onProgress({ type: 'bytes', bytes: chunk.length });
        done(null, chunk);
      },
    });
    body.on('error', (error) => counter.destroy(error));
    return body.pipe(counter);
  }

  private wanted(kind: AttachmentKind): boolean {
    return this.options.only === undefined || this.options.only.has(kind);
  }

  /** Referrers and legacy tags of `subject`, then theirs, to maxAttachmentDepth. */
  private async copyAttachments(subject: string, depth: number): Promise<void> {
    const location = this.signatures;
    if (location === undefined || depth > (this.options.maxAttachmentDepth ?? 2) || this.attached.has(subject)) return;
    this.attached.add(subject);
    const limit = this.options.maxAttachments ?? DEFAULT_MAX_SIGNATURES;
    const listed = await location.reader.referrers(location.repository, subject);
    const referrers = listed.source === 'none' ? [] : listed.index.manifests;
    if (referrers.length > limit) {
      throw new TollgateError('SIZE_LIMIT', `${referrers.length} referrers are attached to ${subject}, more than the limit of ${limit}; refusing to copy them in part`);
    }
    for (const descriptor of referrers) {
      const kind = referrerKind(descriptor);
      if (!this.wanted(kind)) continue;
      const node = await this.readAttachment(descriptor);
      const subjectOf = node.kind === 'image' ? node.manifest.subject?.digest : node.index.subject?.digest;
      if (subjectOf !== subject) {
        this.result.warnings.push(`referrer ${descriptor.digest} is listed for ${subject} but its subject is ${subjectOf ?? 'missing'}; not copied`);
        continue;
      }
      const present = await this.target.hasManifest(node.digest);
      await this.copyNode(node);
      await this.target.addReferrer(subject, descriptor);
      this.record({ subject, digest: node.digest, kind, via: 'referrer', ...(descriptor.artifactType !== undefined ? { artifactType: descriptor.artifactType } : {}), status: present ? 'present' : 'copied' });
      await this.copyAttachments(node.digest, depth + 1);
    }
    for (const { suffix, kind } of LEGACY_SUFFIXES) {
      if (!this.wanted(kind)) continue;
      const tag = `${referrersTag(subject)}.${suffix}`;
      let raw;
      try {
        raw = await location.reader.getManifest(location.repository, tag);
      } catch (error) {
        if (error instanceof TollgateError && error.code === 'NOT_FOUND') continue;
        throw error;
      }
      const node = loadManifest(this.source, { bytes: raw.bytes, mediaType: raw.mediaType, expectedDigest: raw.digest });
      const existing = await this.target.resolveTag(tag);
      if (existing === node.digest) {
        this.record({ subject, digest: node.digest, kind, via: 'legacy-tag', tag, status: 'present' });
        continue;
      }
      if (existing !== undefined && this.options.force !== true) {
        throw new TollgateError('ALREADY_EXISTS', `${this.target.description}:${tag} already names ${existing}, not the source's ${node.digest} (other signatures are stored there); pass --force to replace it`);
      }
      await this.copyNode(node);
      await this.target.tagManifest(node.rawManifest, node.mediaType, tag);
      this.record({ subject, digest: node.digest, kind, via: 'legacy-tag', tag, status: 'copied' });
    }
  }

  private async readAttachment(descriptor: Descriptor): Promise<Node> {
    const raw = await this.source.fetchManifest(descriptor);
    return loadManifest(this.source, { ...raw, expectedDigest: descriptor.digest }, { descriptor });
  }

  private record(attachment: CopiedAttachment): void {
    if (this.result.attachments.length >= MAX_TOTAL_ATTACHMENTS) {
      throw new TollgateError('SIZE_LIMIT', `more than ${MAX_TOTAL_ATTACHMENTS} attachments in one copy; refusing to go on`);
    }
    this.result.attachments.push(attachment);
  }
}

/** A source in a registry repository can lend its blobs to another repository of the same registry. */
function mountSourceOf(source: ContentSource): MountSource | undefined {
  const location = (source as { location?: { registry?: unknown; repository?: unknown }; client?: unknown }).location;
  if (typeof location?.registry === 'string' && typeof location.repository === 'string' && (source as { client?: unknown }).client !== undefined) {
    return { registry: location.registry, repository: location.repository };
  }
  return undefined;
}
