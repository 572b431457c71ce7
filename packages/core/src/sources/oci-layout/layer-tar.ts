import { Readable } from 'node:stream';
import type tarStream from 'tar-stream';
import { TollgateError } from '../../errors/tollgate-error.js';
import { tarStreamLibrary } from '../../util/tar-stream-library.js';

/** One entry of a layer built by our writer. Names are written as given, so tests can build hostile layers too. */
export interface LayerFile {
  path: string;
  content?: string | Uint8Array;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode?: number;
  uid?: number;
  gid?: number;
  /** Target of a symlink (any text) or hardlink (a path earlier in the layer). */
  linkTarget?: string;
  /** Defaults to the Unix epoch, so the same files always give the same layer digest. */
  mtime?: Date;
}

/** The header argument of tar-stream's pack.entry (its Header type, partial). */
export type TarHeader = Parameters<tarStream.Pack['entry']>[0];

const EPOCH = new Date(0);
const DEFAULT_MODE = { file: 0o644, dir: 0o755, symlink: 0o777, hardlink: 0o644 } as const;
const TAR_TYPE = { file: 'file', dir: 'directory', symlink: 'symlink', hardlink: 'link' } as const;

/** Packs files into an uncompressed tar stream (a layer's diff), deterministically. */
export function packLayer(files: readonly LayerFile[]): Readable {
  const pack = tarStreamLibrary().pack();
  for (const file of files) {
    const type = file.type ?? 'file';
    if ((type === 'symlink' || type === 'hardlink') && file.linkTarget === undefined) {
      throw new TollgateError('USAGE', `layer entry ${JSON.stringify(file.path)} is a ${type} but has no linkTarget`);
    }
    const header: TarHeader = {
      name: file.path,
      type: TAR_TYPE[type],
      mode: file.mode ?? DEFAULT_MODE[type],
      uid: file.uid ?? 0,
      gid: file.gid ?? 0,
      mtime: file.mtime ?? EPOCH,
    };
    if (file.linkTarget !== undefined) header.linkname = file.linkTarget;
    if (type === 'file') {
      const content = file.content ?? '';
      pack.entry(header, typeof content === 'string' ? Buffer.from(content) : Buffer.from(content.buffer, content.byteOffset, content.byteLength));
    } else {
      pack.entry(header);
    }
  }
  pack.finalize();
  // tar-stream's pack is a streamx stream; Node's Readable.from gives callers a plain Node stream.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
