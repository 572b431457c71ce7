import { applyLayer } from '../../filesystem/apply-layer.js';
import { MergedFilesystem } from '../../filesystem/merged-filesystem.js';
import type { Image } from '../../image/image.js';
import { indexLayers, type IndexLayersOptions } from '../../layer-index/layer-index.js';
import type { FileType } from '../../layer/types.js';

/** One path of the merged filesystem, as the filemanifest predicate records it. */
export interface FileManifestEntry {
  type: FileType;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  digest?: string;
  linkTarget?: string;
}

/** `https://tollgate.dev/attestations/filemanifest/v1`: the image's full merged file index. */
export interface FileManifestPredicate {
  image: { digest: string; config: string };
  layers: string[];
  files: Record<string, FileManifestEntry>;
}

/**
 * Computes the filemanifest predicate of an image: every layer indexed (each verified against its digest and
 * diffID), whiteouts applied in order, and the resulting filesystem listed path by path (sorted) with type,
 * mode (octal), owner, size and sha256 of regular files, and link targets.
 */
export async function computeFileManifest(image: Image, options: IndexLayersOptions = {}): Promise<FileManifestPredicate> {
  const indexes = await indexLayers(image, options);
  const fs = new MergedFilesystem();
  for (const index of indexes) applyLayer(fs, index.files);
  const files: Record<string, FileManifestEntry> = {};
  for (const path of [...fs.paths()].sort()) {
    const entry = fs.get(path)!;
    files[path] = {
      type: entry.type,
      mode: entry.mode.toString(8).padStart(4, '0'),
      uid: entry.uid,
      gid: entry.gid,
      ...(entry.type === 'file' ? { size: entry.size } : {}),
      ...(entry.sha256 !== undefined ? { digest: entry.sha256 } : {}),
      ...(entry.linkTarget !== undefined ? { linkTarget: entry.linkTarget } : {}),
    };
  }
  return { image: { digest: image.digest, config: image.configDescriptor.digest }, layers: indexes.map((i) => i.diffID), files };
}

export interface FileManifestChange {
  path: string;
  change: 'added' | 'removed' | 'modified';
  /** The attributes that differ (for modified). */
  fields?: string[];
}

/** The paths where `current` differs from the signed `baseline`: what a later change of the image did to its files. */
export function compareFileManifests(baseline: FileManifestPredicate, current: FileManifestPredicate): FileManifestChange[] {
  const changes: FileManifestChange[] = [];
  const paths = new Set([...Object.keys(baseline.files), ...Object.keys(current.files)]);
  for (const path of [...paths].sort()) {
    const before = Object.hasOwn(baseline.files, path) ? baseline.files[path] : undefined;
    const after = Object.hasOwn(current.files, path) ? current.files[path] : undefined;
    if (!before) changes.push({ path, change: 'added' });
    else if (!after) changes.push({ path, change: 'removed' });
    else {
      const fields = (['type', 'mode', 'uid', 'gid', 'size', 'digest', 'linkTarget'] as const).filter((f) => before[f] !== after[f]);
      if (fields.length > 0) changes.push({ path, change: 'modified', fields });
    }
  }
  return changes;
}
