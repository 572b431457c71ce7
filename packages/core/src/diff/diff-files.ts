import type { Image } from '../image/image.js';
import { applyLayer } from '../filesystem/apply-layer.js';
import { MergedFilesystem } from '../filesystem/merged-filesystem.js';
import { indexLayerJobs, type LayerIndex, type LayerJob } from '../layer-index/layer-index.js';
import { compareEntries, fileState, type CompareOptions } from './file-state.js';
import { fileFlags } from './security-flags.js';
import type { DiffOptions, DiffStats, FileChange, UnsafeItem } from './types.js';

export interface FilesDiffResult {
  files: FileChange[];
  unsafe: UnsafeItem[];
  stats: DiffStats;
}

export interface FilesSide {
  image: Image;
  diffIDs: readonly string[];
}

function sharedPrefix(a: readonly string[], b: readonly string[]): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}

/**
 * File-by-file differences of two images' merged filesystems. Every distinct diffID is indexed once (from the
 * store when cached). The leading layers the images share are merged once; each image then applies its own
 * layers on top of that, and only the paths those layers touched are compared — the rest is identical by
 * construction. Images with the same diffIDs are not read at all.
 */
export async function diffFiles(a: FilesSide, b: FilesSide, options: DiffOptions, ignored: (path: string) => boolean): Promise<FilesDiffResult> {
  const k = sharedPrefix(a.diffIDs, b.diffIDs);
  const stats: DiffStats = { layersIndexed: 0, layersFromCache: 0, bytesRead: 0, sharedPrefixLayers: k, pathsCompared: 0 };
  if (k === a.diffIDs.length && k === b.diffIDs.length) return { files: [], unsafe: [], stats };

  const jobs: LayerJob[] = [];
  for (const side of [a, b]) side.image.layers.forEach((descriptor, i) => jobs.push({ image: side.image, descriptor, diffID: side.diffIDs[i]! }));
  const indexes = await indexLayerJobs(jobs, { store: options.store, limits: options.limits, signal: options.signal, concurrency: options.concurrency });
  for (const index of indexes.values()) {
    stats.layersIndexed++;
    if (index.fromCache) stats.layersFromCache++;
    stats.bytesRead += index.bytesRead;
  }

  const unsafe: UnsafeItem[] = [];
  const inA = new Set(a.diffIDs);
  const inB = new Set(b.diffIDs);
  const imagesOf = (diffID: string): ('a' | 'b')[] => [...(inA.has(diffID) ? ['a' as const] : []), ...(inB.has(diffID) ? ['b' as const] : [])];
  for (const index of indexes.values()) {
    for (const entry of index.unsafeEntries) unsafe.push({ images: imagesOf(index.diffID), layerDiffID: index.diffID, path: entry.path, reason: entry.reason });
  }
  const apply = (fs: MergedFilesystem, diffIDs: readonly string[], images: ('a' | 'b')[]): void => {
    for (const diffID of diffIDs) {
      const index: LayerIndex = indexes.get(diffID)!;
      for (const problem of applyLayer(fs, index.files)) unsafe.push({ images, layerDiffID: diffID, path: `/${problem.path}`, reason: problem.reason });
    }
  };

  const base = new MergedFilesystem();
  apply(base, a.diffIDs.slice(0, k), ['a', 'b']);
  const fa = new MergedFilesystem(base);
  const fb = new MergedFilesystem(base);
  apply(fa, a.diffIDs.slice(k), ['a']);
  apply(fb, b.diffIDs.slice(k), ['b']);

  const compare: CompareOptions = { timestamps: options.timestamps === true, semantic: options.semantic === true };
  const paths = new Set<string>(fa.changedPaths());
  for (const path of fb.changedPaths()) paths.add(path);
  stats.pathsCompared = paths.size;
  const files: FileChange[] = [];
  for (const path of paths) {
    const ea = fa.get(path);
    const eb = fb.get(path);
    if (ea === eb || ignored(path)) continue;
    const abs = `/${path}`;
    if (ea === undefined) {
      files.push({ path: abs, kind: 'added', changes: [], after: fileState(eb!, compare), flags: fileFlags(path, undefined, eb!, []) });
    } else if (eb === undefined) {
      files.push({ path: abs, kind: 'removed', changes: [], before: fileState(ea, compare), flags: [] });
    } else {
      const changes = compareEntries(ea, eb, compare);
      if (changes.length === 0) continue;
      files.push({ path: abs, kind: 'modified', changes, before: fileState(ea, compare), after: fileState(eb, compare), flags: fileFlags(path, ea, eb, changes) });
    }
  }
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  unsafe.sort((x, y) => (x.layerDiffID < y.layerDiffID ? -1 : x.layerDiffID > y.layerDiffID ? 1 : x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { files, unsafe, stats };
}
