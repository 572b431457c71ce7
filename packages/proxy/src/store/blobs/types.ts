import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** A committed blob as a store lists it. */
export interface StoredBlob {
  size: number;
  /** When it was written (ms since the epoch): the last access of a blob no metadata describes yet. */
  mtimeMs: number;
}

/**
 * A committed blob opened for reading. `file`: a local file, sent with reused buffers. `remote`: bytes fetched from
 * a shared store; `open` streams bytes [start, end] (inclusive) and is called once per read.
 */
export type StoredRead =
  | { kind: 'file'; handle: FileHandle; size: number }
  | { kind: 'remote'; size: number; open(start: number, end: number, signal?: AbortSignal): Promise<Readable> };

/**
 * The durable copy of a download in flight, made while the bytes arrive. The download writes every byte to its
 * temp file first; the upload follows the file (`written`) and makes the blob visible only in `complete`, which the
 * download calls after the digest and size matched. `abort` leaves no object and no pending upload.
 */
export interface BlobUpload {
  /** Bytes [0, bytes) of the temp file are written (called as the file grows, in order). */
  written(bytes: number): void;
  /** Bytes the upload has been told of but not yet sent: the download stops reading past a bound. */
  readonly backlog: number;
  /** The whole blob is in the temp file and verified: send the rest and make it visible. */
  complete(): Promise<void>;
  /** Never throws; removes whatever was sent. */
  abort(reason?: Error): Promise<void>;
}

/**
 * Where verified blobs live: `blobs/<alg>/<hex>` in a directory (one process) or an S3 bucket (shared by replicas).
 * A blob becomes visible only once its digest and size matched; a crash leaves at most a temp file (local) or a
 * multipart upload that `open` aborts. Every replica downloads into a local temp directory first (readers that fall
 * behind a download's memory window read it from there).
 */
export interface BlobStore {
  readonly kind: 'filesystem' | 's3';
  /** Where downloads in flight are written (local to this process). */
  readonly tmpDir: string;
  /**
   * Prepares the store; removes what interrupted downloads left (not with `keepTemp`: gc while a proxy on the same
   * data directory may be downloading). Returns how many leftovers were removed.
   */
  open(options?: { keepTemp?: boolean }): Promise<number>;
  /** A new, unique temp file path under tmpDir. */
  tempPath(): string;
  /** S3: starts the upload that follows a download's temp file. Filesystem: undefined (commit renames the file). */
  beginUpload(digest: string, size: number, tempPath: string): BlobUpload | undefined;
  /**
   * Makes a verified, fully written temp file the committed blob. Filesystem: renames it into the store. S3: the
   * upload has been completed; nothing moves.
   */
  commit(tempPath: string, digest: string): Promise<void>;
  /**
   * Where a download's readers read the bytes once it has committed. Filesystem: the committed file. S3: the temp
   * file itself, which the fetch removes once its last reader is done (`releaseTemp`).
   */
  committedPath(tempPath: string, digest: string): string;
  /** Shared stores: whether this replica keeps local copies (reads of the store are then shared and copied). */
  readonly keepsLocalCopies?: boolean;
  /** Shared stores: the bytes and number of this replica's local copies (undefined: it keeps none). */
  localCopyStats?(): { bytes: number; count: number } | undefined;
  /** Whether the temp file is still needed after commit (S3) and must be removed by the fetch's owner. */
  readonly keepsTempAfterCommit: boolean;
  /**
   * Synchronous on purpose: the single-flight check must not yield between "not committed" and "start a fetch".
   * Only answers for what this process can see at once (a local file); a shared store answers false.
   */
  hasSync(digest: string): boolean;
  stat(digest: string): Promise<StoredBlob | undefined>;
  /** Opens a committed blob; undefined when the store does not have it. */
  openRead(digest: string): Promise<StoredRead | undefined>;
  /** Removes a committed blob; false if it was not there. */
  remove(digest: string): Promise<boolean>;
  /** Every committed blob with its size and write time. */
  scan(): Promise<Map<string, StoredBlob>>;
  /** A short description for logs (never credentials). */
  describe(): string;
  /**
   * Shared stores: aborts every pending upload of this blob's key. Called by the replica that just took the blob's
   * download lock, so what a killed holder left (a multipart upload) goes before a new one starts.
   */
  abortPendingUploads?(digest: string): Promise<number>;
  /**
   * Shared stores: a download's temp file, verified and committed, that its last reader is done with: kept as this
   * replica's local copy when the store keeps them, else removed. Never throws.
   */
  keepVerifiedTemp?(tempPath: string, digest: string, size: number): Promise<void>;
  /** Shared stores: a URL that reads the committed blob without the proxy, valid `seconds` (see `redirect`). */
  presignedUrl?(digest: string, seconds: number): Promise<string>;
  close(): Promise<void>;
}
