import { join } from 'node:path';
import type { BlobLocation } from '../../config/types.js';
import { FilesystemBlobStore } from './filesystem-blob-store.js';
import { LocalCopies } from './local-copies.js';
import type { BlobStore } from './types.js';

/**
 * The configured blob store: the data directory (default) or an S3 bucket. Either way downloads in flight go to
 * `<dataDir>/tmp` on this machine first. The S3 client is loaded only when configured.
 */
export async function createBlobStore(location: BlobLocation, dataDir: string): Promise<BlobStore> {
  if (location.kind === 'filesystem') return new FilesystemBlobStore(dataDir);
  const { S3BlobStore } = await import('./s3-blob-store.js');
  const localCopies = new LocalCopies(join(dataDir, 'local-cache'), location.s3.localCacheBytes);
  return new S3BlobStore(location.s3, join(dataDir, 'tmp'), { localCopies });
}
