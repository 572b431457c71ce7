import { applyLayer } from '../../filesystem/apply-layer.js';
import { MergedFilesystem } from '../../filesystem/merged-filesystem.js';
import type { PolicyImage } from '../evaluate/types.js';

export interface MergedFiles {
  fs: MergedFilesystem;
  /** Unsafe tar entries of any layer: file checks fail closed when there are any. */
  unsafe: string[];
}

const cache = new WeakMap<PolicyImage, Promise<MergedFiles>>();

/**
 * The image's merged filesystem (layers applied in order with OCI whiteouts and hardlinks), built once per
 * PolicyImage: what a container actually sees, so a secret deleted by a later layer is not reported (it is still
 * in the earlier layer's blob, which the `noSecrets` check reports separately as `in a lower layer`).
 */
export function mergedFiles(image: PolicyImage): Promise<MergedFiles> {
  let merged = cache.get(image);
  if (merged === undefined) {
    merged = (async () => {
      const layers = await image.layerIndexes();
      const fs = new MergedFilesystem();
      const unsafe: string[] = [];
      for (const layer of layers) {
        applyLayer(fs, layer.files);
        for (const entry of layer.unsafeEntries) unsafe.push(`layer ${layer.diffID}: ${entry.path}: ${entry.reason}`);
      }
      return { fs, unsafe };
    })();
    cache.set(image, merged);
    merged.catch(() => cache.delete(image));
  }
  return merged;
}
