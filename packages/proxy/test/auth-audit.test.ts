import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { auditMatcher, normalizeProxyConfig, parseSince, verdictVerifies, type AuditRecord } from '../src/index.js';
import { Htpasswd } from '../src/auth/htpasswd.js';
import { parseBasic } from '../src/auth/client-auth.js';
import { grantsPull, parseScopes } from '../src/auth/scope.js';
import { AccessRules } from '../src/auth/access-rules.js';

const execFileAsync = promisify(execFile);
const base = { dataDir: '/var/lib/tollgate', upstreams: [{ name: 'hub', url: 'https://registry-1.docker.io', default: true }] };
const invalid = (raw: unknown, pattern: RegExp) => expect(() => normalizeProxyConfig(raw, { env: {} })).toThrow(pattern);

describe('auth, audit, store, mode and pinTags config', () => {
  it('defaults: anonymous, level, enforce, no tag pinning, no audit file', () => {
    const config = normalizeProxyConfig(base, { env: {} });
    expect(config.auth).toEqual({ mode: 'anonymous' });
    expect(config.store).toEqual({ metadata: { kind: 'level' }, blobs: { kind: 'filesystem' } });
    expect(config.audit).toEqual({});
    expect(config.mode).toBe('enforce');
    expect(config.pinTags).toBe(false);
  });

  it('reads token mode with defaults and a signing key under dataDir, paths relative to the config file', () => {
    const config = normalizeProxyConfig({ ...base, auth: { mode: 'token', htpasswd: 'users.htpasswd', access: [{ repositories: ['hub/library/*'], users: '*' }] }, audit: { file: 'audit.jsonl' } }, { env: {}, baseDir: '/etc/tollgate' });
    expect(config.auth).toEqual({
      mode: 'token',
      htpasswd: '/etc/tollgate/users.htpasswd',
      token: { issuer: 'tollgate', service: 'tollgate', ttlSeconds: 300, signingKey: '/var/lib/tollgate/auth/token-signing-key.pem' },
      access: [{ repositories: ['hub/library/*'], users: '*' }],
    });
    expect(config.audit.file).toBe('/etc/tollgate/audit.jsonl');
    const redis = normalizeProxyConfig({ ...base, store: { metadata: 'redis://127.0.0.1:6380/3' }, mode: 'warn', pinTags: true, upstreams: [{ ...base.upstreams[0], mode: 'enforce', pinTags: false }] }, { env: {} });
    expect(redis.store.metadata).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6380/3' });
    expect(redis.mode).toBe('warn');
    expect(redis.upstreams[0]).toMatchObject({ mode: 'enforce', pinTags: false });
  });

  it('refuses unknown keys and bad values, naming them', () => {
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', realm: 'x' } }, /auth\.realm is not a known setting/);
    invalid({ ...base, auth: { mode: 'token', htpasswd: 'f', token: { ttl: 5 } } }, /auth\.token\.ttl is not a known setting/);
    invalid({ ...base, auth: { mode: 'ldap' } }, /auth\.mode must be anonymous, htpasswd or token/);
    invalid({ ...base, auth: { mode: 'htpasswd' } }, /auth\.htpasswd is required/);
    invalid({ ...base, auth: { mode: 'anonymous', htpasswd: 'f' } }, /takes no htpasswd/);
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', token: {} } }, /applies only to mode token/);
    invalid({ ...base, auth: { mode: 'token', htpasswd: 'f', token: { ttlSeconds: 5 } } }, /ttlSeconds must be an integer from 30/);
    invalid({ ...base, auth: { mode: 'token', htpasswd: 'f', token: { service: 'a"b' } } }, /must not contain quotes/);
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', access: [{ repositories: [], users: '*' }] } }, /repositories must list at least one/);
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', access: [{ repositories: ['a'], users: 'alice' }] } }, /users must be a list/);
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', access: [{ repositories: ['a'], users: ['al ice'] }] } }, /must be a user name/);
    invalid({ ...base, auth: { mode: 'htpasswd', htpasswd: 'f', access: [{ repositories: ['a'], users: '*', push: true }] } }, /access\[0\]\.push is not a known setting/);
    invalid({ ...base, audit: { file: 'a', rotate: true } }, /audit\.rotate/);
    invalid({ ...base, store: { metadata: 'mysql://x' } }, /store\.metadata must be "level" or redis/);
    invalid({ ...base, store: { metadata: 'redis://h:1/db' } }, /db a number/);
    invalid({ ...base, store: { blobs: 's3://bucket' } }, /store\.blobs must be "filesystem" or \{s3/);
    invalid({ ...base, mode: 'audit' }, /mode must be enforce/);
    invalid({ ...base, pinTags: 'yes' }, /pinTags must be true or false/);
    invalid({ ...base, upstreams: [{ ...base.upstreams[0], mode: 'off' }] }, /upstreams\[0\]\.mode must be enforce/);
  });
});

describe('htpasswd', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-htpasswd-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verifies hashes written by htpasswd -B ($2y$), remembering only successes', async () => {
    const file = join(dir, 'users');
    await execFileAsync('htpasswd', ['-Bbc', '-C', '5', file, 'alice', 'pässword with spaces']);
    const users = await Htpasswd.load(file);
    expect((await readFile(file, 'utf8')).startsWith('alice:$2y$05$')).toBe(true);
    expect(await users.verify('alice', 'pässword with spaces')).toBe(true);
    expect(await users.verify('alice', 'pässword with spaces')).toBe(true);
    expect(await users.verify('alice', 'wrong')).toBe(false);
    expect(await users.verify('bob', 'pässword with spaces')).toBe(false);
    expect(await users.verify('alice', 'x'.repeat(5000))).toBe(false);
  });

  it('refuses non-bcrypt entries, garbage, duplicates and oversize files', async () => {
    const md5 = join(dir, 'md5');
    await execFileAsync('htpasswd', ['-mbc', md5, 'carol', 'pw']);
    await expect(Htpasswd.load(md5)).rejects.toThrow(/line 1 \(user carol\) is not a bcrypt hash/);
    expect(() => Htpasswd.parse('no colon here')).toThrow(/line 1 is not "user:hash"/);
    expect(() => Htpasswd.parse(':$2y$05$' + 'a'.repeat(53))).toThrow(/not "user:hash"/);
    const entry = `dave:$2y$05$${'a'.repeat(53)}`;
    expect(() => Htpasswd.parse(`${entry}\n${entry}`)).toThrow(/twice/);
    expect(Htpasswd.parse(`# comment\n\n${entry}\r\n`).size).toBe(1);
    await expect(Htpasswd.load(join(dir, 'missing'))).rejects.toThrow(/cannot read the htpasswd file/);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          Htpasswd.parse(text);
        } catch (error) {
          expect(error).toBeInstanceOf(TollgateError);
        }
      }),
    );
  });
});

