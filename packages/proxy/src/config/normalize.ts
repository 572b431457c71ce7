import { isAbsolute, resolve } from 'node:path';
import { canonicalRegistryHost, parseDigest } from '@tollgate/core';
import { asRecord, byteSize, checkKeys, configError, integerIn, optionalBoolean, optionalString, requiredString } from './fields.js';
import { parseListen } from './listen.js';
import { readAudit, readAuth, readMode, readStore } from './auth-config.js';
import { readRedirectHosts } from './redirect-hosts.js';
import { readUi } from './ui-config.js';
import { normalizeRegistryName } from './registry-name.js';
import type { GateConfig, LogLevel, ProxyConfig, TufConfig, UpstreamConfig, UpstreamCredentials, UpstreamTls } from './types.js';

export interface NormalizeOptions {
  /** Relative paths in the config are taken from here (the config file's directory). */
  baseDir?: string;
  /** Environment for overrides (`TOLLGATE_PROXY_*`); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const TOP_KEYS = ['listen', 'dataDir', 'logLevel', 'tls', 'cache', 'gate', 'upstreams', 'auth', 'audit', 'store', 'mode', 'pinTags', 'ui'] as const;
const UPSTREAM_KEYS = ['name', 'url', 'oci', 'prefix', 'ns', 'registry', 'default', 'credentials', 'tls', 'insecure', 'timeoutSeconds', 'mode', 'pinTags', 'redirectHosts'] as const;
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PREFIX_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/** Environment variables that override config keys (applied after the file). */
export const ENV_OVERRIDES = {
  TOLLGATE_PROXY_LISTEN: 'listen',
  TOLLGATE_PROXY_DATA_DIR: 'dataDir',
  TOLLGATE_PROXY_LOG_LEVEL: 'logLevel',
  TOLLGATE_PROXY_CACHE_MAX_BYTES: 'cache.maxBytes',
  TOLLGATE_PROXY_TAG_TTL_SECONDS: 'cache.tagTtlSeconds',
  TOLLGATE_PROXY_STORE_METADATA: 'store.metadata',
} as const;

function path(dir: string, value: string): string {
  return isAbsolute(value) ? value : resolve(dir, value);
}

/**
 * Validates a parsed config document strictly (unknown keys are errors naming the key) and returns it with
 * defaults applied, environment overrides merged and paths made absolute.
 */
export function normalizeProxyConfig(raw: unknown, options: NormalizeOptions = {}): ProxyConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const doc = { ...asRecord(raw ?? {}, '') };
  checkKeys(doc, TOP_KEYS, '');
  const cacheDoc = { ...asRecord(doc.cache ?? {}, 'cache') };
  checkKeys(cacheDoc, ['maxBytes', 'tagTtlSeconds', 'verdictTtlSeconds', 'denyTtlSeconds'], 'cache');
  if (env.TOLLGATE_PROXY_LISTEN) doc.listen = env.TOLLGATE_PROXY_LISTEN;
  if (env.TOLLGATE_PROXY_DATA_DIR) doc.dataDir = env.TOLLGATE_PROXY_DATA_DIR;
  if (env.TOLLGATE_PROXY_LOG_LEVEL) doc.logLevel = env.TOLLGATE_PROXY_LOG_LEVEL;
  if (env.TOLLGATE_PROXY_CACHE_MAX_BYTES) cacheDoc.maxBytes = env.TOLLGATE_PROXY_CACHE_MAX_BYTES;
  if (env.TOLLGATE_PROXY_TAG_TTL_SECONDS) cacheDoc.tagTtlSeconds = env.TOLLGATE_PROXY_TAG_TTL_SECONDS;
  // A Redis URL carries its password: deployments give it from a secret (Kubernetes secretKeyRef), not in the file.
  if (env.TOLLGATE_PROXY_STORE_METADATA) doc.store = { ...asRecord(doc.store ?? {}, 'store'), metadata: env.TOLLGATE_PROXY_STORE_METADATA };

