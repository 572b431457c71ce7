import { isAbsolute, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import { asRecord, checkKeys, configError, integerIn, optionalString, requiredString } from './fields.js';
import { readBlobs } from './store-config.js';
import type { AccessRule, AuditConfig, AuthConfig, EnforcementMode, MetadataLocation, BlobLocation } from './types.js';

const USER = /^[^\s:]{1,256}$/;

function path(dir: string, value: string): string {
  return isAbsolute(value) ? value : resolve(dir, value);
}

/** `auth: {mode, htpasswd, token: {issuer, service, ttlSeconds, signingKey}, access: [{repositories, users}]}`. */
export function readAuth(value: unknown, baseDir: string, dataDir: string): AuthConfig {
  if (value === undefined || value === null) return { mode: 'anonymous' };
  const doc = asRecord(value, 'auth');
  checkKeys(doc, ['mode', 'htpasswd', 'token', 'access'], 'auth');
  const mode = requiredString(doc.mode, 'auth.mode', 20);
  if (mode !== 'anonymous' && mode !== 'htpasswd' && mode !== 'token') throw configError('auth.mode', 'must be anonymous, htpasswd or token');
  const auth: AuthConfig = { mode };
  const htpasswd = optionalString(doc.htpasswd, 'auth.htpasswd');
  if (mode === 'anonymous') {
    if (htpasswd !== undefined || doc.token !== undefined) throw configError('auth', 'mode anonymous takes no htpasswd or token; choose mode htpasswd or token to authenticate clients');
  } else {
    if (htpasswd === undefined) throw configError('auth.htpasswd', `is required for mode ${mode} (a bcrypt file made with htpasswd -B)`);
    auth.htpasswd = path(baseDir, htpasswd);
  }
  if (mode === 'token') {
    const token = asRecord(doc.token ?? {}, 'auth.token');
    checkKeys(token, ['issuer', 'service', 'ttlSeconds', 'signingKey'], 'auth.token');
    auth.token = {
      issuer: optionalString(token.issuer, 'auth.token.issuer', 256) ?? 'tollgate',
      service: optionalString(token.service, 'auth.token.service', 256) ?? 'tollgate',
      ttlSeconds: token.ttlSeconds === undefined ? 300 : integerIn(token.ttlSeconds, 'auth.token.ttlSeconds', 30, 86_400),
      signingKey: path(baseDir, optionalString(token.signingKey, 'auth.token.signingKey') ?? join(dataDir, 'auth', 'token-signing-key.pem')),
    };
    if (/["\\\x00-\x1f]/.test(auth.token.service)) throw configError('auth.token.service', 'must not contain quotes, backslashes or control characters');
  } else if (doc.token !== undefined && doc.token !== null) {
    throw configError('auth.token', 'applies only to mode token');
  }
  if (doc.access !== undefined && doc.access !== null) auth.access = readAccess(doc.access);
  return auth;
}

function readAccess(value: unknown): AccessRule[] {
  if (!Array.isArray(value)) throw configError('auth.access', 'must be a list of {repositories: [globs], users: [names] | "*"}');
  if (value.length > 1000) throw configError('auth.access', 'lists more than 1000 rules');
  return value.map((item, i) => {
    const at = `auth.access[${i}]`;
    const doc = asRecord(item, at);
    checkKeys(doc, ['repositories', 'users'], at);
    if (!Array.isArray(doc.repositories) || doc.repositories.length === 0) throw configError(`${at}.repositories`, 'must list at least one glob over "<upstream>/<repository>"');
    const repositories = doc.repositories.map((g, j) => {
      const glob = requiredString(g, `${at}.repositories[${j}]`, 512);
      try {
        picomatch.makeRe(glob);
      } catch {
        throw configError(`${at}.repositories[${j}]`, 'is not a valid glob');
      }
      return glob;
    });
    let users: string[] | '*';
    if (doc.users === '*') users = '*';
    else if (Array.isArray(doc.users) && doc.users.length > 0) {
      users = doc.users.map((u, j) => {
        const name = requiredString(u, `${at}.users[${j}]`, 256);
        if (!USER.test(name)) throw configError(`${at}.users[${j}]`, 'must be a user name (no spaces or ":")');
        return name;
      });
    } else throw configError(`${at}.users`, 'must be a list of user names or "*" (everyone, anonymous included)');
    return { repositories, users };
  });
}

/** `audit: {file}` */
export function readAudit(value: unknown, baseDir: string): AuditConfig {
  if (value === undefined || value === null) return {};
  const doc = asRecord(value, 'audit');
  checkKeys(doc, ['file'], 'audit');
  const file = optionalString(doc.file, 'audit.file');
  return file !== undefined ? { file: path(baseDir, file) } : {};
}

/** `store: {metadata: level | redis://host:port/db, blobs: filesystem | {s3: {…}}}` (blobs: store-config.ts) */
export function readStore(value: unknown, baseDir: string): { metadata: MetadataLocation; blobs: BlobLocation } {
  if (value === undefined || value === null) return { metadata: { kind: 'level' }, blobs: { kind: 'filesystem' } };
  const doc = asRecord(value, 'store');
  checkKeys(doc, ['metadata', 'blobs'], 'store');
  const metadata = readMetadata(doc.metadata);
  return { metadata, blobs: readBlobs(doc.blobs, metadata, baseDir) };
}

function readMetadata(value: unknown): MetadataLocation {
  const metadata = optionalString(value, 'store.metadata', 2048) ?? 'level';
  if (metadata === 'level') return { kind: 'level' };
  let url: URL;
  try {
    url = new URL(metadata);
  } catch {
    throw configError('store.metadata', 'must be "level" or a Redis URL such as redis://127.0.0.1:6379/0');
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '' || !/^\/?(\d{1,2})?$/.test(url.pathname) || url.search !== '' || url.hash !== '') {
    throw configError('store.metadata', 'must be "level" or redis[s]://[user:password@]host[:port][/db] (db a number)');
  }
  return { kind: 'redis', url: metadata };
}

/** `mode: enforce | warn` */
export function readMode(value: unknown, at: string): EnforcementMode | undefined {
  const mode = optionalString(value, at, 10);
  if (mode === undefined) return undefined;
  if (mode !== 'enforce' && mode !== 'warn') throw configError(at, 'must be enforce (refuse what the gate denies) or warn (serve it and record a warning)');
  return mode;
}
