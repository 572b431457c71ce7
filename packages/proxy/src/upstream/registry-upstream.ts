import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DOCKER_HUB, RegistryClient, RegistrySource, TollgateError, type ContentSource, type IndexManifest, type RegistryCredentials } from '@tollgate/core';
import { Agent } from 'undici';
import { registryOf } from '../config/registry-name.js';
import type { UpstreamConfig } from '../config/types.js';
import { checkedManifest } from './manifest-check.js';
import type { TagsPage, Upstream, UpstreamManifest } from './types.js';

/** Tags read from an upstream for one listing. */
export const MAX_TAGS = 100_000;


function credentialsOf(config: UpstreamConfig, env: NodeJS.ProcessEnv): { credentials?: RegistryCredentials; dockerConfigPath?: string } {
  const c = config.credentials;
  if (c === undefined) return {};
  if (c.kind === 'docker-config') return { dockerConfigPath: c.dockerConfig };
  const password = c.password ?? (c.passwordEnv !== undefined ? env[c.passwordEnv] : undefined);
  if (password === undefined || password === '') {
    throw new TollgateError('INVALID_CONFIG', `upstream ${config.name}: the environment variable ${c.passwordEnv} (credentials.passwordEnv) is not set; export it before starting the proxy`);
  }
  return { credentials: { username: c.username, password } };
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new TollgateError('INVALID_CONFIG', `cannot read ${what} ${path}; check the upstream tls settings`);
  }
}

/** A distribution registry upstream, through the core RegistryClient (auth, bounded reads, digest checks). */
export class RegistryUpstream implements Upstream {
  readonly name: string;
  readonly location: string;
  readonly dockerHub: boolean;
  private readonly client: RegistryClient;
  private readonly agent: Agent | undefined;
  private readonly host: string;

  constructor(readonly config: UpstreamConfig, env: NodeJS.ProcessEnv = process.env) {
    const url = new URL(config.url!);
    this.name = config.name;
    this.host = url.host;
    this.location = `${url.protocol}//${url.host}`;
    // Hub naming (`library/` for one-component names) for Docker Hub and for mirrors of it named docker.io.
    this.dockerHub = registryOf(config) === DOCKER_HUB;
    const tls = config.tls;
    if (tls !== undefined) {
      this.agent = new Agent({
        connect: {
          ...(tls.ca !== undefined ? { ca: readPem(tls.ca, 'the CA file') } : {}),
          ...(tls.cert !== undefined ? { cert: readPem(tls.cert, 'the client certificate') } : {}),
          ...(tls.key !== undefined ? { key: readPem(tls.key, 'the client key') } : {}),
          ...(tls.insecureSkipVerify === true ? { rejectUnauthorized: false } : {}),
        },
      });
    }
    this.client = new RegistryClient(this.host, {
      ...credentialsOf(config, env),
      allowInsecure: config.insecure || url.protocol === 'http:',
      // The proxy does not retry: clients retry, and a held request helps nobody while the upstream is down.
      retries: 0,
      timeoutMs: config.timeoutSeconds * 1000,
      userAgent: 'tollgate-proxy/0.1',
      ...(this.agent !== undefined ? { dispatcher: this.agent } : {}),
      // Blob redirects and token realms elsewhere must be public unless listed here (no SSRF into our network).
      ...(config.redirectHosts !== undefined ? { redirectHosts: config.redirectHosts } : {}),
      redirectHostsSetting: `upstreams[].redirectHosts of upstream "${config.name}" in the proxy config`,
    });
  }

  async getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifest> {
    const raw = await this.client.getManifest(repository, reference, signal ? { signal } : {});
    return checkedManifest(raw.bytes, raw.mediaType, raw.expectedDigest ?? raw.digest, `manifest ${this.name}/${repository}:${reference}`);
  }

  getBlob(repository: string, digest: string, size: number, signal: AbortSignal): Promise<Readable> {
    return this.client.getBlob(repository, digest, { expectedSize: size, signal });
  }

  /**
   * Registries differ in tag order (distribution 2.8 pages in storage order), so the whole list is read (bounded)
   * and paged here in lexical order, as the spec's `n`/`last` require.
   */
  async listTags(repository: string, options: { n?: number; last?: string }, signal?: AbortSignal): Promise<TagsPage> {
    const all = [...new Set(await this.client.listAllTags(repository, { limit: MAX_TAGS, pageSize: 1000, ...(signal ? { signal } : {}) }))].sort();
    const after = options.last !== undefined ? all.filter((t) => t > options.last!) : all;
    const page = options.n !== undefined ? after.slice(0, options.n) : after;
    return { tags: page, more: page.length < after.length };
  }

  async referrers(repository: string, digest: string, artifactType?: string, signal?: AbortSignal): Promise<IndexManifest> {
    const result = await this.client.referrers(repository, digest, { ...(artifactType !== undefined ? { artifactType } : {}), ...(signal ? { signal } : {}) });
    return result.index;
  }

  source(repository: string): ContentSource {
    return new RegistrySource({ registry: this.host, repository }, this.client);
  }

  async close(): Promise<void> {
    await this.agent?.close();
  }
}
