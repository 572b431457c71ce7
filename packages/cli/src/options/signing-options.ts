import { Option, type Command } from 'commander';
import { PUBLIC_GOOD_FULCIO_URL, PUBLIC_GOOD_REKOR_URL, readInputFile, TollgateError, type ImageSigningOptions } from '@tollgate/core';
import { loadPrivateKeyFile } from '../keys/load-private-key-file.js';

/** How to sign: a key or a keyless identity token, and the Sigstore services to use (sign, attest, sign-blob). */
export interface SignerFlags {
  key?: string;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl?: string;
  tlogUpload: string;
}

export interface SigningFlags extends SignerFlags {
  registryReferrers: 'auto' | 'always' | 'never';
  legacy: boolean;
}

const MAX_TOKEN_BYTES = 64 * 1024;

/** The flags of sign, attest and sign-blob: the key or keyless identity and the Sigstore services. */
export function addSignerOptions(command: Command): Command {
  return command
    .option('--key <file>', 'private key: a cosign key (password from TOLLGATE_PASSWORD or COSIGN_PASSWORD, or prompted), PKCS#8 or SEC1 PEM; ECDSA P-256')
    .option('--identity-token <jwt|@file>', 'keyless: the OIDC identity token, or @path of a file holding it')
    .option('--fulcio-url <url>', 'keyless: Fulcio to get the signing certificate from', PUBLIC_GOOD_FULCIO_URL)
    .option('--rekor-url <url>', 'Rekor (v1 API) to log the signature in', PUBLIC_GOOD_REKOR_URL)
    .option('--tsa-url <url>', 'RFC 3161 timestamp authority to timestamp the signature with')
    .option('--tlog-upload <bool>', 'log the signature in Rekor (true/false)', 'true');
}

/** The flags of sign and attest: the signer, and where to store the result in the registry. */
export function addSigningOptions(command: Command): Command {
  return addSignerOptions(command)
    .addOption(new Option('--registry-referrers <mode>', 'write the sha256-<hex> referrers tag: auto (only without a referrers API), always, never').choices(['auto', 'always', 'never']).default('auto'))
    .option('--legacy', 'store with cosign\'s legacy sha256-<hex>.sig/.att tag scheme instead of an OCI 1.1 referrer', false);
}

export async function signingFrom(flags: SignerFlags): Promise<ImageSigningOptions> {
  if ((flags.key === undefined) === (flags.identityToken === undefined)) {
    throw new TollgateError('USAGE', 'give either --key <cosign.key> or --identity-token <jwt|@file> (keyless), exactly one');
  }
  if (flags.tlogUpload !== 'true' && flags.tlogUpload !== 'false') throw new TollgateError('USAGE', '--tlog-upload must be true or false');
  const witness = { rekorUrl: flags.rekorUrl, tlogUpload: flags.tlogUpload === 'true', ...(flags.tsaUrl ? { tsaUrl: flags.tsaUrl } : {}) };
  if (flags.key !== undefined) return { key: await loadPrivateKeyFile(flags.key), ...witness };
  return { identityToken: await tokenFrom(flags.identityToken!), fulcioUrl: flags.fulcioUrl, ...witness };
}

async function tokenFrom(value: string): Promise<string> {
  const token = value.startsWith('@') ? (await readInputFile(value.slice(1), MAX_TOKEN_BYTES, 'identity token')).toString('utf8').trim() : value.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw new TollgateError('USAGE', 'the identity token is not a JWT (three base64url parts separated by dots)');
  return token;
}

/** A registry reference for sign/verify: `docker://` is accepted and dropped; other transports are refused. */
export function registryReference(reference: string): string {
  if (reference.startsWith('docker://')) return reference.slice('docker://'.length);
  if (/^(oci|docker-archive|oci-archive|dir):/.test(reference)) {
    throw new TollgateError('USAGE', `${reference.split(':')[0]}: references cannot carry signatures; push the image to a registry and sign it there`);
  }
  return reference;
}
