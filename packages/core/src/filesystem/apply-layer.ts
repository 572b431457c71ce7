import type { FileEntry } from '../layer/types.js';
import { addHardlinkHeader, addInodePath, differingHeader, ownInode } from './inode.js';
import type { MergedEntry, MergedFilesystem } from './merged-filesystem.js';

/** Something in a layer that could not be applied as written; reported, never followed. */
export interface ApplyProblem {
  path: string;
  reason: string;
}

/**
 * Applies one layer's file index to `fs` with the OCI layer rules (image-spec layer.md): whiteouts apply only to
 * what LOWER layers put there, so they are applied before the layer's own entries, whatever their order in the
 * tar — first the opaque markers (`.wh..wh..opq`: delete everything below the directory, keep the directory),
 * then the file whiteouts (`.wh.<name>`: delete the name and everything below it; a whiteout of a path that does
 * not exist is harmless). Then each entry replaces what was at its path: a non-directory replacing a directory
 * deletes the directory's subtree; a directory replacing a directory keeps its children. A hardlink takes its
 * target's entry as it is at this moment (a later overwrite of the target does not change the link) and shares its
 * inode; a hardlink header whose mode, owner or xattrs differ from the target's is kept on that inode as a
 * `HardlinkHeader`, since extractors disagree about whether it changes the file (see inode.ts).
 * Returns the hardlinks whose target did not exist. `resolved`, when given, receives the entry each hardlink entry
 * became.
 */
export function applyLayer(fs: MergedFilesystem, files: readonly FileEntry[], resolved?: Map<FileEntry, MergedEntry>): ApplyProblem[] {
  const problems: ApplyProblem[] = [];
  let hasFileWhiteouts = false;
  for (const entry of files) {
    if (entry.whiteout === 'opaque') fs.removeBelow(entry.path);
    else if (entry.whiteout === 'file') hasFileWhiteouts = true;
  }
  if (hasFileWhiteouts) {
    for (const entry of files) if (entry.whiteout === 'file') fs.removeTree(entry.path);
  }
  for (const entry of files) {
    if (entry.whiteout !== undefined) continue;
    let merged: MergedEntry = entry;
    if (entry.type === 'hardlink') {
      merged = resolveHardlink(fs, entry, problems);
      resolved?.set(entry, merged);
    }
    if (merged.type !== 'dir') {
      const previous = fs.get(entry.path);
      if (previous?.type === 'dir') fs.removeBelow(entry.path);
    }
    fs.set(entry.path, merged);
  }
  return problems;
}

/** The entry a hardlink becomes: its target's file (content, metadata, inode), or itself when there is no target. */
function resolveHardlink(fs: MergedFilesystem, entry: FileEntry, problems: ApplyProblem[]): MergedEntry {
  const target = entry.linkTarget === undefined ? undefined : fs.get(entry.linkTarget);
  if (target === undefined || target.type === 'dir') {
    problems.push({
      path: entry.path,
      reason: target === undefined ? `hardlink to ${JSON.stringify(entry.linkTarget)}, which does not exist when its layer is applied` : `hardlink to the directory ${JSON.stringify(entry.linkTarget)}`,
    });
    // Its own file, with its own header's metadata (extraction fails here: there is nothing to link to).
    return { ...entry, hardlinkTo: entry.linkTarget ?? '' };
  }
  const inode = ownInode(fs, entry.linkTarget!, target);
  const header = differingHeader(entry, target);
  if (header !== undefined) addHardlinkHeader(inode, header);
  const { linkTarget: _target, hardlinkTo: _via, inode: _inode, ...content } = target;
  const merged: MergedEntry = { ...content, path: entry.path, hardlinkTo: entry.linkTarget!, inode };
  if (target.type === 'symlink' && target.linkTarget !== undefined) merged.linkTarget = target.linkTarget;
  addInodePath(inode, entry.path);
  return merged;
}
