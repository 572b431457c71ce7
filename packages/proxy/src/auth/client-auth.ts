import type { FastifyRequest } from 'fastify';
import type { AuthConfig } from '../config/types.js';
import { OciError } from '../http/oci-error.js';
import { AccessRules } from './access-rules.js';
import { Htpasswd } from './htpasswd.js';
import { grantsPull } from './scope.js';
import { MAX_TOKEN_LENGTH, TokenIssuer, type TokenClaims } from './token-issuer.js';

/** Who a request comes from: a user name (never a credential) or `anonymous`. */
export interface ClientIdentity {
  identity: string;
  via: 'anonymous' | 'basic' | 'bearer';
}

/**
 * A 401 with the `WWW-Authenticate` challenge that tells the client how to authenticate. `audit` is set when the
 * client presented credentials that failed (worth recording), not for the first, credential-less request.
 */
export class ChallengeError extends OciError {
  constructor(
    message: string,
    readonly challenge: string,
    readonly audit?: { identity: string; reason: string },
  ) {
    super(401, 'UNAUTHORIZED', message);
  }
}

const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/;
const MAX_VERIFIED_TOKENS = 1024;

/** Splits `Basic base64(user:password)`; undefined when the header is not Basic or is malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = header !== undefined && header.length <= 4096 ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const text = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function bearerOf(header: string | undefined): string | undefined {
  const match = header !== undefined && header.length <= MAX_TOKEN_LENGTH + 16 ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Client authentication and per-repository access: anonymous, htpasswd (Basic, bcrypt) or Bearer tokens the proxy
 * issues at `/token` (distribution's token flow, checked against the same htpasswd file).
 */
export class ClientAuth {
  private readonly verified = new Map<string, TokenClaims>();

  private constructor(
    readonly mode: AuthConfig['mode'],
    private readonly htpasswd: Htpasswd | undefined,
    readonly tokens: TokenIssuer | undefined,
    readonly rules: AccessRules,
  ) {}

  static async open(config: AuthConfig): Promise<ClientAuth> {
    const htpasswd = config.htpasswd !== undefined ? await Htpasswd.load(config.htpasswd) : undefined;
    const tokens = config.mode === 'token' && config.token !== undefined ? await TokenIssuer.open(config.token) : undefined;
    return new ClientAuth(config.mode, htpasswd, tokens, new AccessRules(config.access));
  }

  /** The proxy's own base URL as this client reached it (for the token realm). */
  static baseUrl(request: FastifyRequest): string {
    const host = request.headers.host;
    const safe = host !== undefined && HOST.test(host) ? host : `${request.hostname}`;
    return `${request.protocol}://${safe}`;
  }

  private challenge(request: FastifyRequest, name: string | undefined, error?: 'invalid_token' | 'insufficient_scope'): string {
    if (this.mode === 'htpasswd') return 'Basic realm="tollgate"';
    const parts = [`realm="${ClientAuth.baseUrl(request)}/token"`, `service="${this.tokens!.service}"`];
    if (name !== undefined) parts.push(`scope="repository:${name}:pull"`);
    if (error !== undefined) parts.push(`error="${error}"`);
    return `Bearer ${parts.join(',')}`;
  }

  /** Checks a user name and password against the htpasswd file. */
  async checkPassword(user: string, password: string): Promise<boolean> {
    return this.htpasswd !== undefined && (await this.htpasswd.verify(user, password));
  }

  private async verifyToken(token: string): Promise<TokenClaims | undefined> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (known.expiresAt > Date.now()) return known;
      this.verified.delete(token);
      return undefined;
    }
    const claims = await this.tokens!.verify(token);
    if (claims === undefined) return undefined;
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }

  /**
   * Authenticates a /v2 request for the repository `name` as the client named it (undefined for `/v2/`). Throws a
   * ChallengeError (401) when credentials are missing or wrong, or when a token does not grant `pull` on `name`.
   */
  async authenticate(request: FastifyRequest, name: string | undefined): Promise<ClientIdentity> {
    if (this.mode === 'anonymous') return { identity: 'anonymous', via: 'anonymous' };
    const header = request.headers.authorization;
    if (this.mode === 'htpasswd') {
      const basic = parseBasic(header);
      if (basic === undefined) throw new ChallengeError('authentication required', this.challenge(request, name));
      if (!(await this.checkPassword(basic.user, basic.password))) {
        throw new ChallengeError('authentication required: wrong user name or password', this.challenge(request, name), { identity: basic.user.slice(0, 256), reason: 'wrong user name or password' });
      }
      return { identity: basic.user, via: 'basic' };
    }
    const token = bearerOf(header);
    if (token === undefined) throw new ChallengeError('authentication required', this.challenge(request, name));
    const claims = await this.verifyToken(token);
    if (claims === undefined) {
      throw new ChallengeError('authentication required: the token is invalid or expired; request a new one', this.challenge(request, name, 'invalid_token'), { identity: 'unknown', reason: 'invalid or expired token' });
    }
    if (name !== undefined && !grantsPull(claims.access, name)) {
      throw new ChallengeError(`authentication required: the token does not grant pull on ${name.slice(0, 256)}`, this.challenge(request, name, 'insufficient_scope'), { identity: claims.subject.slice(0, 256), reason: `token scope does not cover ${name.slice(0, 256)}` });
    }
    return { identity: claims.subject, via: 'bearer' };
  }

  /** Whether `identity` may pull `<upstream>/<repository>` under the access rules. */
  allows(identity: string, upstream: string, repository: string): boolean {
    return this.rules.allows(identity, upstream, repository);
  }
}