describe('credentials, scopes and access rules', () => {
  it('parses Basic headers and refuses malformed ones', () => {
    const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(parseBasic(header('alice:pa:ss'))).toEqual({ user: 'alice', password: 'pa:ss' });
    expect(parseBasic(header(':nouser'))).toBeUndefined();
    expect(parseBasic(header('nocolon'))).toBeUndefined();
    expect(parseBasic('Bearer abc')).toBeUndefined();
    expect(parseBasic(`Basic ${'A'.repeat(5000)}`)).toBeUndefined();
    expect(parseBasic(undefined)).toBeUndefined();
  });

  it('parses scopes as distribution does and checks pull grants exactly', () => {
    expect(parseScopes(['repository:team/app:pull,push repository(plugin):x/y:pull', 'registry:catalog:*'])).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'x/y', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(parseScopes(['repository::pull', 'nonsense', ':a:b', ''])).toEqual([]);
    expect(parseScopes([Array.from({ length: 50 }, (_, i) => `repository:r${i}:pull`).join(' ')])).toHaveLength(16);
    expect(grantsPull([{ type: 'repository', name: 'team/app', actions: ['pull'] }], 'team/app')).toBe(true);
    expect(grantsPull([{ type: 'repository', name: 'team/app', actions: ['push'] }], 'team/app')).toBe(false);
    expect(grantsPull([{ type: 'repository', name: 'team/app*', actions: ['pull'] }], 'team/apple')).toBe(false);
    expect(grantsPull('repository:team/app:pull', 'team/app')).toBe(false);
    expect(grantsPull([null, 1, { name: 'team/app' }], 'team/app')).toBe(false);
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 5 }), (values) => Array.isArray(parseScopes(values))));
  });

  it('applies access rules over <upstream>/<repository> globs', () => {
    const open = new AccessRules(undefined);
    expect(open.allows('anyone', 'hub', 'x')).toBe(true);
    const rules = new AccessRules([
      { repositories: ['hub/library/*'], users: '*' },
      { repositories: ['ghcr/acme/**'], users: ['alice'] },
    ]);
    expect(rules.allows('bob', 'hub', 'library/alpine')).toBe(true);
    expect(rules.allows('bob', 'hub', 'library/a/b')).toBe(false);
    expect(rules.allows('alice', 'ghcr', 'acme/team/api')).toBe(true);
    expect(rules.allows('bob', 'ghcr', 'acme/team/api')).toBe(false);
    expect(rules.allows('alice', 'other', 'acme/team/api')).toBe(false);
  });
});

