import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Updater } from 'tuf-js';
import { loadTrustedRoot, MAX_TRUSTED_ROOT_BYTES, type TrustedRoot } from './trusted-root.js';
import { TufFetcher } from './tuf-fetcher.js';

export { TufFetcher };

const TRUSTED_ROOT_TARGET = 'trusted_root.json';

/** Updates the TUF metadata cached in `dir` from `mirror` (or, with forceCache, only reads it) and loads the signed trusted root. */
export async function readTrustedRootTarget(dir: string, mirror: string, fetcher: TufFetcher, forceCache: boolean, userAgent: string): Promise<TrustedRoot> {
  const updater = new Updater({
    metadataDir: dir,
    metadataBaseUrl: mirror,
    targetDir: join(dir, 'targets'),
    targetBaseUrl: `${mirror}/targets`,
    forceCache,
    fetcher,
    config: { userAgent },
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(TRUSTED_ROOT_TARGET);
  if (!info) throw new Error(`the signed targets do not list ${TRUSTED_ROOT_TARGET}`);
  if (info.length > MAX_TRUSTED_ROOT_BYTES) throw new Error(`${TRUSTED_ROOT_TARGET} is ${info.length} bytes, over the ${MAX_TRUSTED_ROOT_BYTES}-byte limit`);
  const path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
  const bytes = await readFile(path);
  await info.verify(Readable.from([bytes])); // the file as read now, not as checked a moment ago
  return loadTrustedRoot(bytes, `Sigstore trusted root from the TUF mirror ${mirror}`);
}
