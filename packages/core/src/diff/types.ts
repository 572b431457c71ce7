import type { LayerIndexStore } from '../store/layer-index-store.js';
import type { FileType, LayerLimits } from '../layer/types.js';

/** The JSON schema version of an ImageDiff; bumped only for incompatible changes (fields may be added). */
export const IMAGE_DIFF_SCHEMA_VERSION = 1;

export type DiffSection = 'files' | 'config' | 'layers' | 'manifest';
export const DIFF_SECTIONS: readonly DiffSection[] = ['files', 'config', 'layers', 'manifest'];

export interface DiffOptions {
  /** Compare file mtimes (off by default: rebuilt images differ in mtime everywhere). Ignored with `semantic`. */
  timestamps?: boolean;
  /**
   * Ignore what rebuilds change without changing meaning: timestamps (mtime, config `created`, the
   * `org.opencontainers.image.created` annotation), history, symlink permission bits, layer and manifest digests,
   * Docker-vs-OCI media type spellings. Tar entry order and `./x` vs `/x` path forms never count.
   */
  semantic?: boolean;
  /** Glob patterns (picomatch) of paths whose file changes are left out; matched against '/x/y' and 'x/y'. */
  ignore?: readonly string[];
  /** Sections to compare and report (default all). */
  only?: readonly DiffSection[];
  /** Layer file index cache by diffID. */
  store?: LayerIndexStore;
  /** Bounds on each layer read: size and compression ratio (decompression bombs). */
  limits?: LayerLimits;
  signal?: AbortSignal;
  /** Layers read at once (default 2). */
  concurrency?: number;
  /** Shown in the result as each side's `reference`. */
  references?: { a?: string; b?: string };
}

export type SecurityFlag =
  | 'setuid-added'
  | 'setgid-added'
  | 'world-writable'
  | 'file-capabilities'
  | 'sensitive-path'
  | 'private-key'
  | 'credential-file'
  | 'link-escapes-root'
  | 'user-root';

export type FileAttribute =
  | 'type'
  | 'content'
  | 'linkTarget'
  | 'mode'
  | 'special-bits'
  | 'uid'
  | 'gid'
  | 'xattrs'
  | 'device'
  | 'hardlink'
  | 'hardlink-headers'
  | 'mtime';

/** A path's state in one image's merged filesystem. */
export interface FileState {
  type: FileType;
  /** Four octal digits including setuid/setgid/sticky, e.g. "0644", "4755". */
  mode: string;
  uid: number;
  gid: number;
  /** Bytes, regular files only (0 otherwise). */
  size: number;
  /** 'sha256:<hex>' of the content, regular files only. */
  sha256?: string;
  /** Symlink target, as written. */
  linkTarget?: string;
  /** '/path' of the file this path was hardlinked to when its layer was applied. */
  hardlinkTo?: string;
  /**
   * Hardlink headers that name this path's file (it, its target, or another link to the same file) with another
   * mode, owner or xattrs than `mode`/`uid`/`gid`/`xattrs`. Extractors disagree: Docker applies such a header to the
   * shared file, GNU tar ignores it, so the file may have either. Absent when there are none.
   */
  hardlinkHeaders?: HardlinkHeaderState[];
  xattrs?: Record<string, string>;
  devmajor?: number;
  devminor?: number;
  /** Seconds since the epoch; only with `timestamps`. */
  mtime?: number;
}

/** A hardlink header's metadata for a file, as reported. */
export interface HardlinkHeaderState {
  /** '/path' of the hardlink entry. */
  path: string;
  /** Four octal digits, as in FileState. */
  mode: string;
  uid: number;
  gid: number;
  xattrs?: Record<string, string>;
}

export interface FileChange {
  /** Absolute path in the image, e.g. '/etc/passwd'. */
  path: string;
  kind: 'added' | 'removed' | 'modified';
  /** What differs (for 'modified'); empty for added/removed. */
  changes: FileAttribute[];
  before?: FileState;
  after?: FileState;
  flags: SecurityFlag[];
}

export interface ConfigChange {
  /** The config field, as a JSON path: 'config.User', 'config.Env[PATH]', 'config.Labels[key]', 'architecture', 'history' … */
  field: string;
  /** Absent when the field was not set. */
  before?: unknown;
  after?: unknown;
  flags: SecurityFlag[];
}

export interface LayerRef {
  /** Position in the image's manifest. */
  index: number;
  diffID: string;
  digest: string;
  mediaType: string;
  size: number;
}

export interface SharedLayer {
  diffID: string;
  a: LayerRef;
  b: LayerRef;
  /** Same diffID, different blob: the same tar compressed differently. */
  recompressed: boolean;
  /** Its order relative to the other shared layers differs between the images. */
  reordered: boolean;
}

export interface LayersDiff {
  shared: SharedLayer[];
  /** Layers only in B. */
  added: LayerRef[];
  /** Layers only in A. */
  removed: LayerRef[];
}

export interface ManifestChange {
  scope: 'index' | 'manifest';
  /** 'mediaType', 'annotations[key]', 'artifactType', 'subject', 'config.mediaType', 'platforms', 'digest' */
  field: string;
  before?: unknown;
  after?: unknown;
}

export interface FlaggedItem {
  section: 'files' | 'config';
  /** A file path or a config field. */
  target: string;
  flags: SecurityFlag[];
}

/** A hostile or unusable tar entry, or a hardlink whose target is missing; reported, never followed. */
export interface UnsafeItem {
  /** Which images contain the layer. */
  images: ('a' | 'b')[];
  layerDiffID: string;
  /** The name as written in the tar (or the normalised path for hardlink problems). */
  path: string;
  reason: string;
}

export interface ImageSide {
  reference?: string;
  /** The image manifest's digest. */
  digest: string;
  mediaType: string;
  /** The index the image was picked from, when the reference named an index. */
  indexDigest?: string;
  platform?: string;
  configDigest: string;
  layers: number;
}

export interface DiffSummary {
  files: { added: number; removed: number; modified: number };
  config: number;
  layers: { shared: number; added: number; removed: number; reordered: number; recompressed: number };
  manifest: number;
  flagged: number;
  unsafe: number;
}

export interface DiffStats {
  /** Distinct layers whose file index was needed. */
  layersIndexed: number;
  /** Of those, indexes taken from the store without reading the blob. */
  layersFromCache: number;
  /** Compressed bytes read. */
  bytesRead: number;
  /** Leading layers (same diffIDs) merged once for both images. */
  sharedPrefixLayers: number;
  /** Paths compared (only paths that a non-shared layer touched). */
  pathsCompared: number;
}

export interface ImageDiff {
  schemaVersion: typeof IMAGE_DIFF_SCHEMA_VERSION;
  /** True when no compared section differs (with `semantic`: no file, config or platform difference). */
  identical: boolean;
  a: ImageSide;
  b: ImageSide;
  options: { semantic: boolean; timestamps: boolean; ignore: string[]; only: DiffSection[] };
  summary: DiffSummary;
  /** Sorted by path. */
  files: FileChange[];
  config: ConfigChange[];
  layers: LayersDiff;
  manifest: ManifestChange[];
  flagged: FlaggedItem[];
  unsafe: UnsafeItem[];
  stats: DiffStats;
}
