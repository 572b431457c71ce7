import { TollgateError } from '../../errors/tollgate-error.js';
import { parseStrictJson } from '../../json/strict-json.js';
import type { NotationAction, NotationLevel, NotationOverride, NotationTrustStoreType } from '../types.js';
import { parseDistinguishedName, subjectMatches } from '../x509/dn.js';

export const MAX_TRUST_POLICY_BYTES = 1024 * 1024;

export interface NotationTrustPolicyStatement {
  name: string;
  /** Fully qualified repositories (`registry.example/team/app`), or `['*']` for the global policy. */
  registryScopes: string[];
  signatureVerification: { level: NotationLevel; override?: NotationOverride; verifyTimestamp?: 'always' | 'afterCertExpiry' };
  /** `ca:name`, `signingAuthority:name`, `tsa:name`. */
  trustStores: string[];
  /** `*` or `x509.subject: …` entries, as written. */
  trustedIdentities: string[];
}

export interface NotationTrustPolicy {
  version: '1.0';
  trustPolicies: NotationTrustPolicyStatement[];
}

const LEVELS: readonly NotationLevel[] = ['strict', 'permissive', 'audit', 'skip'];
const OVERRIDE_VALUES: Record<keyof NotationOverride, readonly NotationAction[]> = {
  authenticity: ['enforce', 'log'],
  authenticTimestamp: ['enforce', 'log'],
  expiry: ['enforce', 'log'],
  revocation: ['enforce', 'log', 'skip'],
};
const STORE_TYPES: readonly NotationTrustStoreType[] = ['ca', 'signingAuthority', 'tsa'];
const STORE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const REPOSITORY_SCOPE = /^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9]+([._-][a-z0-9]+)*)*(:[0-9]{1,5})?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+$/;
const MAX_POLICIES = 1000;
const MAX_ENTRIES = 1000;

