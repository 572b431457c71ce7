import { TollgateError } from '../../errors/tollgate-error.js';
import { isLoopbackHost } from '../../registry/endpoint.js';
import { SIGSTORE_AUDIENCE } from './identity-token-claims.js';
import { parseRetryAfter, sleep } from '../../registry/http/retry.js';

export interface GitHubActionsTokenOptions {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL` (https; plain http only on loopback). */
  requestUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: the runner's bearer token for the request. */
  requestToken: string;
  audience?: string;
  /** Deadline over every attempt and the pauses between them: connecting, headers and body (default 30 s). */
  timeoutMs?: number;
  /** Attempts in all (default 3). */
  attempts?: number;
}

export interface GitHubActionsToken {
  token: string;
  /** Why the attempts before the one that succeeded failed (`HTTP 503`, `other side closed (UND_ERR_SOCKET)`), in order. */
  retried: string[];
}

/** The token endpoint answers `{"count":…,"value":"<jwt>"}`: a few KiB; anything much larger is not that. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
export const GITHUB_TOKEN_ATTEMPTS = 3;
/** The longest pause between attempts, whatever Retry-After asks: a release job should not sit waiting. */
const MAX_PAUSE_MS = 5_000;
const SOURCE = 'GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)';

/** One attempt's failure: what to say, and whether asking again may help (and when, if the endpoint said). */
class AttemptFailure extends Error {
  constructor(
    readonly what: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    override readonly cause?: unknown,
  ) {
    super(what);
  }
}

/**
 * Requests the workflow's OIDC token as cosign and @sigstore/sign do: GET `<ACTIONS_ID_TOKEN_REQUEST_URL>&audience=sigstore`
 * with `Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`, answer `{value}`. No redirects, a bound on the
 * body. A transient failure — a connection refused or reset, a 5xx, a 429 — is tried again, up to `attempts` in
 * all, after a short pause (Retry-After honoured up to 5 s), all within the one deadline; a release should not fail
 * on one hiccup of GitHub's token service. Any other 4xx is not: a wrong audience or missing permissions will not
 * change by asking again. Every failure is IDENTITY_TOKEN_UNAVAILABLE in one line that names GitHub Actions, the
 * attempts made and what to check, never the request token. The token itself is checked by the caller.
 */
export async function fetchGitHubActionsToken(options: GitHubActionsTokenOptions): Promise<GitHubActionsToken> {
  const fail = (what: string, cause?: unknown) =>
    new TollgateError('IDENTITY_TOKEN_UNAVAILABLE', `the identity token from ${SOURCE} could not be fetched: ${what}`, cause === undefined ? undefined : { cause });
  let url: URL;
  try {
    url = new URL(options.requestUrl);
  } catch {
    throw fail('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host))) {
    throw fail(`ACTIONS_ID_TOKEN_REQUEST_URL must be https (plain http only on loopback), not ${url.protocol}`);
  }
  url.searchParams.append('audience', options.audience ?? SIGSTORE_AUDIENCE);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const attempts = Math.max(1, options.attempts ?? GITHUB_TOKEN_ATTEMPTS);
  const signal = AbortSignal.timeout(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  const retried: string[] = [];
  const earlier = () => (retried.length > 0 ? `; earlier: ${retried.join(', ')}` : '');
  const made = () => (retried.length > 0 ? ` (attempt ${retried.length + 1} of ${attempts}${earlier()})` : '');
  const timedOut = (cause?: unknown) => fail(`${url.host} did not answer within ${formatSeconds(timeoutMs)} (--timeout)${made()}`, cause);
  for (let attempt = 1; ; attempt++) {
    try {
      return { token: await requestOnce(url, options.requestToken, signal), retried };
    } catch (error) {
      if (signal.aborted) throw timedOut(error);
      if (!(error instanceof AttemptFailure)) throw error;
      if (!error.transient) throw fail(`${error.what}${made()}`, error.cause);
      if (attempt >= attempts) {
        const tried = attempts === 1 ? 'on its only attempt' : `after ${attempts} attempts (earlier: ${[...retried].join(', ')})`;
        throw fail(`${error.what}, ${tried}; GitHub's token service is failing or busy for now: re-run the job`, error.cause);
      }
      const pause = Math.min(error.retryAfterMs ?? 500 * 2 ** (attempt - 1), MAX_PAUSE_MS);
      if (Date.now() + pause >= deadline) throw fail(`${error.what}, and --timeout (${formatSeconds(timeoutMs)}) leaves no time for another attempt${made()}`, error.cause);
      retried.push(shortReason(error));
      try {
        await sleep(pause, signal);
      } catch {
        throw timedOut();
      }
    }
  }
}

/** An attempt's failure as a few words for the next attempts' messages: `HTTP 503`, `ECONNRESET`. */
function shortReason(failure: AttemptFailure): string {
  const status = /answered (HTTP \d{3})/.exec(failure.what)?.[1];
  if (status !== undefined) return status;
  const code = (failure.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'a connection failure';
}

async function requestOnce(url: URL, requestToken: string, signal: AbortSignal): Promise<string> {
  const { request } = await import('undici');
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', authorization: `bearer ${requestToken}`, 'user-agent': 'tollgate' },
      signal,
      maxRedirections: 0,
    } as Parameters<typeof request>[1]);
  } catch (error) {
    // No answer: refused, reset, DNS, TLS. Asking again may find it back.
    throw connectionFailure(url, error);
  }
  const status = response.statusCode;
  if (status !== 200) {
    const retryAfter = parseRetryAfter(headerText(response.headers['retry-after']));
    discard(response.body);
    if (status === 429 || status >= 500) throw new AttemptFailure(`${url.host} answered HTTP ${status}`, true, retryAfter);
    throw new AttemptFailure(
      `${url.host} answered HTTP ${status} (not retried: a 4xx other than 429 does not change by asking again); does the workflow (or job) have \`permissions: id-token: write\`?`,
      false,
    );
  }
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_TOKEN_RESPONSE_BYTES) {
    discard(response.body);
    throw new AttemptFailure(`the answer declares ${declared} bytes, more than the ${MAX_TOKEN_RESPONSE_BYTES} a token answer can be; refused unread`, false);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > MAX_TOKEN_RESPONSE_BYTES) {
        discard(response.body);
        throw new AttemptFailure(`the answer is larger than the ${MAX_TOKEN_RESPONSE_BYTES} bytes a token answer can be; refused`, false);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AttemptFailure) throw error;
    // The connection broke mid-answer: as transient as one that broke before it.
    throw connectionFailure(url, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AttemptFailure('the answer is not JSON', false);
  }
  const value = typeof parsed === 'object' && parsed !== null ? (parsed as { value?: unknown }).value : undefined;
  if (typeof value !== 'string' || value === '') throw new AttemptFailure('the answer has no "value" string', false);
  return value.trim();
}

function connectionFailure(url: URL, error: unknown): AttemptFailure {
  const code = (error as { code?: unknown }).code;
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300);
  return new AttemptFailure(`${url.host}: ${message}${typeof code === 'string' ? ` (${code})` : ''}`, true, undefined, error);
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Drops a body not wanted: destroyed, with its abort error swallowed (nobody else listens). */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
