import { createRequire } from 'node:module';

type Picomatch = typeof import('picomatch');

/**
 * picomatch is only needed where globs are matched (diff flags and --ignore, policy path checks), not at start-up.
 * Required on first use, synchronously because the matchers are built by synchronous APIs; picomatch is
 * CommonJS, so require returns the very module object that an import would.
 */
const require = createRequire(import.meta.url);

let picomatch: Picomatch | undefined;

export function picomatchLibrary(): Picomatch {
  return (picomatch ??= require('picomatch') as Picomatch);
}
