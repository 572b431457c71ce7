import { TollgateError } from '../../errors/tollgate-error.js';
import { hostnameOf, isLoopbackHost } from '../endpoint.js';
import { registryError, type RequestContext } from '../errors.js';
import { failure, rawRequest, type RawResponse, type TransportSettings } from '../http/raw-request.js';
import { contentLength, drain, readBounded, discardBody } from '../http/read-bounded.js';
import { isIdentityToken, type RegistryCredentials } from '../credentials/types.js';
import type { EgressGuard } from '../egress/egress-guard.js';
import { scopeStrings, type ScopeInput } from './scope.js';
import { parseTokenResponse } from './token-response.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

/** Token service answers are read only this far. */
export const MAX_TOKEN_BODY = 1024 * 1024;

type Challenge = { kind: 'basic' } | { kind: 'bearer'; realm: string; service?: string };

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  /** The registry's API host (`host:port`), where credentials may always go. */
  apiHost: string;
  /** Registry name for messages. */
  registry: string;
  /** Extra token realm hosts (`host` or `host:port`) that may receive credentials. */
  allowedTokenRealms: string[];
  /** Looked up once, when the registry first asks for authentication. */
  credentials: () => Promise<RegistryCredentials | undefined>;
  transport: TransportSettings;
  /** Where the realm may be: the registry, an allowed realm, a redirect host, or a checked public address. */
  egress: EgressGuard;
}

