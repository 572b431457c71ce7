import { applyLayer } from '../../filesystem/apply-layer.js';
import { MergedFilesystem, type MergedEntry } from '../../filesystem/merged-filesystem.js';
import type { LayerIndex } from '../../layer-index/layer-index.js';
import type { FileEntry } from '../../layer/types.js';
import type { PolicyImage } from '../evaluate/types.js';

export interface MergedFiles {
  fs: MergedFilesystem;
  /** The layer indexes applied, bottom first (their entries are the ones `resolvedLinks` is keyed by). */
  layers: LayerIndex[];
  /** Unsafe tar entries of any layer: file checks fail closed when there are any. */
  unsafe: string[];
  /** The entry each hardlink entry of any layer became when its layer was applied (its target's file). */
  resolvedLinks: Map<FileEntry, MergedEntry>;
}

const cache = new WeakMap<PolicyImage, Promise<MergedFiles>>();

/**
 * The image's merged filesystem (layers applied in order with OCI whiteouts and hardlinks), built once per
 * PolicyImage: what a container actually sees, so a secret deleted by a later layer is not reported as present (it
 * is still in the earlier layer's blob, which the `noSecrets` check reports as `removed or replaced later`).
 */
export function mergedFiles(image: PolicyImage): Promise<MergedFiles> {
  let merged = cache.get(image);
  if (merged === undefined) {
    merged = (async () => {
      const layers = await image.layerIndexes();
      const fs = new MergedFilesystem();
      const unsafe: string[] = [];
      const resolvedLinks = new Map<FileEntry, MergedEntry>();
      for (const layer of layers) {
        applyLayer(fs, layer.files, resolvedLinks);
        for (const entry of layer.unsafeEntries) unsafe.push(`layer ${layer.diffID}: ${entry.path}: ${entry.reason}`);
      }
      return { fs, layers, unsafe, resolvedLinks };
    })();
    cache.set(image, merged);
    merged.catch(() => cache.delete(image));
  }
  return merged;
}
