import { TollgateError } from '../errors/tollgate-error.js';
import { picomatchLibrary } from '../util/picomatch-library.js';

/** Maximum number of --ignore patterns and their length: globs compile to regular expressions. */
const MAX_PATTERNS = 256;
const MAX_PATTERN_LENGTH = 1024;

/**
 * A predicate over normalised paths ('etc/passwd') that is true when a pattern matches the path in either of its
 * forms, 'etc/passwd' or '/etc/passwd', so `/var/cache/**` and `var/cache/**` both work. Dotfiles match.
 */
export function ignoreMatcher(patterns: readonly string[] | undefined): (path: string) => boolean {
  if (!patterns || patterns.length === 0) return () => false;
  if (patterns.length > MAX_PATTERNS) throw new TollgateError('USAGE', `at most ${MAX_PATTERNS} --ignore patterns are accepted; combine them with {a,b} braces`);
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
      throw new TollgateError('USAGE', `--ignore patterns must be non-empty globs of at most ${MAX_PATTERN_LENGTH} characters`);
    }
  }
  const picomatch = picomatchLibrary();
  let match: (path: string) => boolean;
  try {
    match = picomatch(patterns as string[], { dot: true });
  } catch (error) {
    throw new TollgateError('USAGE', `invalid --ignore pattern: ${(error as Error).message}`);
  }
  return (path) => match(path) || match(`/${path}`);
}