  const listen = parseListen(optionalString(doc.listen, 'listen', 300) ?? '127.0.0.1:5000', 'listen');
  const dataDir = path(baseDir, requiredString(doc.dataDir, 'dataDir'));
  const logLevel = (optionalString(doc.logLevel, 'logLevel', 10) ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw configError('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);

  const config: ProxyConfig = {
    listen,
    dataDir,
    logLevel,
    cache: {
      maxBytes: cacheDoc.maxBytes === undefined ? 10 * 1024 ** 3 : byteSize(cacheDoc.maxBytes, 'cache.maxBytes'),
      tagTtlSeconds: cacheDoc.tagTtlSeconds === undefined ? 300 : integerIn(cacheDoc.tagTtlSeconds, 'cache.tagTtlSeconds', 0, 365 * 86400),
      verdictTtlSeconds: cacheDoc.verdictTtlSeconds === undefined ? 86400 : integerIn(cacheDoc.verdictTtlSeconds, 'cache.verdictTtlSeconds', 0, 365 * 86400),
      denyTtlSeconds: cacheDoc.denyTtlSeconds === undefined ? 60 : integerIn(cacheDoc.denyTtlSeconds, 'cache.denyTtlSeconds', 0, 365 * 86400),
    },
    upstreams: readUpstreams(doc.upstreams, baseDir),
    auth: readAuth(doc.auth, baseDir, dataDir),
    audit: readAudit(doc.audit, baseDir),
    store: readStore(doc.store, baseDir),
    mode: readMode(doc.mode, 'mode') ?? 'enforce',
    pinTags: optionalBoolean(doc.pinTags, 'pinTags') ?? false,
  };
  if (doc.tls !== undefined && doc.tls !== null) {
    const tls = asRecord(doc.tls, 'tls');
    checkKeys(tls, ['cert', 'key'], 'tls');
    config.tls = { cert: path(baseDir, requiredString(tls.cert, 'tls.cert')), key: path(baseDir, requiredString(tls.key, 'tls.key')) };
  }
  const gate = readGate(doc.gate, config.upstreams, baseDir);
  if (gate !== undefined) config.gate = gate;
  if (doc.ui !== undefined && doc.ui !== null) config.ui = readUi(doc.ui);
  return config;
}

function readUpstreams(value: unknown, baseDir: string): UpstreamConfig[] {
  if (!Array.isArray(value) || value.length === 0) throw configError('upstreams', 'must list at least one upstream ({name, url | oci, prefix?, ns?, default?})');
  if (value.length > 100) throw configError('upstreams', 'lists more than 100 upstreams');
  const out = value.map((item, i) => readUpstream(item, `upstreams[${i}]`, baseDir));
  const seen = (key: 'name' | 'prefix' | 'ns') => {
    const values = out.map((u) => u[key]).filter((v): v is string => v !== undefined);
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw configError('upstreams', `use the ${key} ${JSON.stringify(dup)} twice; each must be unique`);
  };
  seen('name');
  seen('prefix');
  seen('ns');
  if (out.filter((u) => u.default).length > 1) throw configError('upstreams', 'mark more than one upstream default: true; choose one');
  return out;
}

function readUpstream(value: unknown, at: string, baseDir: string): UpstreamConfig {
  const doc = asRecord(value, at);
  checkKeys(doc, UPSTREAM_KEYS, at);
  const name = requiredString(doc.name, `${at}.name`, 63);
  if (!NAME.test(name)) throw configError(`${at}.name`, 'must be lowercase letters, digits, ".", "_" or "-" (at most 63)');
  const url = optionalString(doc.url, `${at}.url`, 2048);
  const oci = optionalString(doc.oci, `${at}.oci`);
  if ((url === undefined) === (oci === undefined)) throw configError(at, 'needs exactly one of url (a registry) or oci (a layout directory)');
  const upstream: UpstreamConfig = {
    name,
    default: optionalBoolean(doc.default, `${at}.default`) ?? false,
    insecure: optionalBoolean(doc.insecure, `${at}.insecure`) ?? false,
    timeoutSeconds: doc.timeoutSeconds === undefined ? 60 : integerIn(doc.timeoutSeconds, `${at}.timeoutSeconds`, 1, 3600),
  };
  const mode = readMode(doc.mode, `${at}.mode`);
  if (mode !== undefined) upstream.mode = mode;
  const pinTags = optionalBoolean(doc.pinTags, `${at}.pinTags`);
  if (pinTags !== undefined) upstream.pinTags = pinTags;
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw configError(`${at}.url`, 'is not a URL; write https://registry.example.com');
    }
    if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.username !== '' || parsed.password !== '' || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '') {
      throw configError(`${at}.url`, 'must be http(s)://host[:port] with no path, query or inline credentials (use credentials:)');
    }
    upstream.url = `${parsed.protocol}//${parsed.host}`;
  }
  if (oci !== undefined) upstream.oci = path(baseDir, oci.replace(/^oci:/, ''));
  const prefix = optionalString(doc.prefix, `${at}.prefix`, 128);
  if (prefix !== undefined) {
    if (!prefix.split('/').every((part) => PREFIX_COMPONENT.test(part))) throw configError(`${at}.prefix`, 'must be repository path components, e.g. "hub" or "mirror/ghcr"');
    upstream.prefix = prefix;
  }
  const ns = optionalString(doc.ns, `${at}.ns`, 255);
  if (ns !== undefined) {
    if (!HOST.test(ns)) throw configError(`${at}.ns`, 'must be a registry host name such as docker.io or ghcr.io');
    upstream.ns = canonicalRegistryHost(ns);
  }
  const registry = optionalString(doc.registry, `${at}.registry`, 255);
  if (registry !== undefined) {
    const normalized = normalizeRegistryName(registry);
    if (normalized === undefined) throw configError(`${at}.registry`, 'must be a registry host as image names write it, such as docker.io, ghcr.io or registry.local:5000');
    upstream.registry = normalized;
  }
  if (!upstream.default && upstream.prefix === undefined && upstream.ns === undefined) {
    throw configError(at, 'cannot be reached: give it a prefix, an ns, or default: true');
  }
  if (doc.credentials !== undefined && doc.credentials !== null) upstream.credentials = readCredentials(doc.credentials, `${at}.credentials`, baseDir);
  if (doc.tls !== undefined && doc.tls !== null) upstream.tls = readUpstreamTls(doc.tls, `${at}.tls`, baseDir);
  const redirectHosts = readRedirectHosts(doc.redirectHosts, `${at}.redirectHosts`);
  if (redirectHosts !== undefined) upstream.redirectHosts = redirectHosts;
  if (upstream.oci !== undefined && (upstream.credentials !== undefined || upstream.tls !== undefined || redirectHosts !== undefined)) {
    throw configError(at, 'is an oci layout; credentials, tls and redirectHosts apply only to url upstreams');
  }
  return upstream;
}

