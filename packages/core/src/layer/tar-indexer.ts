import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import { TollgateError } from '../errors/tollgate-error.js';
import { formatBytes, limitError } from './limits.js';
import { parsePax, type PaxFields } from './pax.js';
import { BLOCK, decodeHeader, isZeroBlock, TarFormatError, type RawHeader } from './tar-header.js';
import { classifyWhiteout, normalisePath } from './tar-path.js';
import type { CapturedFile, CaptureFiles, FileEntry, FileType, LayerLimits, UnsafeEntry } from './types.js';

const EMPTY_SHA256 = `sha256:${createHash('sha256').digest('hex')}`;
/** PAX and GNU long-name headers are buffered whole; this bounds them. */
const MAX_EXTENDED_HEADER = 1024 * 1024;

const T_PAX = 0x78; // 'x'
const T_PAX_GLOBAL = 0x67; // 'g'
const T_GNU_LONGNAME = 0x4c; // 'L'
const T_GNU_LONGLINK = 0x4b; // 'K'
const T_GNU_SPARSE = 0x53; // 'S'

function fileType(typeflag: number, name: string): FileType | undefined {
  switch (typeflag) {
    case 0:
      // V7 tars mark directories only with a trailing '/' (Go does the same for a NUL typeflag, and only for it).
      return name.endsWith('/') ? 'dir' : 'file';
    case 0x30:
    case 0x37:
      return 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
      return 'dir';
    case 0x36:
      return 'fifo';
    default:
      return undefined;
  }
}

type Sink = 'skip' | 'hash' | 'meta';

/**
 * A push parser over the uncompressed tar stream: it indexes entries and hashes each regular file's content as the
 * bytes pass, holding no more than one header block and one extended header in memory. Parsing stops at the
 * end-of-archive marker (two zero blocks); whatever follows is left to the caller's diffID hash.
 *
 * Format decisions follow Go's archive/tar (used by containerd and Docker): PAX records override GNU long names,
 * which override the header; header-only types (links, devices, directories, fifos) carry no data whatever their
 * size field says; a stream that ends cleanly on a block boundary without the end-of-archive marker is accepted.
 */
export class TarIndexer {
  readonly files: FileEntry[] = [];
  readonly unsafe: UnsafeEntry[] = [];
  /**
   * Content of the regular file at each of `capture.paths`, when a capture was asked for: the last entry of the
   * path wins (as when the layer is extracted), so duplicates never hold more than one copy per path.
   */
  readonly captured = new Map<string, CapturedFile>();

  private readonly headerBuf = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0;
  private padding = 0;
  private declared = 0;
  private sink: Sink = 'skip';
  /** The running hash of the file being read, made once its content spans more than one chunk. */
  private hash: Hash | null = null;
  private current: FileEntry | null = null;
  /** The entry or extended header being read, for error messages: a raw entry name, or a description. */
  private currentEntry = '';
  private currentMeta: string | null = null;
  private metaType = 0;
  private metaChunks: Buffer[] = [];
  private pax: PaxFields | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;
  private zeroBlocks = 0;
  private finished = false;
  private offset = 0;
  private entries = 0;
  /** Chunks of the captured file being read (its content is also hashed as usual). */
  private captureChunks: Buffer[] | null = null;
  private readonly capturePaths: ReadonlySet<string>;

  constructor(
    private readonly limits: Required<LayerLimits>,
    private readonly label: string,
    private readonly capture?: CaptureFiles,
  ) {
    this.capturePaths = new Set(capture?.paths ?? []);
  }

  /** Feeds the next bytes of the tar stream; throws CORRUPT_LAYER or SIZE_LIMIT. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n && !this.finished) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        if (this.sink === 'hash') {
          const data = i === 0 && take === n ? chunk : chunk.subarray(i, i + take);
          if (this.hash === null && take === this.declared) {
            // The whole file is in this chunk (most files of a layer): one call, no Hash object.
            this.current!.sha256 = `sha256:${hashOnce('sha256', data, 'hex')}`;
          } else {
            (this.hash ??= createHash('sha256')).update(data);
          }
          // Copied: the decompressor may reuse its output buffers. Bounded by capture.maxBytes.
          this.captureChunks?.push(Buffer.from(data));
        } else if (this.sink === 'meta') this.metaChunks.push(Buffer.from(chunk.subarray(i, i + take)));
        this.remaining -= take;
        this.offset += take;
        i += take;
        if (this.remaining === 0) this.endData();
      } else if (this.padding > 0) {
        const take = Math.min(this.padding, n - i);
        this.padding -= take;
        this.offset += take;
        i += take;
      } else if (this.headerFill === 0 && n - i >= BLOCK) {
        this.offset += BLOCK;
        this.onHeader(chunk, i);
        i += BLOCK;
      } else {
        const take = Math.min(BLOCK - this.headerFill, n - i);
        chunk.copy(this.headerBuf, this.headerFill, i, i + take);
        this.headerFill += take;
        this.offset += take;
        i += take;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.onHeader(this.headerBuf, 0);
        }
      }
    }
  }

  /** The tar stream has ended: throws CORRUPT_LAYER when it stopped inside an entry or header. */
  end(): void {
    if (this.finished) return;
    if (this.remaining > 0) {
      throw this.corrupt(
        `ends inside ${this.currentName()}: its header declares ${this.declared} bytes, ${this.remaining} are missing`,
      );
    }
    if (this.padding > 0) throw this.corrupt(`ends inside the padding after ${this.currentName()}`);
    if (this.headerFill > 0) throw this.corrupt(`ends inside a header block (${this.headerFill} of 512 bytes)`);
    if (this.pax !== null || this.longName !== null || this.longLink !== null) {
      throw this.corrupt('ends after an extended header that no entry follows');
    }
  }

