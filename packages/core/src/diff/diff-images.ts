import { TollgateError } from '../errors/tollgate-error.js';
import type { Image } from '../image/image.js';
import type { ImageIndex } from '../image/image-index.js';
import type { OpenedImage } from '../image/open-image.js';
import type { ImageConfig } from '../image/types.js';
import { layerDiffIDs } from '../layer-index/layer-index.js';
import { formatPlatform } from '../platform/platform.js';
import { diffConfig } from './diff-config.js';
import { diffFiles } from './diff-files.js';
import { diffLayers } from './diff-layers.js';
import { diffManifests } from './diff-manifest.js';
import { ignoreMatcher } from './path-filter.js';
import {
  DIFF_SECTIONS,
  IMAGE_DIFF_SCHEMA_VERSION,
  type DiffOptions,
  type DiffSection,
  type FlaggedItem,
  type ImageDiff,
  type ImageSide,
} from './types.js';

interface Side {
  root: Image | ImageIndex;
  image: Image;
}

function sideOf(input: OpenedImage | Image): Side {
  if ('kind' in input && input.kind === 'image') return { root: input, image: input };
  const opened = input as OpenedImage;
  return { root: opened.root, image: opened.image };
}

function describe(side: Side, config: ImageConfig, reference: string | undefined): ImageSide {
  const out: ImageSide = {
    digest: side.image.digest,
    mediaType: side.image.mediaType,
    configDigest: side.image.configDescriptor.digest,
    layers: side.image.layers.length,
  };
  if (reference !== undefined) out.reference = reference;
  if (side.root.kind === 'index') out.indexDigest = side.root.digest;
  if (config.os && config.architecture) {
    const platform = { os: config.os, architecture: config.architecture } as { os: string; architecture: string; variant?: string };
    if (config.variant) platform.variant = config.variant;
    out.platform = formatPlatform(platform);
  }
  return out;
}

function sectionsOf(only: readonly DiffSection[] | undefined): DiffSection[] {
  if (only === undefined || only.length === 0) return [...DIFF_SECTIONS];
  for (const section of only) {
    if (!DIFF_SECTIONS.includes(section)) {
      throw new TollgateError('USAGE', `unknown diff section ${JSON.stringify(section)}; use ${DIFF_SECTIONS.join(', ')}`);
    }
  }
  return DIFF_SECTIONS.filter((s) => only.includes(s));
}

/**
 * What changed from image A to image B: the merged filesystems file by file, the configs field by field, the
 * layers (shared, added, removed, reordered, recompressed) and the manifests/indexes, with security-relevant
 * changes flagged. Layers with the same diffID on both sides are read at most once, and not at all when their
 * index is in `options.store`. A layer whose digest or diffID does not check out aborts the diff with
 * DIGEST_MISMATCH; a layer over the limits aborts with SIZE_LIMIT.
 */
export async function diffImages(inputA: OpenedImage | Image, inputB: OpenedImage | Image, options: DiffOptions = {}): Promise<ImageDiff> {
  const sections = sectionsOf(options.only);
  const semantic = options.semantic === true;
  const timestamps = options.timestamps === true;
  const ignored = ignoreMatcher(options.ignore);
  const a = sideOf(inputA);
  const b = sideOf(inputB);
  options.signal?.throwIfAborted();

  const [configA, configB] = await Promise.all([a.image.config(), b.image.config()]);
  const [diffIDsA, diffIDsB] = await Promise.all([layerDiffIDs(a.image), layerDiffIDs(b.image)]);

  const layers = diffLayers(a.image.layers, diffIDsA, b.image.layers, diffIDsB);
  const filesResult = sections.includes('files')
    ? await diffFiles({ image: a.image, diffIDs: diffIDsA }, { image: b.image, diffIDs: diffIDsB }, options, ignored)
    : undefined;
  const files = filesResult?.files ?? [];
  const config = sections.includes('config') ? diffConfig(configA, configB, semantic) : [];
  const manifest = sections.includes('manifest') ? diffManifests(a, b, semantic) : [];
  const layersShown = sections.includes('layers') ? layers : { shared: [], added: [], removed: [] };

  const flagged: FlaggedItem[] = [];
  for (const change of files) if (change.flags.length > 0) flagged.push({ section: 'files', target: change.path, flags: change.flags });
  for (const change of config) if (change.flags.length > 0) flagged.push({ section: 'config', target: change.field, flags: change.flags });
  const unsafe = filesResult?.unsafe ?? [];

  const layerSummary = {
    shared: layersShown.shared.length,
    added: layersShown.added.length,
    removed: layersShown.removed.length,
    reordered: layersShown.shared.filter((l) => l.reordered).length,
    recompressed: layersShown.shared.filter((l) => l.recompressed).length,
  };
  const layersDiffer = layerSummary.added + layerSummary.removed + layerSummary.reordered + layerSummary.recompressed > 0;
  const manifestDiffers = semantic ? manifest.some((m) => m.field === 'platforms' || m.field === 'index') : manifest.length > 0;
  const identical = files.length === 0 && config.length === 0 && !manifestDiffers && (semantic || !layersDiffer);

  return {
    schemaVersion: IMAGE_DIFF_SCHEMA_VERSION,
    identical,
    a: describe(a, configA, options.references?.a),
    b: describe(b, configB, options.references?.b),
    options: { semantic, timestamps, ignore: [...(options.ignore ?? [])], only: sections },
    summary: {
      files: {
        added: files.filter((f) => f.kind === 'added').length,
        removed: files.filter((f) => f.kind === 'removed').length,
        modified: files.filter((f) => f.kind === 'modified').length,
      },
      config: config.length,
      layers: layerSummary,
      manifest: manifest.length,
      flagged: flagged.length,
      unsafe: unsafe.length,
    },
    files,
    config,
    layers: layersShown,
    manifest,
    flagged,
    unsafe,
    stats: filesResult?.stats ?? { layersIndexed: 0, layersFromCache: 0, bytesRead: 0, sharedPrefixLayers: 0, pathsCompared: 0 },
  };
}
