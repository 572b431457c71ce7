import { hardlinkHeadersOf, headerKey } from '../filesystem/inode.js';
import type { MergedEntry } from '../filesystem/merged-filesystem.js';
import type { FileAttribute, FileState } from './types.js';

export interface CompareOptions {
  timestamps: boolean;
  semantic: boolean;
}

export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The reported state of a merged entry (absolute path forms, octal mode). */
export function fileState(entry: MergedEntry, options: CompareOptions): FileState {
  const state: FileState = { type: entry.type, mode: formatMode(entry.mode), uid: entry.uid, gid: entry.gid, size: entry.size };
  if (entry.sha256 !== undefined) state.sha256 = entry.sha256;
  if (entry.linkTarget !== undefined && entry.type === 'symlink') state.linkTarget = entry.linkTarget;
  if (entry.hardlinkTo !== undefined) state.hardlinkTo = `/${entry.hardlinkTo}`;
  const headers = hardlinkHeadersOf(entry);
  if (headers.length > 0) {
    state.hardlinkHeaders = headers.map((h) => ({ path: `/${h.path}`, mode: formatMode(h.mode), uid: h.uid, gid: h.gid, ...(h.xattrs ? { xattrs: h.xattrs } : {}) }));
  }
  if (entry.xattrs !== undefined && Object.keys(entry.xattrs).length > 0) state.xattrs = entry.xattrs;
  if (entry.devmajor !== undefined) state.devmajor = entry.devmajor;
  if (entry.devminor !== undefined) state.devminor = entry.devminor;
  if (options.timestamps && !options.semantic && entry.mtime !== undefined) state.mtime = entry.mtime;
  return state;
}

function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  if (ka.length !== kb.length) return false;
  for (const key of ka) if (b![key] !== a![key]) return false;
  return true;
}

/** Whether two paths' files have the same set of differing hardlink headers (which link wrote one does not count). */
function sameHeaders(a: MergedEntry, b: MergedEntry): boolean {
  const ka = new Set(hardlinkHeadersOf(a).map(headerKey));
  const kb = new Set(hardlinkHeadersOf(b).map(headerKey));
  return ka.size === kb.size && [...ka].every((key) => kb.has(key));
}

/** What differs between two states of one path, in a fixed order. */
export function compareEntries(a: MergedEntry, b: MergedEntry, options: CompareOptions): FileAttribute[] {
  const out: FileAttribute[] = [];
  if (a.type !== b.type) out.push('type');
  if (a.type === 'file' && b.type === 'file' && a.sha256 !== b.sha256) out.push('content');
  if (a.type === b.type && (a.type === 'symlink' || a.type === 'hardlink') && a.linkTarget !== b.linkTarget) out.push('linkTarget');
  const bothSymlinks = a.type === 'symlink' && b.type === 'symlink';
  if (!(options.semantic && bothSymlinks)) {
    if ((a.mode & 0o777) !== (b.mode & 0o777)) out.push('mode');
    if ((a.mode & 0o7000) !== (b.mode & 0o7000)) out.push('special-bits');
  }
  if (a.uid !== b.uid) out.push('uid');
  if (a.gid !== b.gid) out.push('gid');
  if (!sameXattrs(a.xattrs, b.xattrs)) out.push('xattrs');
  if (a.type === b.type && (a.type === 'char' || a.type === 'block') && (a.devmajor !== b.devmajor || a.devminor !== b.devminor)) out.push('device');
  if (a.hardlinkTo !== b.hardlinkTo) out.push('hardlink');
  if (!sameHeaders(a, b)) out.push('hardlink-headers');
  if (options.timestamps && !options.semantic && a.mtime !== b.mtime) out.push('mtime');
  return out;
}
