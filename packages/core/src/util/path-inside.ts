import { isAbsolute, relative, sep } from 'node:path';

/** True when `candidate` is `root` itself or lies beneath it (both absolute, already resolved by realpath). */
export function isPathInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