describe('audit queries and pin verification', () => {
  it('parses --since durations and RFC 3339 times, refusing anything else', () => {
    const now = 1_800_000_000_000; // after the times below: a time more than a day ahead of now is refused
    expect(parseSince('90s', now)).toBe(now - 90_000);
    expect(parseSince('1h30m', now)).toBe(now - 5_400_000);
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('2025-01-31T12:00:00Z', now)).toBe(Date.parse('2025-01-31T12:00:00Z'));
    expect(parseSince('2025-01-31T12:00:00.5+02:00', now)).toBe(Date.parse('2025-01-31T10:00:00.5Z'));
    for (const bad of ['', 'yesterday', '-5m', '5', '2025-13-45T99:99:99Z', '1y', 'now']) expect(() => parseSince(bad, now)).toThrow(/--since/);
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          expect(Number.isFinite(parseSince(text, now))).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(TollgateError);
        }
      }),
    );
  });

  it('matches events by image glob (with or without the upstream, by digest or tag), verdict and time', () => {
    const event: AuditRecord = { type: 'verdict', at: 1000, upstream: 'hub', repository: 'library/alpine', reference: '3.20', digest: `sha256:${'a'.repeat(64)}`, verdict: 'deny' };
    expect(auditMatcher({ image: 'hub/library/*' })(event)).toBe(true);
    expect(auditMatcher({ image: 'library/alpine' })(event)).toBe(true);
    expect(auditMatcher({ image: 'library/alpine:3.*' })(event)).toBe(true);
    expect(auditMatcher({ image: 'hub/library/alpine@sha256:*' })(event)).toBe(true);
    expect(auditMatcher({ image: 'ghcr/**' })(event)).toBe(false);
    expect(auditMatcher({ verdict: 'deny', since: 1000 })(event)).toBe(true);
    expect(auditMatcher({ verdict: 'allow' })(event)).toBe(false);
    expect(auditMatcher({ since: 1001 })(event)).toBe(false);
    expect(auditMatcher({ image: '*' })({ type: 'blob-integrity', at: 1 })).toBe(false);
  });

  it('counts only verified allows and explicit digest pins as verifying a moved tag', () => {
    const v = (over: object) => ({ decision: 'allow' as const, reasons: [], policyRevision: 'r', ...over });
    expect(verdictVerifies(v({ verified: true, rule: 'signed' }))).toBe(true);
    expect(verdictVerifies(v({ rule: 'digest-pin' }))).toBe(true);
    expect(verdictVerifies(v({ rule: 'digest-pin', verified: false }))).toBe(false);
    expect(verdictVerifies(v({ rule: 'allow-all' }))).toBe(false);
    expect(verdictVerifies(v({ rule: 'default' }))).toBe(false);
    expect(verdictVerifies(v({ decision: 'warn', verified: true }))).toBe(false);
    expect(verdictVerifies(v({ decision: 'deny', rule: 'digest-pin' }))).toBe(false);
  });
});
