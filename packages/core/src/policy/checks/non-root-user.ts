import type { FileEntry } from '../../layer/types.js';
import type { LayerIndex } from '../../layer-index/layer-index.js';
import type { PolicyImage } from '../evaluate/types.js';
import { mergedFiles } from './merged-files.js';
import { lookupPasswdUser, MAX_UID } from './passwd.js';
import { formatSize } from './size.js';
import type { CheckOutcome } from './types.js';

/** /etc/passwd is read whole; a bigger one fails the check rather than being truncated. */
export const MAX_PASSWD_BYTES = 1024 * 1024;
const PASSWD = 'etc/passwd';
const FIX = 'set USER to a numeric uid (USER 1000)';

const outcomes = new WeakMap<PolicyImage, Promise<CheckOutcome>>();

/**
 * Docker Bench 4.1: the image must not run as root. A numeric `User` (`1000`, `1000:1000`) is decided by the number;
 * empty, `root` or uid 0 is root. A name is looked up in the image's own /etc/passwd as the container would see it
 * (the merged filesystem), which costs one read of the layer that holds the file; kubelet's runAsNonRoot refuses
 * names outright because it cannot do this. Anything that keeps the lookup from being certain fails closed.
 * Kept per image: evaluating it again costs nothing. Read errors reject (the caller fails the check) and are not kept.
 */
export function checkNonRootUser(image: PolicyImage): Promise<CheckOutcome> {
  let outcome = outcomes.get(image);
  if (outcome === undefined) {
    outcome = decide(image);
    outcomes.set(image, outcome);
    outcome.catch(() => outcomes.delete(image));
  }
  return outcome;
}

async function decide(image: PolicyImage): Promise<CheckOutcome> {
  const user = image.config.config?.User;
  const pass = (reason: string): CheckOutcome => ({ check: 'nonRootUser', passed: true, reason });
  const fail = (reason: string): CheckOutcome => ({ check: 'nonRootUser', passed: false, reason });
  if (user === undefined || user.trim() === '') return fail('the image runs as root: its config has no User (so root); set USER to an unprivileged user');
  const shown = JSON.stringify(user.slice(0, 64));
  // As runc splits it: the user is what comes before the first ':'. Not trimmed: runtimes look the name up as is.
  const name = user.split(':', 1)[0]!;
  if (name === 'root') return fail(`the image runs as root: its config has User ${shown}; set USER to an unprivileged user`);

  // Numeric as Go's strconv.Atoi reads it (runc decides "is it a uid?" that way), so `+0` and `00` are uid 0.
  if (/^[+-]?[0-9]+$/.test(name)) {
    const uid = Number(name);
    if (uid === 0) return fail(`the image runs as root: its config has User ${shown} (uid 0); set USER to an unprivileged user`);
    if (uid < 0 || uid > MAX_UID) return fail(`the image's User ${shown} is not a uid a runtime accepts (0 to ${MAX_UID}); ${FIX}`);
    return pass(`the image runs as uid ${uid} (User ${shown}), not root`);
  }

  const unknown = (why: string) => fail(`the image runs as ${JSON.stringify(name.slice(0, 64))}, which cannot be checked: ${why}; ${FIX}`);
  const { fs, unsafe } = await mergedFiles(image);
  if (unsafe.length > 0) return unknown(`the image has ${unsafe.length} unsafe tar entr${unsafe.length === 1 ? 'y' : 'ies'} that could change /etc/passwd`);
  const etc = fs.get('etc');
  if (etc !== undefined && etc.type !== 'dir') return unknown(`/etc is a ${etc.type}, not a directory`);
  const entry = fs.get(PASSWD);
  if (entry === undefined) return unknown('the image has no /etc/passwd');
  if (entry.type === 'symlink') return unknown(`/etc/passwd is a symlink (to ${JSON.stringify((entry.linkTarget ?? '').slice(0, 64))}), which tollgate does not follow`);
  if (entry.type !== 'file' || entry.sha256 === undefined) return unknown(`/etc/passwd is a ${entry.type}, not a regular file`);
  if (entry.size > MAX_PASSWD_BYTES) return unknown(`/etc/passwd is ${formatSize(entry.size)}, over the ${formatSize(MAX_PASSWD_BYTES)} tollgate reads`);
  if (image.readLayerFile === undefined) return unknown('this evaluation cannot read the image\'s layers');

  const source = holderOf(await image.layerIndexes(), entry.sha256, [PASSWD, ...(entry.hardlinkTo ? [entry.hardlinkTo] : [])]);
  if (source === undefined) return unknown('no layer holds the content the merged /etc/passwd has');
  const content = await image.readLayerFile(source.layer, source.path, { sha256: entry.sha256, maxBytes: MAX_PASSWD_BYTES });

  const found = lookupPasswdUser(content, name);
  const named = JSON.stringify(name.slice(0, 64));
  switch (found.kind) {
    case 'missing':
      return unknown(`/etc/passwd has no entry for ${named}`);
    case 'unusable':
      return unknown(`in /etc/passwd, ${found.why}`);
    case 'uid':
      return found.uid === 0
        ? fail(`the image runs as ${named}, which /etc/passwd maps to uid 0 (line ${found.line}): that is root; ${FIX}`)
        : pass(`the image runs as ${named}, which /etc/passwd maps to uid ${found.uid} (line ${found.line}), not root`);
  }
}

/**
 * The topmost layer that holds the content as the regular file its extraction leaves at some path (a hardlink's
 * content was written under its target's path), preferring the given paths. Content is named by its sha256, so
 * any such path yields the same bytes.
 */
function holderOf(layers: readonly LayerIndex[], sha256: string, preferred: readonly string[]): { layer: LayerIndex; path: string } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const last = new Map<string, FileEntry>();
    for (const file of layer.files) if (file.whiteout === undefined) last.set(file.path, file);
    let path: string | undefined;
    for (const file of last.values()) {
      if (file.type !== 'file' || file.sha256 !== sha256) continue;
      if (path === undefined || preferred.includes(file.path)) path = file.path;
      if (preferred.includes(file.path)) break;
    }
    if (path !== undefined) return { layer, path };
  }
  return undefined;
}
