/** Statuses worth another try after a pause: rate limits and gateways that are briefly unavailable. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Longest pause we accept from a Retry-After header; a server asking for more gets an error instead of a hang. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * Parses Retry-After (delay-seconds or an HTTP-date) into milliseconds, capped at MAX_RETRY_AFTER_MS. Undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date (IMF-fixdate and the obsolete forms all start with a day name); nothing else.
  if (text.length > 64 || !/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** Exponential backoff with jitter: about 250 ms, 500 ms, 1 s, ... capped at 8 s. */
export function backoffDelay(attempt: number): number {
  const base = Math.min(250 * 2 ** attempt, 8000);
  return base / 2 + Math.random() * (base / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
