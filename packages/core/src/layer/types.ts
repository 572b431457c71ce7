import type { Compression } from '../media-types.js';

export type FileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One entry of a layer's file index. */
export interface FileEntry {
  /**
   * Normalised path: no leading './' or '/', no trailing '/', '.' components removed. The root directory itself is
   * not indexed. For whiteouts, the path of the deleted name (file) or of the directory made opaque ('' for the root).
   */
  path: string;
  type: FileType;
  /** Permission bits plus setuid/setgid/sticky (07777), without the file type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Content size for regular files, 0 otherwise. */
  size: number;
  /** Symlink target as written, or hardlink target path normalised like `path`. */
  linkTarget?: string;
  /** 'sha256:<hex>' of the content, regular files only. */
  sha256?: string;
  /**
   * From PAX `SCHILY.xattr.*` records. A value that is valid UTF-8 is kept as text; any other value (binary, such
   * as `security.capability`), and any text value that itself starts with 'base64:', is written as 'base64:' followed
   * by the standard base64 of the raw bytes, so the encoding is never ambiguous.
   */
  xattrs?: Record<string, string>;
  /** Modification time in seconds since the epoch (fractional when a PAX record gives sub-second precision). */
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** Set for '.wh.<name>' entries ('file') and '.wh..wh..opq' entries ('opaque'). Whiteouts are recorded, not applied. */
  whiteout?: 'file' | 'opaque';
}

export interface LayerLimits {
  /** Default 64 GiB. */
  maxUncompressedBytes?: number;
  /** Default 1000 (uncompressed / compressed), checked as bytes flow once past 1 MiB uncompressed. */
  maxCompressionRatio?: number;
  /** Default 1 000 000 tar entries (extended headers not counted). */
  maxEntries?: number;
  /** Default 4096 characters, for entry names and link targets. */
  maxPathLength?: number;
}

export interface ReadLayerOptions {
  /** From the media type: use layerCompression() from media-types.ts. */
  compression: Compression;
  /** Default true; false computes digest and diffID only, without parsing the tar at all. */
  indexFiles?: boolean;
  limits?: LayerLimits;
  signal?: AbortSignal;
  /** Called as blob bytes are read, with the running total. */
  onProgress?: (compressedBytesRead: number) => void;
  /**
   * The descriptor's digest, when known: named in error messages, and checked against the bytes read (a mismatch
   * rejects with DIGEST_MISMATCH once the whole blob has been read).
   */
  expectedDigest?: string;
  /**
   * Keep the content of the regular files at these paths (normalised like FileEntry.path), for a check that must
   * read one small file (such as /etc/passwd) without holding the layer. Needs the file index (indexFiles true).
   */
  captureFiles?: CaptureFiles;
}

export interface CaptureFiles {
  paths: readonly string[];
  /** Hard cap per file: a larger entry at a captured path rejects the read with SIZE_LIMIT (never truncated). */
  maxBytes: number;
}

/** The content of a captured file, with the sha256 its index entry records. */
export interface CapturedFile {
  path: string;
  sha256: string;
  content: Buffer;
}

/** An entry the index leaves out or flags: the raw name as written in the tar and why it is unsafe. */
export interface UnsafeEntry {
  path: string;
  reason: string;
}

export interface LayerReadResult {
  /** sha256 of the blob bytes as read. */
  digest: string;
  /** Blob bytes read. */
  size: number;
  /** sha256 of the uncompressed tar (all of it, including anything after the end-of-archive blocks). */
  diffID: string;
  uncompressedSize: number;
  /** Present when indexFiles is true. */
  files?: FileEntry[];
  /**
   * Entries with '..' components, absolute paths, hardlinks escaping the root, NUL bytes in names, and entry kinds
   * we cannot index. Absolute paths are listed here AND indexed with the leading '/' removed (as Docker and
   * containerd extract them); every other unsafe entry is listed here only.
   */
  unsafeEntries: UnsafeEntry[];
  /**
   * Present when captureFiles is given: the content at each captured path that the layer holds as a regular file,
   * from the path's last entry in the tar (the one extraction leaves); a path whose last entry is not a regular
   * file is not listed.
   */
  captured?: CapturedFile[];
}
