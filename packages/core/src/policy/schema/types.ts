import type { X509Certificate } from 'node:crypto';
import type { PublicVerificationKey } from '../../keys/types.js';
import type { CompiledIdentityPolicy } from '../../sigstore/identity-policy.js';

/** The `apiVersion` a policy file must declare. */
export const POLICY_API_VERSION = 'tollgate.dev/v1alpha1';
export const POLICY_KIND = 'ImagePolicy';

export type PolicyMode = 'enforce' | 'warn';
export type PolicyDefault = 'deny' | 'allow' | 'warn';
/** Which manifests of a multi-platform image must carry the signatures and attestations. */
export type PlatformScope = 'pulled' | 'all' | 'index';

/** A public key as written in the policy file: exactly one of a file path, an inline PEM or a JWK. */
export interface KeySpec {
  /** Path to a PEM or JWK file, relative to the policy file's directory. */
  file?: string;
  pem?: string;
  jwk?: Record<string, unknown>;
}

export interface KeylessSpec {
  issuer?: string;
  issuerRegexp?: string;
  subject?: string;
  subjectRegexp?: string;
}

/** The notation trust-store type a policy's notation authority is (the two that anchor signing certificates). */
export type NotationStoreType = 'ca' | 'signingAuthority';

export interface NotationSpec {
  /** CA or signing-authority certificates (PEM), each a file or inline: which one, `trustStoreType` says. */
  trustStore: Array<{ file?: string; pem?: string }>;
  /**
   * `ca` (default): the certificates anchor `notary.x509` signatures, whose signing time is only the signer's
   * claim. `signingAuthority`: they anchor `notary.x509.signingAuthority` signatures, whose `authenticSigningTime`
   * the chain is checked at. Never both: a CA's signer could otherwise back-date an expired certificate.
   */
  trustStoreType?: NotationStoreType;
  /** `x509.subject: CN=…, O=…` distinguished names of trusted signing certificates. */
  trustedIdentities: string[];
}

/** One authority as written: a cosign key, a keyless identity, or a notation trust store. */
export interface AuthoritySpec {
  name: string;
  key?: KeySpec;
  keyless?: KeylessSpec;
  notation?: NotationSpec;
  /** Cosign authorities: `required` (default) or `ignore` (cosign --insecure-ignore-tlog). */
  transparencyLog?: 'required' | 'ignore';
  /** `required` (default for keyless) or `optional` (default for keys and notation). */
  timestamp?: 'required' | 'optional';
}

export interface ConditionSpec {
  /** A CEL expression over `statement`, `predicate` and `image` that must be true. */
  expression: string;
  /** What the condition means, shown in the verdict. */
  message?: string;
}

export interface AttestationSpec {
  name: string;
  predicateType: string;
  authorities: AuthoritySpec[];
  /** Distinct authorities that must vouch; default: all of them. */
  threshold?: number;
  conditions?: ConditionSpec[];
}

export interface BaseImageSpec {
  name: string;
  /** The base image's manifest digest: a label for reports (tollgate matches diffIDs, not this). */
  digest?: string;
  /** The base's layer diffIDs, bottom first. */
  diffIDs: string[];
}

export interface ChecksSpec {
  /** Config `User` must not be empty, `root` or `0` (with or without a group). */
  nonRootUser?: boolean;
  /** The config must define a HEALTHCHECK (not `NONE`). */
  healthcheck?: boolean;
  /** No setuid/setgid regular files outside the allow-list (glob patterns over paths). */
  noSetuid?: boolean | { allow?: string[] };
  /** No files that look like secrets (private keys, `.env`, credential files) outside the allow-list. */
  noSecrets?: boolean | { allow?: string[]; patterns?: string[] };
  /** Maximum of the layers' (compressed) sizes: bytes, or a string such as `500MiB` / `1GB`. */
  maxSize?: number | string;
  maxLayers?: number;
  /** The image's first layers must be exactly those of one of these bases. */
  baseImages?: BaseImageSpec[];
}

export interface RuleSpec {
  name: string;
  images: string[];
  mode?: PolicyMode;
  platforms?: PlatformScope;
  authorities?: AuthoritySpec[];
  /** Distinct authorities (each backed by a distinct signer) that must pass; default: all of them. */
  threshold?: number;
  attestations?: AttestationSpec[];
  checks?: ChecksSpec;
}

/** The policy file as written (after schema validation). */
export interface PolicySpec {
  apiVersion: typeof POLICY_API_VERSION;
  kind: typeof POLICY_KIND;
  mode?: PolicyMode;
  default?: PolicyDefault;
  rules: RuleSpec[];
}

/** An authority with its trust material read and checked: what a verifier works from. */
export interface Authority {
  name: string;
  kind: 'key' | 'keyless' | 'notation';
  /** JSON path of the authority in the policy file, for messages. */
  path: string;
  /** Cosign key authorities. */
  key?: PublicVerificationKey;
  /** Keyless authorities: whole-string matchers for subject and issuer. */
  identity?: CompiledIdentityPolicy;
  keyless?: KeylessSpec;
  /** Notation authorities: the trust store's certificates, and the one store type they are. */
  certificates?: X509Certificate[];
  notationStoreType?: NotationStoreType;
  trustedIdentities?: string[];
  transparencyLog: 'required' | 'ignore';
  timestamp: 'required' | 'optional';
}
