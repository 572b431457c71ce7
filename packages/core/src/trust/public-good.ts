import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TollgateError } from '../errors/tollgate-error.js';
import { loadTrustedRoot, type TrustedRoot } from './trusted-root.js';

const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

let cached: TrustedRoot | undefined;

/**
 * The Sigstore public-good trusted root (Fulcio, Rekor v1 and v2, CT logs, the timestamp authority), taken from
 * the TUF seed that `@sigstore/tuf` ships (`seeds.json` → `targets["trusted_root.json"]`). No network: this is
 * the root as of that package's release, so pass `--trusted-root` to use a newer one. It goes through the same
 * strict `loadTrustedRoot` as any other root.
 */
export function publicGoodTrustedRoot(): TrustedRoot {
  if (cached) return cached;
  let encoded: unknown;
  try {
    const require = createRequire(import.meta.url);
    const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { targets?: Record<string, unknown> }>;
    encoded = seeds[PUBLIC_GOOD_TUF_MIRROR]?.targets?.['trusted_root.json'];
  } catch (error) {
    throw new TollgateError('INVALID_TRUSTED_ROOT', `the embedded Sigstore public-good root could not be read from @sigstore/tuf (${error instanceof Error ? error.message : String(error)}); reinstall tollgate or pass --trusted-root`);
  }
  if (typeof encoded !== 'string') {
    throw new TollgateError('INVALID_TRUSTED_ROOT', 'the @sigstore/tuf seeds hold no public-good trusted_root.json; reinstall tollgate or pass --trusted-root');
  }
  cached = loadTrustedRoot(Buffer.from(encoded, 'base64'), 'embedded Sigstore public-good trusted root');
  return cached;
}
