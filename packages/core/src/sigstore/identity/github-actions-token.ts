import { TollgateError } from '../../errors/tollgate-error.js';
import { isLoopbackHost } from '../../registry/endpoint.js';
import { SIGSTORE_AUDIENCE } from './identity-token-claims.js';

export interface GitHubActionsTokenOptions {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL` (https; plain http only on loopback). */
  requestUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: the runner's bearer token for the request. */
  requestToken: string;
  audience?: string;
  /** Whole-request deadline: connecting, headers and body (default 30 s). */
  timeoutMs?: number;
}

/** The token endpoint answers `{"count":…,"value":"<jwt>"}`: a few KiB; anything much larger is not that. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
const SOURCE = 'GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)';

/**
 * Requests the workflow's OIDC token as cosign and @sigstore/sign do: GET `<ACTIONS_ID_TOKEN_REQUEST_URL>&audience=sigstore`
 * with `Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`, answer `{value}`. One attempt, no redirects, a
 * deadline over the whole exchange and a bound on the body; every failure is IDENTITY_TOKEN_UNAVAILABLE in one
 * line that names GitHub Actions and says what to check. The token itself is checked by the caller.
 */
export async function fetchGitHubActionsToken(options: GitHubActionsTokenOptions): Promise<string> {
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
  const signal = AbortSignal.timeout(timeoutMs);
  const { request } = await import('undici');
  try {
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', authorization: `bearer ${options.requestToken}`, 'user-agent': 'tollgate' },
      signal,
      maxRedirections: 0,
    } as Parameters<typeof request>[1]);
    if (response.statusCode !== 200) {
      discard(response.body);
      throw fail(`${url.host} answered HTTP ${response.statusCode}; does the workflow (or job) have \`permissions: id-token: write\`?`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_TOKEN_RESPONSE_BYTES) {
      discard(response.body);
      throw fail(`the answer declares ${declared} bytes, more than the ${MAX_TOKEN_RESPONSE_BYTES} a token answer can be; refused unread`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > MAX_TOKEN_RESPONSE_BYTES) {
        discard(response.body);
        throw fail(`the answer is larger than the ${MAX_TOKEN_RESPONSE_BYTES} bytes a token answer can be; refused`);
      }
      chunks.push(chunk);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw fail('the answer is not JSON');
    }
    const value = typeof parsed === 'object' && parsed !== null ? (parsed as { value?: unknown }).value : undefined;
    if (typeof value !== 'string' || value === '') throw fail('the answer has no "value" string');
    return value.trim();
  } catch (error) {
    if (error instanceof TollgateError) throw error;
    if (signal.aborted) throw fail(`${url.host} did not answer within ${formatSeconds(timeoutMs)} (--timeout)`, error);
    const code = (error as { code?: unknown }).code;
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300);
    throw fail(`${url.host}: ${message}${typeof code === 'string' ? ` (${code})` : ''}`, error);
  }
}

/** Drops a body not wanted: destroyed, with its abort error swallowed (nobody else listens). */
function discard(body: { on(event: 'error', listener: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
