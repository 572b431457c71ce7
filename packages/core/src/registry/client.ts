import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RawManifest } from '../image/types.js';
import { getBlob, headBlob, type GetBlobOptions } from './blobs.js';
import { credentialsFromDockerConfig } from './credentials/docker-config.js';
import type { RegistryCredentials } from './credentials/types.js';
import { EgressGuard } from './egress/egress-guard.js';
import type { ResolveHost } from './egress/guarded-dispatcher.js';
import { parseHostPattern } from './egress/host-patterns.js';
import { apiHost, isDockerHub } from './endpoint.js';
import { failure, type TransportSettings } from './http/raw-request.js';
import { drain } from './http/read-bounded.js';
import { RegistryHttp } from './http/registry-http.js';
import { deleteManifest, getManifest, headManifest, putManifest, type ManifestHead } from './manifests.js';
import { referrers, type ReferrersResult } from './referrers.js';
import { listAllTags, listTags, type ListTagsOptions, type TagsPage } from './tags.js';
import { mountBlob, pushBlob, type PushBlobOptions } from './upload.js';

export interface RegistryClientOptions {
  /** Explicit credentials (from flags); otherwise the docker config is consulted when the registry asks. */
  credentials?: RegistryCredentials;
  /** Default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** Allow plain HTTP to a registry that is not on loopback (loopback registries always use plain HTTP). */
  allowInsecure?: boolean;
  /** Extra hosts (`host` or `host:port`) credentials may be sent to as token realms; auth.docker.io is built in for Docker Hub. */
  allowedTokenRealms?: string[];
  /**
   * Hosts the registry may redirect to (or name as token realm) whatever address they resolve to: `host`,
   * `host:port` or `*.domain`. Any other host must be on a public address (or, for a registry named by a
   * loopback/private/link-local address, on the same kind), checked on every address at connection time.
   */
  redirectHosts?: string[];
  /** How refusals name the setting that lists redirect hosts (default `redirectHosts`). */
  redirectHostsSetting?: string;
  /** Name resolution for hosts outside the registry (default: the system's, every address of both families). */
  resolveHost?: ResolveHost;
  /** Retries on 429/502/503/504 and broken connections; default 3. */
  retries?: number;
  /** Time to wait for response headers, and between body chunks; default 60 s. */
  timeoutMs?: number;
  userAgent?: string;
  /** undici dispatcher (tests, proxies). */
  dispatcher?: Dispatcher;
  /** Debug-level messages (never containing credentials). */
  debug?: (message: string) => void;
}

const DEFAULT_USER_AGENT = 'tollgate/0.1';

/**
 * An OCI distribution client for one registry, modelled on go-containerregistry's remote package: anonymous first,
 * Basic or Bearer (token) authentication when the registry asks, bounded reads everywhere, manifests verified
 * against the digests that name them, and blobs streamed (never buffered) with their size held to the descriptor.
 */
export class RegistryClient {
  private readonly http: RegistryHttp;

  constructor(readonly registry: string, options: RegistryClientOptions = {}) {
    const settings: TransportSettings = {
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      timeoutMs: options.timeoutMs ?? 60_000,
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      retries: Math.max(0, Math.min(options.retries ?? 3, 10)),
      allowInsecure: options.allowInsecure ?? false,
      debug: options.debug ?? (() => undefined),
    };
    const explicit = options.credentials;
    const credentials = explicit !== undefined ? () => Promise.resolve(explicit) : () => credentialsFromDockerConfig(registry, options.dockerConfigPath);
    const realms = [...(options.allowedTokenRealms ?? []), ...(isDockerHub(registry) ? ['auth.docker.io'] : [])];
    const egress = new EgressGuard({
      apiHost: apiHost(registry),
      redirectHosts: (options.redirectHosts ?? []).map(parseHostPattern),
      redirectHostsSetting: options.redirectHostsSetting ?? 'redirectHosts',
      ...(options.resolveHost !== undefined ? { resolveHost: options.resolveHost } : {}),
    });
    this.http = new RegistryHttp(registry, settings, credentials, realms, egress);
  }

  /** Checks the registry answers the distribution API (`GET /v2/`), authenticating if it asks. */
  async ping(): Promise<void> {
    const context = { registry: this.registry, action: 'pinging' };
    const response = await this.http.send({ method: 'GET', target: '/v2/', scope: undefined, context });
    if (response.status !== 200) throw await failure(response, context);
    await drain(response.body);
  }

  headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    return headManifest(this.http, repository, reference);
  }

  getManifest(repository: string, reference: string, options?: { signal?: AbortSignal }): Promise<RawManifest & { digest: string }> {
    return getManifest(this.http, repository, reference, options);
  }

  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    return putManifest(this.http, repository, reference, bytes, mediaType);
  }

  deleteManifest(repository: string, digest: string): Promise<void> {
    return deleteManifest(this.http, repository, digest);
  }

  headBlob(repository: string, digest: string): Promise<{ size: number } | undefined> {
    return headBlob(this.http, repository, digest);
  }

  getBlob(repository: string, digest: string, options?: GetBlobOptions): Promise<Readable> {
    return getBlob(this.http, repository, digest, options);
  }

  pushBlob(repository: string, content: Uint8Array | (() => Readable), digest: string, size: number, options?: PushBlobOptions): Promise<void> {
    return pushBlob(this.http, repository, content, digest, size, options);
  }

  mountBlob(repository: string, fromRepository: string, digest: string): Promise<boolean> {
    return mountBlob(this.http, repository, fromRepository, digest);
  }

  listTags(repository: string, options?: ListTagsOptions): Promise<TagsPage> {
    return listTags(this.http, repository, options);
  }

  listAllTags(repository: string, options?: { limit?: number; pageSize?: number; signal?: AbortSignal }): Promise<string[]> {
    return listAllTags(this.http, repository, options);
  }

  referrers(repository: string, digest: string, options?: { artifactType?: string; signal?: AbortSignal }): Promise<ReferrersResult> {
    return referrers(this.http, repository, digest, options);
  }
}