/**
 * Registry authentication as Docker does it: requests go out anonymously until a 401 names a scheme. Basic sends
 * the credentials to the registry itself; Bearer fetches a token from the realm for the request's scope (with the
 * credentials only when the realm is the registry's own host or an allowed realm, and only over HTTPS or to
 * loopback) and caches it per scope until it expires.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private credentialsPromise: Promise<RegistryCredentials | undefined> | undefined;

  constructor(private readonly options: AuthenticatorOptions) {}

  private credentials(): Promise<RegistryCredentials | undefined> {
    this.credentialsPromise ??= this.options.credentials();
    return this.credentialsPromise;
  }

  /** The realm host that credentials were last withheld from (not the registry, not allowed, or plain HTTP). */
  withheldFrom: string | undefined;

  async hasCredentials(): Promise<boolean> {
    return (await this.credentials()) !== undefined;
  }

  /** The Authorization header for a request in this scope, when the registry has asked for authentication. */
  async authorization(scope: ScopeInput, context: RequestContext): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.kind === 'basic') {
      const credentials = await this.credentials();
      if (credentials === undefined) return undefined;
      // An identity token is only good for a token service's OAuth2 exchange, never for Basic.
      if (isIdentityToken(credentials)) return undefined;
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const key = this.cacheKey(challenge, scope);
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(challenge, scopeStrings(scope), context);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private cacheKey(challenge: Challenge & { kind: 'bearer' }, scope: ScopeInput): string {
    return `${challenge.realm} ${challenge.service ?? ''} ${scopeStrings(scope).join(' ')}`;
  }

  /**
   * Learns from a 401. Returns the Authorization header to retry with, or undefined when there is nothing better
   * to try (no supported challenge, or no credentials for Basic).
   */
  async onUnauthorized(response: RawResponse, scope: ScopeInput, context: RequestContext): Promise<string | undefined> {
    const challenges = parseWwwAuthenticate(response.headers['www-authenticate']);
    await drain(response.body);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && typeof c.params.realm === 'string' && c.params.realm !== '');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer !== undefined) {
      const challenge: Challenge = { kind: 'bearer', realm: bearer.params.realm as string, ...(bearer.params.service !== undefined ? { service: bearer.params.service } : {}) };
      this.challenge = challenge;
      const scopes = scopeStrings(scope);
      const asked = bearer.params.scope;
      if (asked !== undefined) for (const s of asked.split(' ')) if (s !== '' && !scopes.includes(s)) scopes.push(s);
      const token = await this.fetchToken(challenge, scopes, context);
      this.tokens.set(this.cacheKey(challenge, scope), token);
      return `Bearer ${token.token}`;
    }
    if (basic !== undefined) {
      this.challenge = { kind: 'basic' };
      return this.authorization(scope, context);
    }
    return undefined;
  }

  /** Whether the realm is the registry's host or an allowed token realm. */
  private isAllowedRealm(realm: URL): boolean {
    const host = realm.host.toLowerCase();
    const name = hostnameOf(host);
    return host === this.options.apiHost.toLowerCase() || this.options.allowedTokenRealms.some((entry) => {
      const e = entry.toLowerCase();
      return e === host || (!e.includes(':') && e === name);
    });
  }

  /** Whether credentials may be sent to this realm; says why not at debug level. */
  private realmMayReceiveCredentials(realm: URL): boolean {
    const host = realm.host.toLowerCase();
    if (!this.isAllowedRealm(realm)) {
      this.options.transport.debug(`token realm ${host} is not ${this.options.apiHost} nor an allowed token realm; fetching the token anonymously without credentials`);
      return false;
    }
    if (realm.protocol !== 'https:' && !isLoopbackHost(host)) {
      this.options.transport.debug(`token realm ${host} is plain HTTP; fetching the token anonymously without credentials`);
      return false;
    }
    return true;
  }

  private async fetchToken(challenge: Challenge & { kind: 'bearer' }, scopes: string[], context: RequestContext): Promise<CachedToken> {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw registryError('REGISTRY_ERROR', context, 'the registry named a token realm that is not a URL; check its auth configuration');
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
      throw registryError('REGISTRY_ERROR', context, 'the registry named a token realm that is not an http(s) URL; check its auth configuration');
    }
    realm.hash = '';
    const tokenContext: RequestContext = { ...context, action: `getting a token from ${realm.host} for` };
    // The realm is the registry's word: a host nobody configured must be on a public address (no SSRF).
    const dispatcher = await this.options.egress.route(realm, tokenContext, 'token realm', this.isAllowedRealm(realm));
    const credentials = await this.credentials();
    const send = credentials !== undefined && this.realmMayReceiveCredentials(realm) ? credentials : undefined;
    this.withheldFrom = credentials !== undefined && send === undefined ? realm.host : undefined;
    let response: RawResponse;
    if (send !== undefined && isIdentityToken(send)) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: send.identityToken, client_id: 'tollgate' });
      if (challenge.service !== undefined) form.set('service', challenge.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await rawRequest(
        this.options.transport,
        {
          method: 'POST',
          url: realm,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(form.toString()),
          ...(dispatcher !== undefined ? { dispatcher } : {}),
        },
        tokenContext,
      );
    } else {
      const url = new URL(realm);
      if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (send !== undefined && !isIdentityToken(send)) {
        headers.authorization = `Basic ${Buffer.from(`${send.username}:${send.password}`).toString('base64')}`;
      }
      response = await rawRequest(this.options.transport, { method: 'GET', url, headers, ...(dispatcher !== undefined ? { dispatcher } : {}) }, tokenContext);
    }
    if (response.status === 401 || response.status === 403) {
      await drain(response.body);
      const why = credentials === undefined
        ? 'the registry needs credentials; run docker login or pass credentials'
        : send === undefined
          ? 'credentials were not sent to this token service because it is not the registry host; allow it as a token realm if you trust it'
          : 'the token service refused the credentials; check the username and password';
      throw registryError('UNAUTHORIZED', context, `authentication failed (token service at ${realm.host} answered ${response.status}); ${why}`);
    }
    if (response.status !== 200) throw await failure(response, tokenContext);
    const declared = contentLength(response.headers['content-length']);
    if (declared !== undefined && declared > MAX_TOKEN_BODY) {
      discardBody(response.body);
      throw registryError('REGISTRY_ERROR', tokenContext, 'the token service answer is larger than 1 MiB; check the registry auth configuration');
    }
    const bytes = await readBounded(response.body, MAX_TOKEN_BODY, () =>
      registryError('REGISTRY_ERROR', tokenContext, 'the token service answer is larger than 1 MiB; check the registry auth configuration'),
    );
    let issued;
    try {
      issued = parseTokenResponse(bytes, realm.host);
    } catch (error) {
      if (error instanceof TollgateError) throw registryError(error.code, context, error.message);
      throw error;
    }
    // Renew a little early so a token does not expire between check and use.
    const lifetime = issued.expiresInSeconds * 1000;
    return { token: issued.token, expiresAt: Date.now() + lifetime - Math.min(10_000, lifetime / 4) };
  }
}
