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
  /** Clients reach it with containerd's `?ns=<host>` parameter (Docker Hub's aliases are all `docker.io`). */
  ns?: string;
  /**
   * The registry its images are named under in policy rules (`<registry>/<repository>`); see registryOf() for the
   * default (from `ns`, then the URL's host).
   */
  registry?: string;
  /** Requests that match no prefix or ns go here (Docker's `registry-mirrors` form). */
  default: boolean;
  credentials?: UpstreamCredentials;
  tls?: UpstreamTls;
  /** Allow plain HTTP to a host that is not loopback. */
  insecure: boolean;
  /** Time to wait for response headers and between body chunks from this upstream. */
  timeoutSeconds: number;
  /** Overrides the global mode for this upstream. */
  mode?: EnforcementMode;
  /** Overrides the global pinTags for this upstream. */
  pinTags?: boolean;
  /**
   * Hosts (`host`, `host:port`, `*.domain`) this upstream may redirect to, or name as token realm, even on
   * loopback/private/link-local addresses; any other host must be public (or on the upstream's own kind of address).
   */
  redirectHosts?: string[];
}

export interface CacheConfig {
  /** Blob store size bound; least recently used blobs are evicted past it. */
  maxBytes: number;
  /** How long a tag → digest resolution is trusted before the upstream is asked again. */
  tagTtlSeconds: number;
  /**
   * How long an allow (or warn) verdict stands before the gate evaluates the digest again (0: until the policy
   * changes). A signature removed upstream, or an upstream that can no longer show one, then stops the image.
   */
  verdictTtlSeconds: number;
  /**
   * How long a deny stands (0: never kept). Short, because a deny can come from the upstream failing to list or
   * serve signatures for a moment; the digest is evaluated again once it expires.
   */
  denyTtlSeconds: number;
}

/**
 * The gate a config names: an admission policy file (with an optional Sigstore trusted root file), pinned digests,
 * or allow-all (testing only).
 */
export type GateConfig =
  | { kind: 'allow-all' }
  | { kind: 'allow-digests'; allowDigests: Record<string, string[]> }
  | { kind: 'policy'; policy: string; trustedRoot?: string; tuf?: TufConfig };

/**
 * Where the Sigstore trusted root comes from when no `trustedRoot` file is given: the public-good TUF repository
 * (or a mirror of it), cached under `<dataDir>/tuf`, read at start-up.
 */
export interface TufConfig {
  /** The TUF repository (default https://tuf-repo-cdn.sigstore.dev). */
  mirror?: string;
  /** The TUF root.json to start from for a mirror with its own TUF root (default: the public-good one). */
  root?: string;
  /** No network: the cached TUF root if it still verifies, else the root embedded in tollgate. */
  offline?: boolean;
  /** Hours between fetches of the root while the proxy runs (default 24; 0: only at start-up). */
  refreshHours?: number;
}

/** `enforce` refuses what the gate denies; `warn` serves it, recording and counting what would have been denied. */
export type EnforcementMode = 'enforce' | 'warn';

/** One per-repository access rule: users (or everyone, `'*'`) who may pull repositories matching the globs. */
export interface AccessRule {
  /** Globs over `<upstream name>/<repository>` (`*` within a path component, `**` across). */
  repositories: string[];
  users: string[] | '*';
}

/** How clients authenticate to the proxy. */
export interface AuthConfig {
  mode: 'anonymous' | 'htpasswd' | 'token';
  /** bcrypt htpasswd file (`htpasswd -B`); required for htpasswd and token. */
  htpasswd?: string;
  /** Bearer tokens the proxy issues at `/token` (mode token). */
  token?: { issuer: string; service: string; ttlSeconds: number; signingKey: string };
  /** Absent: every authenticated client may pull everything. Present: only what a rule grants. */
  access?: AccessRule[];
}

/** Where audit events go besides the metadata store. */
export interface AuditConfig {
  /** A JSON-lines file, one event per line, appended. */
  file?: string;
}

/** Metadata store location: `level` (default, `<dataDir>/meta`) or a Redis URL. */
export type MetadataLocation = { kind: 'level' } | { kind: 'redis'; url: string };

/**
 * S3 credentials: named environment variables, or a shared credentials file (the AWS `credentials` format) and
 * profile. Absent: the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles).
 * The values themselves are never in the config and never logged.
 */
export type S3Credentials = { accessKeyIdEnv: string; secretAccessKeyEnv: string; sessionTokenEnv?: string } | { file: string; profile?: string };

/** An S3-compatible bucket holding the verified blobs, shared by every replica. */
export interface S3BlobConfig {
  /** e.g. http://127.0.0.1:7480 (Ceph RGW); absent: AWS's endpoint for the region. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** Key prefix; blobs are `<prefix>/blobs/<alg>/<hex>` (empty: `blobs/<alg>/<hex>`). */
  prefix: string;
  /** Path-style URLs (http://host/bucket/key), as RGW and most self-hosted stores need. */
  forcePathStyle: boolean;
  credentials?: S3Credentials;
  /**
   * Answer cached blob GETs with a presigned URL (307) instead of streaming them through the proxy: faster, but the
   * URL works without the proxy's client auth for its lifetime (`redirectSeconds`, default 300).
   */
  redirect: boolean;
  redirectSeconds: number;
  /**
   * Bytes of this replica's disk (`<dataDir>/local-cache`) kept as copies of verified blobs read from the store, so
   * a blob read again here is sent from disk instead of fetched from S3 and hashed again; 0 (default): none.
   */
  localCacheBytes: number;
}

/** Where verified blobs are kept: `filesystem` (default, `<dataDir>/blobs`) or an S3 bucket. */
export type BlobLocation = { kind: 'filesystem' } | { kind: 's3'; s3: S3BlobConfig };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The read-only web dashboard (docs/dashboard.md). */
export interface UiConfig {
  enabled: boolean;
  /** URL path prefix, e.g. `/ui`. */
  path: string;
  /** A listener of its own; absent: the proxy's listener serves it under `path`. */
  listen?: { host: string; port: number };
}

export interface ProxyConfig {
  listen: { host: string; port: number };
  dataDir: string;
  logLevel: LogLevel;
  tls?: { cert: string; key: string };
  cache: CacheConfig;
  gate?: GateConfig;
  upstreams: UpstreamConfig[];
  /** Client authentication; default anonymous. */
  auth: AuthConfig;
  audit: AuditConfig;
  /** `blobs: s3` needs `metadata: redis://…` (replicas share both). */
  store: { metadata: MetadataLocation; blobs: BlobLocation };
  /** Global enforcement mode (default enforce); upstreams may override it. */
  mode: EnforcementMode;
  /** Deny a tag that moved to a new digest until the gate verifies the new digest (default false). */
  pinTags: boolean;
  /** The dashboard; absent or `enabled: false`: not served. */
  ui?: UiConfig;
}