function readCredentials(value: unknown, at: string, baseDir: string): UpstreamCredentials {
  const doc = asRecord(value, at);
  if (doc.dockerConfig !== undefined) {
    checkKeys(doc, ['dockerConfig'], at);
    return { kind: 'docker-config', dockerConfig: path(baseDir, requiredString(doc.dockerConfig, `${at}.dockerConfig`)) };
  }
  checkKeys(doc, ['username', 'password', 'passwordEnv'], at);
  const username = requiredString(doc.username, `${at}.username`, 1024);
  const password = optionalString(doc.password, `${at}.password`, 16384);
  const passwordEnv = optionalString(doc.passwordEnv, `${at}.passwordEnv`, 256);
  if ((password === undefined) === (passwordEnv === undefined)) throw configError(at, 'needs exactly one of password or passwordEnv (the name of an environment variable)');
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) throw configError(`${at}.passwordEnv`, 'must be an environment variable name');
  return { kind: 'password', username, ...(password !== undefined ? { password } : {}), ...(passwordEnv !== undefined ? { passwordEnv } : {}) };
}

function readUpstreamTls(value: unknown, at: string, baseDir: string): UpstreamTls {
  const doc = asRecord(value, at);
  checkKeys(doc, ['ca', 'cert', 'key', 'insecureSkipVerify'], at);
  const tls: UpstreamTls = {};
  const ca = optionalString(doc.ca, `${at}.ca`);
  const cert = optionalString(doc.cert, `${at}.cert`);
  const key = optionalString(doc.key, `${at}.key`);
  if ((cert === undefined) !== (key === undefined)) throw configError(at, 'needs both cert and key for a client certificate');
  if (ca !== undefined) tls.ca = path(baseDir, ca);
  if (cert !== undefined) tls.cert = path(baseDir, cert);
  if (key !== undefined) tls.key = path(baseDir, key);
  const skip = optionalBoolean(doc.insecureSkipVerify, `${at}.insecureSkipVerify`);
  if (skip !== undefined) tls.insecureSkipVerify = skip;
  return tls;
}

