import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';

/**
 * The tuf-js fetcher tollgate uses: Node's fetch with one deadline for the whole update, and a record of whether
 * the last request failed at the transport (connection, timeout, HTTP status, a body cut short). tuf-js turns some
 * failures into a RuntimeError whose cause is only text, so this record — not the thrown error — is what tells a
 * mirror that could not be reached (fall back) from metadata that did not verify (fail closed): tuf-js stops at the
 * first failed request, so an update that throws after a request that succeeded failed on what it received.
 * With `offline`, every request is refused before a connection is opened.
 */
export class TufFetcher extends BaseFetcher {
  /** The transport failure of the most recent request, or undefined when it succeeded (or none was made). */
  lastFailure: Error | undefined;
  /** Requests made (offline: attempted); tests use it to see that `offline` opens no connection. */
  requests = 0;
  private readonly deadline: number;
  /** The reader of the response body being downloaded, for downloadFile to cancel. */
  private body: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(private readonly options: { offline: boolean; timeoutMs: number; userAgent: string }) {
    super();
    this.deadline = Date.now() + options.timeoutMs;
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    this.lastFailure = undefined;
    if (this.options.offline) return this.failed(new Error('offline: no network requests are made'));
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) return this.failed(new Error(`timed out after ${this.options.timeoutMs} ms`));
    this.requests++;
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'user-agent': this.options.userAgent }, signal: AbortSignal.timeout(remaining) });
    } catch (error) {
      return this.failed(new Error(describeFetchError(error, this.options.timeoutMs)));
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      // tuf-js reads 403/404 on `<n>.root.json` as "no newer root"; it needs its own error class for that.
      this.lastFailure = new DownloadHTTPError(`HTTP ${response.status} for ${new URL(url).pathname}`, response.status);
      throw this.lastFailure;
    }
    return this.recordingBody(response.body);
  }

  /**
   * tuf-js reads what fetch returns to its end or to its length limit, then only releases its reader: the download
   * it ran is over either way, so the response body is cancelled here, which gives the connection back.
   */
  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    try {
      return await super.downloadFile(url, maxLength, handler);
    } finally {
      this.body?.cancel().catch(() => undefined);
      this.body = undefined;
    }
  }

  /** The response body as tuf-js reads it, recording a transport failure while it is read. */
  private recordingBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array<ArrayBuffer>> {
    const reader = body.getReader();
    this.body = reader;
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          this.lastFailure = new Error(describeFetchError(error, this.options.timeoutMs));
          controller.error(this.lastFailure);
          return;
        }
        if (next.done) controller.close();
        else controller.enqueue(next.value as Uint8Array<ArrayBuffer>);
      },
      cancel: (reason) => reader.cancel(reason).catch(() => undefined),
    });
  }

  private failed(error: Error): never {
    this.lastFailure = error;
    throw error;
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message.split('\n')[0]!;
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}
