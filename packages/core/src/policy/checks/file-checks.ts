import type { PolicyImage } from '../evaluate/types.js';
import { mergedFiles } from './merged-files.js';
import type { CheckOutcome, PathMatcher } from './types.js';

const MAX_LISTED = 10;

/**
 * Docker Bench 4.8: no setuid or setgid regular file in the merged filesystem (what a container sees) outside the
 * allow-list. Hardlinks count as the file they link to. Directories are not flagged (setgid directories only
 * set the group of new files).
 */
export async function checkNoSetuid(image: PolicyImage, allow: PathMatcher): Promise<CheckOutcome> {
  const { fs, unsafe } = await mergedFiles(image);
  if (unsafe.length > 0) return unsafeOutcome('noSetuid', unsafe);
  const found: string[] = [];
  for (const path of fs.paths()) {
    const entry = fs.get(path)!;
    if (entry.type !== 'file' && entry.type !== 'hardlink') continue;
    if ((entry.mode & 0o6000) === 0 || allow.test(path)) continue;
    const bits = [entry.mode & 0o4000 ? 'setuid' : '', entry.mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
    found.push(`/${path} (${bits}, mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')})`);
  }
  found.sort();
  if (found.length === 0) return { check: 'noSetuid', passed: true, reason: 'no setuid or setgid files outside the allow-list' };
  return { check: 'noSetuid', passed: false, reason: `${found.length} setuid/setgid file${found.length === 1 ? '' : 's'} outside the allow-list: ${listed(found)}` };
}

/**
 * No file that looks like a secret (private key, `.env`, credential file) in ANY layer outside the allow-list:
 * a secret a later layer deletes is hidden from the container but still in the image's blobs for anyone who
 * pulls it, so layers are searched one by one rather than the merged view.
 */
export async function checkNoSecrets(image: PolicyImage, patterns: PathMatcher, allow: PathMatcher): Promise<CheckOutcome> {
  const layers = await image.layerIndexes();
  const unsafe = layers.flatMap((l) => l.unsafeEntries.map((e) => `layer ${l.diffID}: ${e.path}: ${e.reason}`));
  if (unsafe.length > 0) return unsafeOutcome('noSecrets', unsafe);
  const { fs } = await mergedFiles(image);
  const found: string[] = [];
  layers.forEach((layer, i) => {
    for (const entry of layer.files) {
      if (entry.whiteout !== undefined || (entry.type !== 'file' && entry.type !== 'hardlink')) continue;
      if (!patterns.test(entry.path) || allow.test(entry.path)) continue;
      const visible = fs.get(entry.path);
      const hidden = visible === undefined || visible.sha256 !== entry.sha256;
      found.push(`/${entry.path} (layer ${i + 1}${hidden ? ', removed or replaced later but still in the layer blob' : ''})`);
    }
  });
  if (found.length === 0) return { check: 'noSecrets', passed: true, reason: 'no files matching secret patterns outside the allow-list, in any layer' };
  return { check: 'noSecrets', passed: false, reason: `${found.length} file${found.length === 1 ? '' : 's'} matching secret patterns: ${listed(found)}` };
}

function unsafeOutcome(check: string, unsafe: readonly string[]): CheckOutcome {
  return { check, passed: false, reason: `the image has ${unsafe.length} unsafe tar entr${unsafe.length === 1 ? 'y' : 'ies'} the check cannot see past (denied): ${listed(unsafe)}` };
}

function listed(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}
