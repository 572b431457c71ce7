import type { Readable } from 'node:stream';

/**
 * Read access to the files of an OCI image layout, wherever they are kept: a directory on disk, or the entries of
 * a tar archive (`docker save` since Docker 25 writes a layout inside its tar). The layout logic (index.json,
 * tags, blobs by digest) is written once against this interface.
 */
export interface LayoutStore {
  /** For messages: `OCI layout /tmp/x`, `docker archive /tmp/a.tar`. */
  readonly location: string;
  /** The size of a regular file at a slash-separated path inside the layout, or undefined when it is missing. */
  size(path: string): Promise<number | undefined>;
  /**
   * The file's bytes, or undefined when it is missing. Reads at most `maxBytes + 1` bytes, so a result longer than
   * `maxBytes` means the file is over the caller's limit (and the caller names the error).
   */
  read(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** A stream of bytes [start, end] (inclusive) of a file known to exist; `end` < `start` gives an empty stream. */
  open(path: string, start: number, end: number, signal?: AbortSignal): Promise<Readable>;
}
