import type { PolicyImageLayer } from '../evaluate/types.js';
import { formatSize } from './size.js';
import type { BaseImage, CheckOutcome } from './types.js';

/** Image size: the sum of the layers' compressed sizes as the manifest declares them. */
export function checkMaxSize(layers: readonly PolicyImageLayer[], maxSize: number): CheckOutcome {
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);
  return total <= maxSize
    ? { check: 'maxSize', passed: true, reason: `the layers total ${formatSize(total)}, within ${formatSize(maxSize)}` }
    : { check: 'maxSize', passed: false, reason: `the layers total ${formatSize(total)}, over the limit of ${formatSize(maxSize)}` };
}

export function checkMaxLayers(layers: readonly PolicyImageLayer[], maxLayers: number): CheckOutcome {
  return layers.length <= maxLayers
    ? { check: 'maxLayers', passed: true, reason: `${layers.length} layer${layers.length === 1 ? '' : 's'}, within ${maxLayers}` }
    : { check: 'maxLayers', passed: false, reason: `${layers.length} layers, over the limit of ${maxLayers}` };
}

/**
 * The image must be built on an allowed base: its first N layer diffIDs (from the verified config) equal the N
 * diffIDs of one base, in order. DiffIDs name uncompressed content, so recompressing a base does not change them.
 */
export function checkBaseImages(layers: readonly PolicyImageLayer[], bases: readonly BaseImage[]): CheckOutcome {
  for (const base of bases) {
    if (base.diffIDs.length <= layers.length && base.diffIDs.every((diffID, i) => layers[i]!.diffID === diffID)) {
      const label = base.digest ? `${base.name} (${base.digest})` : base.name;
      return { check: 'baseImages', passed: true, reason: `built on the allowed base ${label}: its first ${base.diffIDs.length} layer${base.diffIDs.length === 1 ? '' : 's'} match` };
    }
  }
  const first = layers[0]?.diffID ?? 'no layers';
  return {
    check: 'baseImages',
    passed: false,
    reason: `not built on an allowed base (${bases.map((b) => b.name).join(', ')}): no base's diffIDs are the image's first layers (first layer ${first})`,
  };
}