function fail(path: string, message: string): never {
  throw new TollgateError('INVALID_POLICY', `trust policy ${path}: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(path, `unknown key "${key.slice(0, 64)}" (allowed: ${allowed.join(', ')})`);
  }
}

function stringList(value: unknown, path: string, { allowEmpty = false } = {}): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) fail(path, 'must be an array of strings');
  if (!allowEmpty && value.length === 0) fail(path, 'must not be empty');
  if (value.length > MAX_ENTRIES) fail(path, `has more than ${MAX_ENTRIES} entries`);
  if (new Set(value).size !== value.length) fail(path, 'lists a value twice');
  return value;
}

function parseIdentities(values: string[], path: string): void {
  if (values.includes('*')) {
    if (values.length > 1) fail(path, 'a wildcard "*" must be the only trusted identity');
    return;
  }
  const parsed = values.map((value, i) => {
    const at = `${path}[${i}]`;
    const match = /^x509\.subject:(.*)$/s.exec(value);
    if (match === null) fail(at, `"${value.slice(0, 80)}" is not "*" or "x509.subject: <distinguished name>"`);
    let dn;
    try {
      dn = parseDistinguishedName(match[1]!.trim(), `${at}`);
    } catch (error) {
      fail(at, error instanceof Error ? error.message : String(error));
    }
    for (const required of ['C', 'ST', 'O']) {
      if (!dn.some((a) => a.type === required)) fail(at, `the distinguished name must contain C, ST and O (missing ${required})`);
    }
    return dn;
  });
  for (let i = 0; i < parsed.length; i++) {
    for (let j = i + 1; j < parsed.length; j++) {
      if (subjectMatches(parsed[i]!, parsed[j]!) || subjectMatches(parsed[j]!, parsed[i]!)) {
        fail(path, `identities ${i} and ${j} overlap (one is a subset of the other); keep only one`);
      }
    }
  }
}

function parseStatement(value: unknown, path: string): NotationTrustPolicyStatement {
  if (!isRecord(value)) fail(path, 'must be an object');
  onlyKeys(value, ['name', 'registryScopes', 'signatureVerification', 'trustStores', 'trustedIdentities'], path);
  const name = value.name;
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 256) fail(`${path}.name`, 'must be a non-empty string');
  const scopes = stringList(value.registryScopes, `${path}.registryScopes`);
  if (scopes.includes('*')) {
    if (scopes.length > 1) fail(`${path}.registryScopes`, 'the global scope "*" must be the only scope of its policy');
  } else {
    for (const scope of scopes) {
      if (scope.includes('*')) fail(`${path}.registryScopes`, `"${scope.slice(0, 80)}" contains "*"; use "*" alone for the global scope`);
      if (!REPOSITORY_SCOPE.test(scope) || !scope.includes('/')) {
        fail(`${path}.registryScopes`, `"${scope.slice(0, 80)}" is not a fully qualified repository (registry/namespace/repository, no tag or digest)`);
      }
    }
  }
  const sv = value.signatureVerification;
  if (!isRecord(sv)) fail(`${path}.signatureVerification`, 'must be an object with a level');
  onlyKeys(sv, ['level', 'override', 'verifyTimestamp'], `${path}.signatureVerification`);
  const level = sv.level;
  if (typeof level !== 'string' || !(LEVELS as readonly string[]).includes(level)) {
    fail(`${path}.signatureVerification.level`, `${JSON.stringify(level)?.slice(0, 40) ?? 'missing'} is not one of ${LEVELS.join(', ')}`);
  }
  const verification: NotationTrustPolicyStatement['signatureVerification'] = { level: level as NotationLevel };
  if (sv.override !== undefined) {
    if (level === 'skip') fail(`${path}.signatureVerification.override`, 'the skip level cannot be customised');
    if (!isRecord(sv.override)) fail(`${path}.signatureVerification.override`, 'must be an object');
    const override: NotationOverride = {};
    for (const [key, action] of Object.entries(sv.override)) {
      if (key === 'integrity') fail(`${path}.signatureVerification.override`, 'integrity cannot be overridden');
      const allowed = OVERRIDE_VALUES[key as keyof NotationOverride];
      if (allowed === undefined) fail(`${path}.signatureVerification.override`, `unknown check "${key.slice(0, 40)}" (allowed: ${Object.keys(OVERRIDE_VALUES).join(', ')})`);
      if (typeof action !== 'string' || !(allowed as readonly string[]).includes(action)) {
        fail(`${path}.signatureVerification.override.${key}`, `must be one of ${allowed.join(', ')}`);
      }
      override[key as keyof NotationOverride] = action as NotationAction;
    }
    verification.override = override;
  }
  if (sv.verifyTimestamp !== undefined) {
    if (sv.verifyTimestamp !== 'always' && sv.verifyTimestamp !== 'afterCertExpiry') fail(`${path}.signatureVerification.verifyTimestamp`, 'must be "always" or "afterCertExpiry"');
    verification.verifyTimestamp = sv.verifyTimestamp;
  }
  let trustStores: string[] = [];
  let trustedIdentities: string[] = [];
  if (level === 'skip') {
    if (value.trustStores !== undefined && stringList(value.trustStores, `${path}.trustStores`, { allowEmpty: true }).length > 0) {
      fail(`${path}.trustStores`, 'a skip policy must not name trust stores');
    }
    if (value.trustedIdentities !== undefined && stringList(value.trustedIdentities, `${path}.trustedIdentities`, { allowEmpty: true }).length > 0) {
      fail(`${path}.trustedIdentities`, 'a skip policy must not name trusted identities');
    }
    if (scopes.includes('*')) fail(`${path}.registryScopes`, 'a skip policy cannot use the global scope "*"');
  } else {
    trustStores = stringList(value.trustStores, `${path}.trustStores`);
    for (const store of trustStores) {
      const [type, storeName, extra] = store.split(':');
      if (extra !== undefined || !(STORE_TYPES as readonly string[]).includes(type ?? '') || storeName === undefined || !STORE_NAME.test(storeName)) {
        fail(`${path}.trustStores`, `"${store.slice(0, 80)}" is not {ca|signingAuthority|tsa}:<name>`);
      }
    }
    trustedIdentities = stringList(value.trustedIdentities, `${path}.trustedIdentities`);
    parseIdentities(trustedIdentities, `${path}.trustedIdentities`);
  }
  return { name, registryScopes: scopes, signatureVerification: verification, trustStores, trustedIdentities };
}

/**
 * Parses notation's `trustpolicy.json` (version 1.0) strictly: unknown keys, bad levels or overrides, malformed
 * trust-store references, identities without C/ST/O or overlapping, a repository in two policies, more than one
 * global policy, and skip policies with trust material all fail with an INVALID_POLICY naming the place.
 */
export function parseTrustPolicy(input: Uint8Array | string | unknown): NotationTrustPolicy {
  let doc: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      doc = parseStrictJson(input, 'the trust policy', { maxBytes: MAX_TRUST_POLICY_BYTES, maxDepth: 8 });
    } catch (error) {
      throw new TollgateError('INVALID_POLICY', error instanceof Error ? error.message : String(error));
    }
  }
  if (!isRecord(doc)) fail('document', 'must be a JSON object with version and trustPolicies');
  onlyKeys(doc, ['version', 'trustPolicies'], 'document');
  if (doc.version !== '1.0') fail('version', `${JSON.stringify(doc.version)?.slice(0, 20) ?? 'missing'} is not supported; use "1.0"`);
  const list = doc.trustPolicies;
  if (!Array.isArray(list) || list.length === 0) fail('trustPolicies', 'must be a non-empty array');
  if (list.length > MAX_POLICIES) fail('trustPolicies', `has more than ${MAX_POLICIES} policies`);
  const statements = list.map((s, i) => parseStatement(s, `trustPolicies[${i}]`));
  const names = new Set<string>();
  const scopes = new Map<string, string>();
  for (const s of statements) {
    if (names.has(s.name)) fail('trustPolicies', `two policies are named "${s.name}"`);
    names.add(s.name);
    for (const scope of s.registryScopes) {
      const other = scopes.get(scope);
      if (other !== undefined) fail('trustPolicies', scope === '*' ? `policies "${other}" and "${s.name}" both use the global scope "*"; only one may` : `the scope "${scope}" is in both "${other}" and "${s.name}"`);
      scopes.set(scope, s.name);
    }
  }
  return { version: '1.0', trustPolicies: statements };
}

/**
 * The policy that applies to a repository (`registry/namespace/repository`): the one whose scopes contain it
 * exactly, else the global one. Undefined when none applies (the artifact is then untrusted).
 */
export function selectTrustPolicy(policy: NotationTrustPolicy, repository: string): NotationTrustPolicyStatement | undefined {
  return policy.trustPolicies.find((s) => s.registryScopes.includes(repository)) ?? policy.trustPolicies.find((s) => s.registryScopes.includes('*'));
}