function readTuf(value: unknown, baseDir: string): TufConfig {
  const doc = asRecord(value, 'gate.tuf');
  checkKeys(doc, ['mirror', 'root', 'offline', 'refreshHours'], 'gate.tuf');
  const tuf: TufConfig = {};
  const mirror = optionalString(doc.mirror, 'gate.tuf.mirror', 2048);
  if (mirror !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(mirror);
    } catch {
      throw configError('gate.tuf.mirror', `${JSON.stringify(mirror.slice(0, 100))} is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw configError('gate.tuf.mirror', 'must be an http or https URL (TUF verifies what the mirror serves)');
    if (parsed.username !== '' || parsed.password !== '') throw configError('gate.tuf.mirror', 'must not carry credentials');
    tuf.mirror = mirror;
  }
  const root = optionalString(doc.root, 'gate.tuf.root', 4096);
  if (root !== undefined) tuf.root = path(baseDir, root);
  const offline = optionalBoolean(doc.offline, 'gate.tuf.offline');
  if (offline !== undefined) tuf.offline = offline;
  if (doc.refreshHours !== undefined) tuf.refreshHours = integerIn(doc.refreshHours, 'gate.tuf.refreshHours', 0, 24 * 365);
  return tuf;
}

function readGate(value: unknown, upstreams: UpstreamConfig[], baseDir: string): GateConfig | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'allow-all') return { kind: 'allow-all' };
  if (typeof value === 'string') throw configError('gate', 'must be {policy: <policy file>, trustedRoot?: <file>, tuf?: {mirror?, root?, offline?}}, {allowDigests: {"<upstream>/<repository>": [digests]}} or "allow-all" (no verification, testing only)');
  const doc = asRecord(value, 'gate');
  if (doc.policy !== undefined) {
    checkKeys(doc, ['policy', 'trustedRoot', 'tuf'], 'gate');
    const gate: GateConfig = { kind: 'policy', policy: path(baseDir, requiredString(doc.policy, 'gate.policy')) };
    const root = optionalString(doc.trustedRoot, 'gate.trustedRoot', 4096);
    if (root !== undefined) gate.trustedRoot = path(baseDir, root);
    if (doc.tuf !== undefined && doc.tuf !== null) {
      if (root !== undefined) throw configError('gate.tuf', 'cannot be combined with gate.trustedRoot: a trusted root file is used as it is, TUF is for fetching one');
      gate.tuf = readTuf(doc.tuf, baseDir);
    }
    return gate;
  }
  checkKeys(doc, ['allowDigests'], 'gate');
  const lists = asRecord(doc.allowDigests, 'gate.allowDigests');
  const out: Record<string, string[]> = {};
  for (const [key, digests] of Object.entries(lists)) {
    const at = `gate.allowDigests[${JSON.stringify(key)}]`;
    const slash = key.indexOf('/');
    const upstream = slash > 0 ? key.slice(0, slash) : '';
    if (!upstreams.some((u) => u.name === upstream) || slash === key.length - 1) throw configError(at, 'must be "<upstream name>/<repository>" naming a configured upstream');
    if (!Array.isArray(digests)) throw configError(at, 'must be a list of manifest digests');
    out[key] = digests.map((d, i) => {
      try {
        return parseDigest(String(d)).value;
      } catch (error) {
        throw configError(`${at}[${i}]`, (error as Error).message);
      }
    });
  }
  return { kind: 'allow-digests', allowDigests: out };
}
