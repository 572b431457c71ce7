import type { Readable } from 'node:stream';
import { Authenticator } from '../auth/authenticator.js';
import type { ScopeInput } from '../auth/scope.js';
import { apiHost, isLoopbackHost } from '../endpoint.js';
import { isPlainHttpAnswer, registryError, type RequestContext } from '../errors.js';
import { rawRequest, type HttpMethod, type RawResponse, type TransportSettings } from './raw-request.js';
import { drain } from './read-bounded.js';
import type { RegistryCredentials } from '../credentials/types.js';
import type { EgressGuard } from '../egress/egress-guard.js';

export interface SendOptions {
  method: HttpMethod;
  /**
   * A path on the registry (`/v2/...`, with query) or an absolute URL (Location headers, redirects). A URL on
   * another host goes through the egress guard: refused, or sent through a connection that checks its addresses.
   */
  target: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array | Readable;
  scope: ScopeInput;
  context: RequestContext;
  signal?: AbortSignal;
}

/**
 * Requests to one registry with authentication: the scheme (plain HTTP for loopback hosts, HTTPS otherwise, with
 * an HTTPS-then-HTTP probe when insecure registries are allowed), credentials attached only to the registry's own
 * host, one authenticated retry after a 401 when the body can be sent again, and any other host only as the
 * egress guard allows (trusted redirect hosts, or public addresses checked at connection time).
 */
export class RegistryHttp {
  readonly host: string;
  private basePromise: Promise<URL> | undefined;
  private readonly auth: Authenticator;

  constructor(
    readonly registry: string,
    readonly settings: TransportSettings,
    credentials: () => Promise<RegistryCredentials | undefined>,
    allowedTokenRealms: string[],
    private readonly egress: EgressGuard,
  ) {
    this.host = apiHost(registry);
    this.auth = new Authenticator({ apiHost: this.host, registry, allowedTokenRealms, credentials, transport: settings, egress });
  }

  /** `http(s)://host/` of the registry API. */
  base(context: RequestContext): Promise<URL> {
    this.basePromise ??= this.chooseBase(context);
    return this.basePromise;
  }

  private async chooseBase(context: RequestContext): Promise<URL> {
    if (isLoopbackHost(this.host)) return new URL(`http://${this.host}/`);
    const https = new URL(`https://${this.host}/`);
    if (!this.settings.allowInsecure) return https;
    // Like Docker with an insecure registry: HTTPS when it answers, else plain HTTP.
    try {
      const probe = await rawRequest({ ...this.settings, retries: 0 }, { method: 'GET', url: new URL('/v2/', https) }, context);
      await drain(probe.body);
      return https;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      const code = (cause as { code?: unknown }).code;
      if (isPlainHttpAnswer(cause) || (typeof code === 'string' && (code.startsWith('ERR_SSL') || code.includes('CERT') || code === 'ECONNREFUSED'))) {
        this.settings.debug(`${this.host} does not answer HTTPS; using plain HTTP as insecure registries are allowed`);
        return new URL(`http://${this.host}/`);
      }
      this.basePromise = undefined;
      throw error;
    }
  }

  /** Whether a URL is the registry's own API host (the only place credentials go). */
  isRegistryHost(url: URL): boolean {
    return url.host.toLowerCase() === this.host;
  }

  async send(options: SendOptions): Promise<RawResponse> {
    const base = await this.base(options.context);
    const url = options.target instanceof URL ? options.target : new URL(options.target, base);
    const own = this.isRegistryHost(url);
    const dispatcher = await this.egress.route(url, options.context, 'redirect');
    const replayable = options.body === undefined || options.body instanceof Uint8Array;
    let authorization = own ? await this.auth.authorization(options.scope, options.context) : undefined;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers };
      if (authorization !== undefined) headers.authorization = authorization;
      const response = await rawRequest(
        this.settings,
        {
          method: options.method,
          url,
          headers,
          ...(options.body !== undefined ? { body: options.body } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(dispatcher !== undefined ? { dispatcher } : {}),
        },
        options.context,
      );
      if (response.status !== 401 || !own) return response;
      if (attempt > 0 || !replayable) throw await this.unauthorized(response, options.context);
      const next = await this.auth.onUnauthorized(response, options.scope, options.context);
      if (next === undefined || next === authorization) throw await this.unauthorized(undefined, options.context);
      authorization = next;
    }
  }

  private async unauthorized(response: RawResponse | undefined, context: RequestContext): Promise<Error> {
    if (response !== undefined) await drain(response.body);
    const credentials = await this.auth.hasCredentials();
    if (credentials && this.auth.withheldFrom !== undefined) {
      return registryError(
        'UNAUTHORIZED',
        context,
        `authentication failed (HTTP 401): credentials were not sent to the token service at ${this.auth.withheldFrom} because it is not the registry host (or not HTTPS); allow it as a token realm if you trust it`,
      );
    }
    return registryError(
      'UNAUTHORIZED',
      context,
      credentials
        ? 'authentication failed (HTTP 401); check the username and password (docker login, or pass credentials explicitly)'
        : 'the registry requires authentication (HTTP 401) and no credentials were found; run docker login or pass credentials explicitly',
    );
  }
}