  private currentName(): string {
    return this.currentMeta ?? `entry ${JSON.stringify(this.currentEntry)}`;
  }

  private corrupt(what: string): TollgateError {
    return new TollgateError(
      'CORRUPT_LAYER',
      `${this.label}: the tar archive ${what} (at uncompressed offset ${this.offset}); the layer is damaged or not a tar — fetch it again or rebuild it`,
    );
  }

  private onHeader(buf: Buffer, off: number): void {
    if (isZeroBlock(buf, off)) {
      if (this.pax !== null || this.longName !== null || this.longLink !== null) {
        throw this.corrupt('has an extended header followed by a zero block instead of an entry');
      }
      if (++this.zeroBlocks === 2) this.finished = true;
      return;
    }
    if (this.zeroBlocks > 0) throw this.corrupt('has a lone zero block followed by more headers');
    let h: RawHeader;
    try {
      h = decodeHeader(buf, off);
    } catch (error) {
      if (error instanceof TarFormatError) throw this.corrupt(`has a bad header: ${error.message}`);
      throw error;
    }
    const t = h.typeflag;
    if (t === T_PAX || t === T_PAX_GLOBAL || t === T_GNU_LONGNAME || t === T_GNU_LONGLINK) {
      this.onExtendedHeader(t, h.size);
      return;
    }
    // Old GNU sparse headers may be followed by extension blocks that we would misread as data.
    if (t === T_GNU_SPARSE && buf[off + 482] !== 0) throw this.corrupt('has an extended GNU sparse entry, which is not supported');
    if (++this.entries > this.limits.maxEntries) {
      throw limitError(this.label, `the tar has more than ${this.limits.maxEntries} entries`, 'maxEntries', this.limits.maxEntries);
    }
    const pax = this.pax;
    const rawName = pax?.path ?? this.longName ?? h.name;
    const rawLink = pax?.linkpath ?? this.longLink ?? h.linkname;
    this.pax = this.longName = this.longLink = null;
    this.currentEntry = rawName;
    this.currentMeta = null;
    const type = fileType(t, rawName);
    const size = pax?.size ?? h.size;
    const dataSize = type === undefined || type === 'file' ? size : 0;

    if (rawName.length > this.limits.maxPathLength || rawLink.length > this.limits.maxPathLength) {
      const n = Math.max(rawName.length, rawLink.length);
      throw limitError(this.label, `a tar entry has a name or link target of ${n} characters`, 'maxPathLength', this.limits.maxPathLength);
    }
    const entry = this.buildEntry(h, t, type, rawName, rawLink, pax, size);
    if (entry === undefined) {
      this.startData(dataSize, 'skip');
      return;
    }
    this.files.push(entry);
    const capturing = entry.whiteout === undefined && this.capturePaths.has(entry.path);
    if (capturing && type !== 'file') this.captured.delete(entry.path);
    if (type === 'file') {
      if (capturing && dataSize > this.capture!.maxBytes) {
        throw new TollgateError(
          'SIZE_LIMIT',
          `${this.label}: /${entry.path} is ${formatBytes(dataSize)}, over the ${formatBytes(this.capture!.maxBytes)} tollgate reads of it; such a file is not one to trust`,
        );
      }
      if (dataSize === 0) {
        entry.sha256 = EMPTY_SHA256;
        if (capturing) this.captured.set(entry.path, { path: entry.path, sha256: EMPTY_SHA256, content: Buffer.alloc(0) });
      } else {
        this.current = entry;
        this.hash = null;
        if (capturing) this.captureChunks = [];
        this.startData(dataSize, 'hash');
        return;
      }
    }
    this.startData(dataSize, 'skip');
  }

