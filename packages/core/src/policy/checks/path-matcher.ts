import type { PathMatcher } from './types.js';
import { picomatchLibrary } from '../../util/picomatch-library.js';

/**
 * Compiles glob patterns over image paths. Paths in a file index have no leading "/", so a leading "/" in a
 * pattern is dropped: `/usr/bin/passwd` and `usr/bin/passwd` are the same pattern. Dotfiles are matched.
 */
export function pathMatcher(patterns: readonly string[]): PathMatcher {
  const cleaned = patterns.map((p) => p.replace(/^\/+/, ''));
  if (cleaned.length === 0) return { patterns, test: () => false };
  const test = picomatchLibrary()(cleaned, { dot: true });
  return { patterns, test: (path) => test(path) };
}

/** Why a glob pattern is unusable, or undefined when it compiles. */
export function globProblem(pattern: string): string | undefined {
  try {
    picomatchLibrary().makeRe(pattern.replace(/^\/+/, ''), { dot: true });
    return undefined;
  } catch (error) {
    return `the glob pattern does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
}
