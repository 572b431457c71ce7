import { join } from 'node:path';
import type { Command } from 'commander';
import {
  defaultDataDir,
  PUBLIC_GOOD_TUF_MIRROR,
  publicGoodTrustedRoot,
  publicGoodTrustedRootViaTuf,
  loadTrustedRoot,
  MAX_TRUSTED_ROOT_BYTES,
  readInputFile,
  TollgateError,
  type IdentityPolicy,
  type ImageTrust,
  type TrustedRoot,
} from '@tollgate/core';
import { writeErr } from '../output/write.js';

export interface TrustFlags extends TrustedRootFlags {
  key?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  insecureIgnoreTlog: boolean;
}

const MAX_KEY_BYTES = 64 * 1024;

/** Where the Sigstore trusted root comes from: a file, or the public-good root through TUF (a mirror, offline). */
export interface TrustedRootFlags {
  trustedRoot?: string;
  tufMirror: string;
  offline: boolean;
  /** The command's --data directory, where it has one: the TUF cache goes under it. */
  data?: string;
}

export function addTrustedRootOptions(command: Command): Command {
  return command
    .option('--trusted-root <file>', 'Sigstore trusted_root.json (default: the public-good root via TUF, cached under the data directory, with the root embedded in tollgate as the offline start)')
    .option('--tuf-mirror <url>', 'mirror of the Sigstore public-good TUF repository (without --trusted-root)', PUBLIC_GOOD_TUF_MIRROR)
    .option('--offline', 'no network for the trusted root: the cached TUF root if still valid, else the embedded one', false);
}

/** The trusted root the flags name: the file (read bounded), else the public-good root through TUF. */
export async function trustedRootFrom(flags: TrustedRootFlags): Promise<TrustedRoot> {
  return flags.trustedRoot !== undefined
    ? loadTrustedRoot(await readInputFile(flags.trustedRoot, MAX_TRUSTED_ROOT_BYTES, 'trusted root'), `trusted root ${flags.trustedRoot}`)
    : trustedRootViaTuf(flags);
}

/** cosign's verification trust flags: a public key, or a keyless identity; a trusted root; the tlog waiver. */
export function addTrustOptions(command: Command): Command {
  return addTrustedRootOptions(command)
    .option('--key <file>', 'public key (PEM, cosign.pub) of a keyed signature')
    .option('--certificate-identity <id>', 'keyless: the signing certificate\'s identity (email or URI SAN), exactly')
    .option('--certificate-identity-regexp <re>', 'keyless: the identity as a regular expression, always matched against the whole SAN')
    .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer recorded in the certificate, exactly')
    .option('--certificate-oidc-issuer-regexp <re>', 'keyless: the OIDC issuer as a regular expression, matched whole')
    .option('--insecure-ignore-tlog', 'do not use or require transparency-log entries (keyed signatures made with --tlog-upload=false)', false);
}

export function identityFrom(flags: TrustFlags): IdentityPolicy | undefined {
  const given = [flags.certificateIdentity, flags.certificateIdentityRegexp, flags.certificateOidcIssuer, flags.certificateOidcIssuerRegexp];
  if (given.every((value) => value === undefined)) return undefined;
  if (flags.certificateIdentity === undefined && flags.certificateIdentityRegexp === undefined) {
    throw new TollgateError('USAGE', 'keyless verification needs --certificate-identity or --certificate-identity-regexp');
  }
  if (flags.certificateOidcIssuer === undefined && flags.certificateOidcIssuerRegexp === undefined) {
    throw new TollgateError('USAGE', 'keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp');
  }
  return {
    ...(flags.certificateIdentity !== undefined ? { subject: flags.certificateIdentity } : {}),
    ...(flags.certificateIdentityRegexp !== undefined ? { subjectRegexp: flags.certificateIdentityRegexp } : {}),
    ...(flags.certificateOidcIssuer !== undefined ? { issuer: flags.certificateOidcIssuer } : {}),
    ...(flags.certificateOidcIssuerRegexp !== undefined ? { issuerRegexp: flags.certificateOidcIssuerRegexp } : {}),
  };
}

/** The trust the flags describe, with the trusted root and key read (bounded) from their files. */
export async function trustFrom(flags: TrustFlags): Promise<ImageTrust> {
  const identity = identityFrom(flags);
  if (flags.key !== undefined && identity) throw new TollgateError('USAGE', 'give --key or the --certificate-* flags, not both');
  if (flags.key === undefined && !identity) {
    throw new TollgateError('USAGE', 'give --key <cosign.pub> for keyed signatures, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] for keyless ones');
  }
  const trustedRoot = needsTrustedRoot(flags, identity) ? await trustedRootFrom(flags) : publicGoodTrustedRoot();
  if (flags.key !== undefined) return { trustedRoot, key: new Uint8Array(await readInputFile(flags.key, MAX_KEY_BYTES, 'public key')) };
  return { trustedRoot, identity: identity! };
}

/**
 * Whether the verification the flags ask for needs a current Sigstore trusted root, as policy check decides per
 * rule: keyless (Fulcio, CT logs, Rekor) or keyed with the transparency log, or a --trusted-root the user named.
 * A key with --insecure-ignore-tlog needs no root from the network: the one embedded in tollgate is used for the
 * RFC 3161 timestamps a signature may carry, and TUF is not contacted.
 */
function needsTrustedRoot(flags: TrustFlags, identity: IdentityPolicy | undefined): boolean {
  return flags.trustedRoot !== undefined || identity !== undefined || !flags.insecureIgnoreTlog;
}

/**
 * The public-good root through TUF (cache under `<data dir>/tuf`). A mirror that cannot be reached falls back to
 * the cache or the embedded root with a one-line notice on stderr; metadata that fails verification is an error.
 */
async function trustedRootViaTuf(flags: TrustedRootFlags): Promise<TrustedRoot> {
  const result = await publicGoodTrustedRootViaTuf({ cacheDir: join(flags.data ?? defaultDataDir(), 'tuf'), mirrorUrl: flags.tufMirror, offline: flags.offline });
  if (result.notice) writeErr(result.notice);
  return result.trustedRoot;
}
