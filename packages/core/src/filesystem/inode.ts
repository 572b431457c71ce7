import type { FileEntry } from '../layer/types.js';
import type { MergedEntry, MergedFilesystem } from './merged-filesystem.js';

/**
 * A hardlink header that gives the file it links to other metadata than the file's own header. Extractors disagree
 * about such a header: Docker's and containerd's (Go) chown the shared inode to the link header's owner and set its
 * xattrs, and chmod it to the link header's mode when the link name resolves from their working directory (inside
 * Docker's chroot it does); GNU tar ignores all of it. So every path of the inode — the target, the link, and every
 * other link to it — may end up with this metadata, and checks treat it as possible (fail closed).
 */
export interface HardlinkHeader {
  /** The hardlink entry's path. */
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** The xattrs the link header sets, when it sets any. */
  xattrs?: Record<string, string>;
}

/** The file that hardlinks share: the paths with the same Inode are one file on disk. */
export interface Inode {
  /** The layer entry that created the file: the same secret, the same content, whatever path now shows it. */
  readonly origin: FileEntry;
  /** Hardlink headers naming this file with metadata other than its own (distinct ones, in tar order). */
  readonly hardlinkHeaders: readonly HardlinkHeader[];
  /** Paths that were given this inode; a path may have been replaced since (its entry's inode tells). */
  readonly paths: readonly string[];
}

interface InodeState {
  owner: MergedFilesystem;
  headers: HardlinkHeader[];
  paths: string[];
  seen: Set<string>;
}

/** Inodes may only be changed by the filesystem that made them: a lower filesystem can be shared by two views. */
const states = new WeakMap<Inode, InodeState>();

/** The layer entry that created this path's file (the entry itself when it was never hardlinked). */
export function originOf(entry: MergedEntry): FileEntry {
  return entry.inode?.origin ?? entry;
}

/** The hardlink headers that may give this path's file other metadata (none for most files). */
export function hardlinkHeadersOf(entry: MergedEntry): readonly HardlinkHeader[] {
  return entry.inode?.hardlinkHeaders ?? [];
}

/** Every mode this path's file may have: its own, then each differing hardlink header's. */
export function possibleModes(entry: MergedEntry): number[] {
  return [entry.mode, ...hardlinkHeadersOf(entry).map((h) => h.mode)];
}

/**
 * The inode of the entry at `path`, one that `fs` may change: an entry with no inode gets a new one; an inode made
 * by a lower filesystem is copied, and every path of it that still shows it is repointed to the copy (once per
 * filesystem and inode, so a file with many links costs linear time).
 */
export function ownInode(fs: MergedFilesystem, path: string, entry: MergedEntry): Inode {
  const current = entry.inode;
  if (current !== undefined && states.get(current)?.owner === fs) return current;
  const state: InodeState = { owner: fs, headers: [...(current?.hardlinkHeaders ?? [])], paths: [], seen: new Set() };
  for (const header of state.headers) state.seen.add(headerKey(header));
  const inode: Inode = { origin: current?.origin ?? entry, hardlinkHeaders: state.headers, paths: state.paths };
  states.set(inode, state);
  for (const p of current === undefined ? [path] : current.paths) {
    const shown = fs.get(p);
    if (shown === undefined || (shown !== entry && (current === undefined || shown.inode !== current))) continue;
    fs.set(p, { ...shown, inode });
    state.paths.push(p);
  }
  return inode;
}

/** Records that a hardlink entry at `path` now shows the inode. */
export function addInodePath(inode: Inode, path: string): void {
  states.get(inode)!.paths.push(path);
}

/**
 * The hardlink header of `link` when it gives the file other metadata than `target` (the entry it links to) has:
 * a different mode, owner or group, or an xattr the target lacks or has with another value. Undefined otherwise.
 */
export function differingHeader(link: FileEntry, target: MergedEntry): HardlinkHeader | undefined {
  const xattrs = link.xattrs !== undefined && Object.keys(link.xattrs).length > 0 ? link.xattrs : undefined;
  const sameXattrs = xattrs === undefined || Object.entries(xattrs).every(([key, value]) => target.xattrs?.[key] === value);
  if (link.mode === target.mode && link.uid === target.uid && link.gid === target.gid && sameXattrs) return undefined;
  return { path: link.path, mode: link.mode, uid: link.uid, gid: link.gid, ...(xattrs ? { xattrs } : {}) };
}

/** Adds a hardlink header to an inode `fs` owns, unless an equal one (path aside) is there already. */
export function addHardlinkHeader(inode: Inode, header: HardlinkHeader): void {
  const state = states.get(inode)!;
  const key = headerKey(header);
  if (state.seen.has(key)) return;
  state.seen.add(key);
  state.headers.push(header);
}

/** The metadata of a header as one comparable string (the path is not part of it). */
export function headerKey(header: Omit<HardlinkHeader, 'path'>): string {
  const xattrs = header.xattrs ? Object.entries(header.xattrs).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)) : [];
  return JSON.stringify([header.mode, header.uid, header.gid, xattrs]);
}
