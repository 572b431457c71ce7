import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TollgateError } from '../errors/tollgate-error.js';
import { publicGoodTrustedRoot } from './public-good.js';
import type { TrustedRoot } from './trusted-root.js';
import { loadTufClient } from './load-tuf-client.js';

export const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
export const DEFAULT_TUF_TIMEOUT_MS = 5000;

const MAX_TUF_ROOT_BYTES = 512 * 1024;
const USER_AGENT = 'tollgate (tuf-js)';

export interface TufTrustedRootOptions {
  /** Where the TUF metadata and targets are cached (the CLI uses `<data dir>/tuf`); one subfolder per mirror. */
  cacheDir: string;
  /** A mirror of the Sigstore public-good TUF repository (default https://tuf-repo-cdn.sigstore.dev). http or https: TUF verifies what it serves. */
  mirrorUrl?: string;
  /** No network: the cached TUF metadata if it still verifies (and has not expired), else the embedded root. */
  offline?: boolean;
  /** One deadline for the whole online update (default 5000 ms); when it passes, the update counts as a network failure. */
  timeoutMs?: number;
  /** The TUF root.json to start from when the cache is empty (default: the public-good root embedded in @sigstore/tuf). */
  tufRoot?: Uint8Array;
  /** What to use when neither the mirror nor the cache can be (default: the embedded public-good trusted root). */
  fallback?: TrustedRoot;
}

/** `tuf`: fresh from the mirror; `tuf-cache`: the cached, still-valid TUF target; `embedded`: the fallback root. */
export type TufTrustedRootSource = 'tuf' | 'tuf-cache' | 'embedded';

export interface TufTrustedRoot {
  trustedRoot: TrustedRoot;
  source: TufTrustedRootSource;
  /** One line for stderr when the mirror could not be reached and something older is used; never set otherwise. */
  notice?: string;
}

/**
 * The Sigstore public-good trusted root through TUF (tuf-js, the client inside @sigstore/tuf): update the cached
 * metadata from the mirror and read the `trusted_root.json` target it signs. Only a transport failure (connection,
 * timeout, HTTP status) falls back — to the cached target when the cached metadata still verifies, else to the
 * embedded root — and the result then carries a `notice`. Metadata or a target that fails verification (a bad
 * signature, a rollback, expiry, a hash mismatch) throws TUF_VERIFICATION_FAILED: a tampered mirror never
 * degrades to an older root silently. `offline` makes no network request at all.
 */
export async function publicGoodTrustedRootViaTuf(options: TufTrustedRootOptions): Promise<TufTrustedRoot> {
  const mirror = checkMirror(options.mirrorUrl ?? PUBLIC_GOOD_TUF_MIRROR);
  const timeoutMs = checkTimeout(options.timeoutMs ?? DEFAULT_TUF_TIMEOUT_MS);
  const url = new URL(mirror);
  const dir = join(options.cacheDir, encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
  seedCache(dir, options.tufRoot);
  const { TufFetcher, readTrustedRootTarget } = await loadTufClient();

  let reason = 'offline';
  if (!options.offline) {
    const fetcher = new TufFetcher({ offline: false, timeoutMs, userAgent: USER_AGENT });
    try {
      return { trustedRoot: await readTrustedRootTarget(dir, mirror, fetcher, false, USER_AGENT), source: 'tuf' };
    } catch (error) {
      if (error instanceof TollgateError || !fetcher.lastFailure) throw failed(mirror, dir, error);
      reason = fetcher.lastFailure.message;
    }
  }
  const offlineFetcher = new TufFetcher({ offline: true, timeoutMs, userAgent: USER_AGENT });
  let trustedRoot: TrustedRoot | undefined;
  try {
    trustedRoot = await readTrustedRootTarget(dir, mirror, offlineFetcher, true, USER_AGENT);
  } catch (error) {
    if (error instanceof TollgateError || !offlineFetcher.lastFailure) throw failed(mirror, dir, error);
  }
  const unreachable = `notice: the TUF mirror ${mirror} could not be reached (${reason})`;
  if (trustedRoot) {
    return { trustedRoot, source: 'tuf-cache', ...(options.offline ? {} : { notice: `${unreachable}; using the cached Sigstore trusted root from ${dir}` }) };
  }
  return {
    trustedRoot: options.fallback ?? publicGoodTrustedRoot(),
    source: 'embedded',
    ...(options.offline ? {} : { notice: `${unreachable} and there is no valid cache; using the Sigstore public-good trusted root embedded in tollgate` }),
  };
}

/** An empty cache starts from the given TUF root, else the public-good root and targets that @sigstore/tuf ships. */
function seedCache(dir: string, tufRoot: Uint8Array | undefined): void {
  if (tufRoot !== undefined && tufRoot.byteLength > MAX_TUF_ROOT_BYTES) {
    throw new TollgateError('USAGE', `the initial TUF root is ${tufRoot.byteLength} bytes, over the ${MAX_TUF_ROOT_BYTES}-byte limit; pass a TUF root.json`);
  }
  try {
    mkdirSync(join(dir, 'targets'), { recursive: true, mode: 0o700 });
    const rootPath = join(dir, 'root.json');
    if (existsSync(rootPath)) return;
    if (tufRoot !== undefined) {
      writeFileSync(rootPath, tufRoot, { mode: 0o600 });
      return;
    }
    const require = createRequire(import.meta.url);
    const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { 'root.json'?: string; targets?: Record<string, string> }>;
    const seed = seeds[PUBLIC_GOOD_TUF_MIRROR];
    if (typeof seed?.['root.json'] !== 'string') throw new Error('@sigstore/tuf seeds.json has no public-good root.json');
    for (const [name, content] of Object.entries(seed.targets ?? {})) {
      if (name === encodeURIComponent(name)) writeFileSync(join(dir, 'targets', name), Buffer.from(content, 'base64'), { mode: 0o600 });
    }
    writeFileSync(rootPath, Buffer.from(seed['root.json'], 'base64'), { mode: 0o600 });
  } catch (error) {
    throw new TollgateError('STORE_ERROR', `could not prepare the TUF cache ${dir} (${oneLine(error)}); check the data directory (TOLLGATE_DATA) or pass --trusted-root`);
  }
}

function failed(mirror: string, dir: string, error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  return new TollgateError(
    'TUF_VERIFICATION_FAILED',
    `the Sigstore TUF metadata from ${mirror} (cache ${dir}) failed verification: ${oneLine(error)}; not falling back to an older root — check --tuf-mirror, remove the cache if it is damaged, or pass --trusted-root`,
    { cause: error },
  );
}

function checkMirror(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TollgateError('USAGE', `--tuf-mirror ${JSON.stringify(value.slice(0, 200))} is not a URL; give one like ${PUBLIC_GOOD_TUF_MIRROR}`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw new TollgateError('USAGE', `--tuf-mirror must be an http(s) URL without credentials, query or fragment, like ${PUBLIC_GOOD_TUF_MIRROR}`);
  }
  return url.href.replace(/\/$/, '');
}

function checkTimeout(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 600_000) throw new TollgateError('USAGE', `the TUF timeout must be an integer from 1 to 600000 ms, got ${value}`);
  return value;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
