/** The proxy configuration after validation: every default applied, every path absolute. */

export type UpstreamCredentials =
  | { kind: 'password'; username: string; password?: string; passwordEnv?: string }
  | { kind: 'docker-config'; dockerConfig: string };

export interface UpstreamTls {
  /** PEM file of extra certificate authorities to trust for this upstream. */
  ca?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  cert?: string;
  key?: string;
  /** Skip certificate verification (testing only). */
  insecureSkipVerify?: boolean;
}

export interface UpstreamConfig {
  /** Short name: `[a-z0-9][a-z0-9._-]*`; used in metrics, logs, cache keys and gate rules. */
  name: string;
  /** `https://host[:port]` (or `http://` for loopback / `insecure`) of a distribution registry. */
  url?: string;
  /** An OCI image layout directory served as a registry (every repository name maps to it). */
  oci?: string;
  /** Clients reach it as `/v2/<prefix>/<repository>/…`. */
  prefix?: string;
  /** Clients reach it with containerd's `?ns=<host>` parameter. */
  ns?: string;
  /** Requests that match no prefix or ns go here (Docker's `registry-mirrors` form). */
  default: boolean;
  credentials?: UpstreamCredentials;
  tls?: UpstreamTls;
  /** Allow plain HTTP to a host that is not loopback. */
  insecure: boolean;
  /** Time to wait for response headers and between body chunks from this upstream. */
  timeoutSeconds: number;
}

export interface CacheConfig {
  /** Blob store size bound; least recently used blobs are evicted past it. */
  maxBytes: number;
  /** How long a tag → digest resolution is trusted before the upstream is asked again. */
  tagTtlSeconds: number;
}

/** Gates that can be named in the config until the policy engine lands. */
export type GateConfig = { kind: 'allow-all' } | { kind: 'allow-digests'; allowDigests: Record<string, string[]> };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ProxyConfig {
  listen: { host: string; port: number };
  dataDir: string;
  logLevel: LogLevel;
  tls?: { cert: string; key: string };
  cache: CacheConfig;
  gate?: GateConfig;
  upstreams: UpstreamConfig[];
}