  /** Returns the index entry, or undefined (after noting why when it is unsafe) for entries left out. */
  private buildEntry(
    h: RawHeader,
    t: number,
    type: FileType | undefined,
    rawName: string,
    rawLink: string,
    pax: PaxFields | null,
    size: number,
  ): FileEntry | undefined {
    const unsafe = (reason: string): undefined => {
      this.unsafe.push({ path: rawName, reason });
      return undefined;
    };
    if (rawName.includes('\0') || rawLink.includes('\0')) return unsafe('NUL byte in name or link target');
    const norm = normalisePath(rawName);
    if (norm.traversal) return unsafe("parent traversal ('..' component)");
    if (t === T_GNU_SPARSE) return unsafe('GNU sparse file (not supported: its archived data is not the file content)');
    if (type === undefined) return unsafe(`unsupported tar entry type ${JSON.stringify(String.fromCharCode(t))}`);
    if (pax?.sparse) return unsafe('GNU sparse file (not supported: its archived data is not the file content)');
    if (norm.path === '') return type === 'dir' ? undefined : unsafe(`a ${type} entry names the root directory`);

    let path = norm.path;
    let whiteout: FileEntry['whiteout'];
    const wh = classifyWhiteout(path);
    switch (wh.kind) {
      case 'meta':
        return undefined;
      case 'invalid':
        return unsafe('whiteout of an invalid name');
      case 'opaque':
        path = wh.dir;
        whiteout = 'opaque';
        break;
      case 'file':
        path = wh.target;
        whiteout = 'file';
        break;
    }

    let linkTarget: string | undefined;
    if (type === 'symlink') {
      linkTarget = rawLink;
    } else if (type === 'hardlink') {
      const link = normalisePath(rawLink);
      if (link.traversal) return unsafe('hardlink target escapes root');
      if (link.path === '') return unsafe('hardlink without a target, or to the root directory');
      if (link.absolute) this.unsafe.push({ path: rawName, reason: 'hardlink target is an absolute path (indexed without the leading /)' });
      linkTarget = link.path;
    }
    if (norm.absolute) this.unsafe.push({ path: rawName, reason: 'absolute path (indexed without the leading /)' });

    const entry: FileEntry = {
      path,
      type,
      mode: h.mode & 0o7777,
      uid: pax?.uid ?? h.uid,
      gid: pax?.gid ?? h.gid,
      size: type === 'file' ? size : 0,
      mtime: pax?.mtime ?? h.mtime,
    };
    if (linkTarget !== undefined) entry.linkTarget = linkTarget;
    if (type === 'char' || type === 'block') {
      entry.devmajor = h.devmajor;
      entry.devminor = h.devminor;
    }
    if (pax?.xattrs) entry.xattrs = pax.xattrs;
    if (whiteout) entry.whiteout = whiteout;
    return entry;
  }

  private onExtendedHeader(t: number, size: number): void {
    const isName = t === T_GNU_LONGNAME || t === T_GNU_LONGLINK;
    if (isName && size > this.limits.maxPathLength + 1) {
      throw limitError(this.label, `a GNU long name header is ${size} bytes`, 'maxPathLength', this.limits.maxPathLength);
    }
    if (size > MAX_EXTENDED_HEADER) {
      throw new TollgateError(
        'SIZE_LIMIT',
        `${this.label}: a tar extended header is ${formatBytes(size)}, over the ${formatBytes(MAX_EXTENDED_HEADER)} tollgate accepts; the layer is not one a container runtime should extract`,
      );
    }
    this.metaType = t;
    this.metaChunks = [];
    this.currentMeta = t === T_PAX || t === T_PAX_GLOBAL ? 'a PAX extended header' : 'a GNU long name header';
    this.startData(size, 'meta');
  }

  private startData(size: number, sink: Sink): void {
    this.declared = size;
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.sink = sink;
    if (size === 0) this.endData();
  }

  private endData(): void {
    if (this.sink === 'hash') {
      if (this.hash !== null) this.current!.sha256 = `sha256:${this.hash.digest('hex')}`;
      if (this.captureChunks !== null) {
        this.captured.set(this.current!.path, { path: this.current!.path, sha256: this.current!.sha256!, content: Buffer.concat(this.captureChunks) });
        this.captureChunks = null;
      }
      this.hash = null;
      this.current = null;
    } else if (this.sink === 'meta') {
      const buf = this.metaChunks.length === 1 ? this.metaChunks[0]! : Buffer.concat(this.metaChunks);
      this.metaChunks = [];
      this.onExtendedData(buf);
    }
    this.sink = 'skip';
  }

  private onExtendedData(buf: Buffer): void {
    const nul = buf.indexOf(0);
    switch (this.metaType) {
      case T_PAX:
        try {
          this.pax = parsePax(buf);
        } catch (error) {
          if (error instanceof TarFormatError) throw this.corrupt(`has a bad PAX header: ${error.message}`);
          throw error;
        }
        break;
      case T_GNU_LONGNAME:
        this.longName = buf.toString('utf8', 0, nul < 0 ? buf.length : nul);
        break;
      case T_GNU_LONGLINK:
        this.longLink = buf.toString('utf8', 0, nul < 0 ? buf.length : nul);
        break;
      default:
        // A PAX global header: Go's reader (containerd, Docker) does not merge it into entries, so neither do we.
        break;
    }
  }
}
