import { Transform, type TransformCallback } from 'node:stream';
import type { TollgateError } from '../../errors/tollgate-error.js';

/**
 * Passes bytes through after skipping the first `skip` of them, and holds the stream to exactly `length` bytes
 * when that is known: more fails at once (the rest is never read), fewer fails at the end.
 */
export class LimitStream extends Transform {
  private skipped = 0;
  private passed = 0;

  constructor(
    private readonly skip: number,
    private readonly length: number | undefined,
    private readonly errors: { tooLong: () => TollgateError; tooShort: (got: number) => TollgateError },
    /** Drop bytes past `length` instead of failing (a server that ignored a Range header sends the whole blob). */
    private readonly discardExcess = false,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = chunk;
    if (this.skipped < this.skip) {
      const drop = Math.min(this.skip - this.skipped, data.length);
      this.skipped += drop;
      data = data.subarray(drop);
      if (data.length === 0) {
        callback();
        return;
      }
    }
    if (this.length !== undefined && this.passed + data.length > this.length) {
      if (this.discardExcess) {
        const keep = this.length - this.passed;
        this.passed += keep;
        callback(null, keep > 0 ? data.subarray(0, keep) : undefined);
        return;
      }
      callback(this.errors.tooLong());
      return;
    }
    this.passed += data.length;
    callback(null, data);
  }

  override _flush(callback: TransformCallback): void {
    if (this.length !== undefined && this.passed < this.length) {
      callback(this.errors.tooShort(this.passed));
      return;
    }
    callback();
  }
}
