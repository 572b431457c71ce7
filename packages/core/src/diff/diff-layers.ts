import type { Descriptor } from '../image/types.js';
import type { LayerRef, LayersDiff, SharedLayer } from './types.js';

function refs(layers: readonly Descriptor[], diffIDs: readonly string[]): LayerRef[] {
  return layers.map((d, index) => ({ index, diffID: diffIDs[index]!, digest: d.digest, mediaType: d.mediaType, size: d.size }));
}

/** Indexes (into `x`) of one longest common subsequence of x and y. */
function lcsIndexes(x: readonly string[], y: readonly string[]): Set<number> {
  const n = x.length;
  const m = y.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i]![j] = x[i] === y[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const out = new Set<number>();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.add(i);
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) i++;
    else j++;
  }
  return out;
}

/**
 * Which layers the images share (same diffID, paired in order of appearance), which are only in one, which shared
 * layers were recompressed (same diffID, different blob digest), and which were reordered (not in the longest
 * common order of the shared layers). Reads nothing: manifests and configs only.
 */
export function diffLayers(
  aLayers: readonly Descriptor[],
  aDiffIDs: readonly string[],
  bLayers: readonly Descriptor[],
  bDiffIDs: readonly string[],
): LayersDiff {
  const a = refs(aLayers, aDiffIDs);
  const b = refs(bLayers, bDiffIDs);
  const bByDiffID = new Map<string, LayerRef[]>();
  for (const ref of b) {
    const list = bByDiffID.get(ref.diffID);
    if (list) list.push(ref);
    else bByDiffID.set(ref.diffID, [ref]);
  }
  const pairs: { a: LayerRef; b: LayerRef }[] = [];
  const removed: LayerRef[] = [];
  const pairedB = new Set<number>();
  for (const ref of a) {
    const match = bByDiffID.get(ref.diffID)?.shift();
    if (match) {
      pairs.push({ a: ref, b: match });
      pairedB.add(match.index);
    } else {
      removed.push(ref);
    }
  }
  const added = b.filter((ref) => !pairedB.has(ref.index));
  // Shared layers in A's order vs in B's order: those outside the longest common order moved.
  const inA = pairs.map((p) => `${p.a.diffID}#${p.b.index}`);
  const inB = [...pairs].sort((x, y) => x.b.index - y.b.index).map((p) => `${p.a.diffID}#${p.b.index}`);
  const kept = lcsIndexes(inA, inB);
  const shared: SharedLayer[] = pairs.map((p, i) => ({
    diffID: p.a.diffID,
    a: p.a,
    b: p.b,
    recompressed: p.a.digest !== p.b.digest,
    reordered: !kept.has(i),
  }));
  return { shared, added, removed };
}
