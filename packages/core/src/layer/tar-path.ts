/** Normalisation of tar entry names into index paths, and what makes a name unsafe. */
export interface NormalisedPath {
  /** No leading './' or '/', no trailing '/', no '.' or empty components; '' for the root directory. */
  path: string;
  absolute: boolean;
  /** Has a '..' component: the entry is not indexed. */
  traversal: boolean;
}

export function normalisePath(raw: string): NormalisedPath {
  const absolute = raw.charCodeAt(0) === 0x2f;
  // Fast path: the common 'usr/lib/x' or './usr/lib/x' with nothing to clean up.
  let s = raw.startsWith('./') ? raw.slice(2) : raw;
  if (!absolute && s.length > 0 && s.charCodeAt(0) !== 0x2f && !s.includes('//') && !s.includes('/./') && !s.endsWith('/.') && !s.includes('..')) {
    if (s.endsWith('/')) s = s.slice(0, -1);
    if (s !== '.' && !s.startsWith('./')) return { path: s, absolute, traversal: false };
  }
  const parts: string[] = [];
  let traversal = false;
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') traversal = true;
    parts.push(part);
  }
  return { path: parts.join('/'), absolute, traversal };
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
/** '.wh..wh.' names other than the opaque marker are AUFS metadata; Docker and containerd skip them. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

export type WhiteoutKind =
  | { kind: 'none' }
  | { kind: 'opaque'; dir: string }
  | { kind: 'file'; target: string }
  | { kind: 'meta' }
  | { kind: 'invalid' };

/** Classifies a normalised path's last component as a whiteout marker. */
export function classifyWhiteout(path: string): WhiteoutKind {
  const slash = path.lastIndexOf('/');
  const base = path.slice(slash + 1);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'none' };
  const dir = slash < 0 ? '' : path.slice(0, slash);
  if (base === OPAQUE_WHITEOUT) return { kind: 'opaque', dir };
  if (base.startsWith(WHITEOUT_META_PREFIX)) return { kind: 'meta' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') return { kind: 'invalid' };
  return { kind: 'file', target: dir === '' ? name : `${dir}/${name}` };
}
