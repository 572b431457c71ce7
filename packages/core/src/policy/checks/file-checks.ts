import { hardlinkHeadersOf, originOf, possibleModes } from '../../filesystem/inode.js';
import type { MergedEntry } from '../../filesystem/merged-filesystem.js';
import type { FileEntry } from '../../layer/types.js';
import type { PolicyImage } from '../evaluate/types.js';
import { mergedFiles } from './merged-files.js';
import type { CheckOutcome, PathMatcher } from './types.js';

const MAX_LISTED = 10;

/**
 * Docker Bench 4.8: no setuid or setgid regular file in the merged filesystem (what a container sees) outside the
 * allow-list. Hardlinks count as the file they link to. A hardlink header that gives its file another mode counts
 * too, on every path of that file: Docker applies it to the shared inode, GNU tar does not, so a bit that any
 * header sets is a bit the file may have. Directories are not flagged (setgid directories only set the group of
 * new files).
 */
export async function checkNoSetuid(image: PolicyImage, allow: PathMatcher): Promise<CheckOutcome> {
  const { fs, unsafe } = await mergedFiles(image);
  if (unsafe.length > 0) return unsafeOutcome('noSetuid', unsafe);
  const found: string[] = [];
  for (const path of fs.paths()) {
    const entry = fs.get(path)!;
    if (entry.type !== 'file' && entry.type !== 'hardlink') continue;
    const special = possibleModes(entry).reduce((bits, mode) => bits | (mode & 0o6000), 0);
    if (special === 0 || allow.test(path)) continue;
    const bits = [special & 0o4000 ? 'setuid' : '', special & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
    found.push(`/${path} (${bits}, ${describeModes(entry)})`);
  }
  found.sort();
  if (found.length === 0) return { check: 'noSetuid', passed: true, reason: 'no setuid or setgid files outside the allow-list' };
  return { check: 'noSetuid', passed: false, reason: `${found.length} setuid/setgid file${found.length === 1 ? '' : 's'} outside the allow-list: ${listed(found)}` };
}

/** `mode 4755`, or with the other modes hardlink headers give the file: `mode 0755, or 4755 by the hardlink header of /opt/y …`. */
function describeModes(entry: MergedEntry): string {
  const own = `mode ${octal(entry.mode)}`;
  const others = hardlinkHeadersOf(entry).filter((h) => h.mode !== entry.mode);
  if (others.length === 0) return own;
  const shown = others.slice(0, 3).map((h) => `${octal(h.mode)} by the hardlink header of /${h.path}`);
  const more = others.length > 3 ? ` and ${others.length - 3} more` : '';
  return `${own}, or ${shown.join(', or ')}${more}: extractors disagree on which applies`;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * No file that looks like a secret (private key, `.env`, credential file) in ANY layer outside the allow-list:
 * a secret a later layer deletes is hidden from the container but still in the image's blobs for anyone who
 * pulls it, so layers are searched one by one rather than the merged view. Each one found is reported as present
 * when the container can still read it — the same content at its own path, or the same file at any path hardlinked
 * to it (a hardlink keeps the file when its first name is deleted or replaced) — and otherwise as removed but still
 * in the layer blob.
 */
export async function checkNoSecrets(image: PolicyImage, patterns: PathMatcher, allow: PathMatcher): Promise<CheckOutcome> {
  const { fs, layers, unsafe, resolvedLinks } = await mergedFiles(image);
  if (unsafe.length > 0) return unsafeOutcome('noSecrets', unsafe);
  const matches: { entry: FileEntry; layer: number; file: FileEntry }[] = [];
  layers.forEach((layer, i) => {
    for (const entry of layer.files) {
      if (entry.whiteout !== undefined || (entry.type !== 'file' && entry.type !== 'hardlink')) continue;
      if (!patterns.test(entry.path) || allow.test(entry.path)) continue;
      const file = entry.type === 'hardlink' ? originOf(resolvedLinks.get(entry) ?? entry) : entry;
      matches.push({ entry, layer: i + 1, file });
    }
  });
  if (matches.length === 0) return { check: 'noSecrets', passed: true, reason: 'no files matching secret patterns outside the allow-list, in any layer' };

  // Where the container sees each of those files now: every path whose entry is that file.
  const wanted = new Set(matches.map((m) => m.file));
  const shownAt = new Map<FileEntry, string[]>();
  for (const path of fs.paths()) {
    const file = originOf(fs.get(path)!);
    if (!wanted.has(file)) continue;
    const paths = shownAt.get(file);
    if (paths === undefined) shownAt.set(file, [path]);
    else paths.push(path);
  }
  const found = matches.map(({ entry, layer, file }) => {
    const at = shownAt.get(file) ?? [];
    const here = fs.get(entry.path);
    const sameContent = here?.sha256 !== undefined && here.sha256 === file.sha256;
    if (at.includes(entry.path) || sameContent) return `/${entry.path} (layer ${layer})`;
    if (at.length > 0) {
      const where = at.sort().slice(0, 3).map((p) => `/${p}`).join(', ') + (at.length > 3 ? ` and ${at.length - 3} more` : '');
      return `/${entry.path} (layer ${layer}, removed or replaced later but still present through a hardlink at ${where})`;
    }
    return `/${entry.path} (layer ${layer}, removed or replaced later but still in the layer blob)`;
  });
  return { check: 'noSecrets', passed: false, reason: `${found.length} file${found.length === 1 ? '' : 's'} matching secret patterns: ${listed(found)}` };
}

function unsafeOutcome(check: string, unsafe: readonly string[]): CheckOutcome {
  return { check, passed: false, reason: `the image has ${unsafe.length} unsafe tar entr${unsafe.length === 1 ? 'y' : 'ies'} the check cannot see past (denied): ${listed(unsafe)}` };
}

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}
