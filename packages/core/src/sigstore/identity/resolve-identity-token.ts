import { TollgateError } from '../../errors/tollgate-error.js';
import { readInputFile } from '../read-input-file.js';
import { fetchGitHubActionsToken } from './github-actions-token.js';
import { checkIdentityToken, SIGSTORE_AUDIENCE, type IdentityTokenClaims } from './identity-token-claims.js';

/** Where a keyless identity token came from, in order of precedence. */
export type IdentityTokenSource = 'identity-token-flag' | 'identity-token-file' | 'SIGSTORE_ID_TOKEN' | 'github-actions';

export interface ResolvedIdentityToken extends IdentityTokenClaims {
  token: string;
  source: IdentityTokenSource;
  /** The source as people say it: `--identity-token @token.jwt`, `SIGSTORE_ID_TOKEN`, `GitHub Actions (…)`. */
  sourceDescription: string;
  /** Why earlier requests for the token failed before one succeeded (GitHub Actions: `HTTP 503`, `ECONNRESET`). */
  retried?: string[];
}

export interface ResolveIdentityTokenOptions {
  /** `--identity-token`: the token itself, or `@path` of a file holding it. Wins over everything ambient. */
  explicit?: string;
  /** The environment to look in (SIGSTORE_ID_TOKEN, ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN); never read deep down. */
  env: Readonly<Record<string, string | undefined>>;
  /** The clock, in ms since the epoch, for the expiry check. */
  now: () => number;
  /** Deadline of the GitHub Actions token request (default 30 s). */
  timeoutMs?: number;
  audience?: string;
}

const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/**
 * The identity token for keyless signing, from the first source that has one: the explicit flag (a token or
 * `@file`), then `SIGSTORE_ID_TOKEN` (GitLab's `id_tokens`, any CI), then GitHub Actions' token endpoint (both
 * `ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` set, as with `permissions: id-token: write`). The token found is
 * checked (JWT, not expired, audience `sigstore`) and a bad one is an error naming its source: a lower source is
 * never tried in its place. Undefined when no source has a token.
 */
export async function resolveIdentityToken(options: ResolveIdentityTokenOptions): Promise<ResolvedIdentityToken | undefined> {
  const audience = options.audience ?? SIGSTORE_AUDIENCE;
  const found = await findToken(options, audience);
  if (found === undefined) return undefined;
  const claims = checkIdentityToken(found.token, found.sourceDescription, options.now(), audience);
  return { ...found, ...claims };
}

async function findToken(options: ResolveIdentityTokenOptions, audience: string): Promise<Pick<ResolvedIdentityToken, 'token' | 'source' | 'sourceDescription' | 'retried'> | undefined> {
  if (options.explicit !== undefined) {
    if (options.explicit.startsWith('@')) {
      const path = options.explicit.slice(1);
      const bytes = await readInputFile(path, MAX_TOKEN_FILE_BYTES, 'identity token file');
      return { token: bytes.toString('utf8').trim(), source: 'identity-token-file', sourceDescription: `--identity-token @${path}` };
    }
    return { token: options.explicit.trim(), source: 'identity-token-flag', sourceDescription: '--identity-token' };
  }
  const fromEnv = options.env.SIGSTORE_ID_TOKEN;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { token: fromEnv.trim(), source: 'SIGSTORE_ID_TOKEN', sourceDescription: 'SIGSTORE_ID_TOKEN' };
  const requestUrl = options.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = options.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    const { token, retried } = await fetchGitHubActionsToken({ requestUrl, requestToken, audience, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
    return { token, source: 'github-actions', sourceDescription: 'GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)', ...(retried.length > 0 ? { retried } : {}) };
  }
  if (requestUrl || requestToken) {
    throw new TollgateError(
      'IDENTITY_TOKEN_UNAVAILABLE',
      `only ${requestUrl ? 'ACTIONS_ID_TOKEN_REQUEST_URL' : 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'} is set; GitHub Actions sets both when the job has \`permissions: id-token: write\``,
    );
  }
  return undefined;
}
