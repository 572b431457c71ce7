/**
 * The latest bytes of a download kept in memory as the chunks that arrived (no copies): chunk 0 starts at offset
 * `start`, the last one ends at `end`. Readers that keep up are served from here; the owner decides what may be
 * dropped (see `trim`).
 */
export class ByteWindow {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk in `chunks` (dropped chunks are skipped, and compacted now and then). */
  private head = 0;
  start = 0;
  end = 0;

  push(chunk: Buffer): void {
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
      this.start = this.end;
    }
    this.chunks.push(chunk);
    this.end += chunk.length;
  }

  /**
   * Drops the oldest chunks while the window would still hold at least `keep` bytes without them, never dropping a
   * byte at or after `floor` (bytes the owner still needs, e.g. not yet on disk).
   */
  trim(keep: number, floor: number): void {
    while (this.head < this.chunks.length) {
      const first = this.chunks[this.head]!;
      if (this.end - this.start - first.length < keep || this.start + first.length > floor) break;
      this.chunks[this.head] = EMPTY;
      this.head++;
      this.start += first.length;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Views of the bytes from `position` up to `limit` (exclusive), at most `maxBytes` of them; empty if `position` is not held. */
  slices(position: number, limit: number, maxBytes = Infinity): Buffer[] {
    const out: Buffer[] = [];
    if (position < this.start || position >= this.end) return out;
    const stop = Math.min(limit, this.end, position + maxBytes);
    let offset = this.start;
    for (let i = this.head; i < this.chunks.length && offset < stop; i++) {
      const chunk = this.chunks[i]!;
      const chunkEnd = offset + chunk.length;
      if (chunkEnd > position) out.push(chunk.subarray(Math.max(0, position - offset), Math.min(chunk.length, stop - offset)));
      offset = chunkEnd;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.start = this.end;
  }
}

const EMPTY = Buffer.alloc(0);
