import { Option, type Command } from 'commander';
import { PUBLIC_GOOD_FULCIO_URL, PUBLIC_GOOD_REKOR_URL, TollgateError, type IdentityTokenSource, type ImageSigningOptions } from '@tollgate/core';
import { loadSigningKey } from '../keys/load-signing-key.js';
import { keylessIdentity } from './keyless-identity.js';
import { parseTimeout } from './timeout-option.js';

/** How to sign: a key or a keyless identity token, and the Sigstore services to use (sign, attest, sign-blob). */
export interface SignerFlags {
  key?: string;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl?: string;
  tlogUpload: string;
  timeout: string;
  oidcIssuer?: string;
  oidcClientId?: string;
}

/** How to sign, and (keyless) where the identity token came from, for --json output. */
export type CliSigning = ImageSigningOptions & { identityTokenSource?: IdentityTokenSource };

export interface SigningFlags extends SignerFlags {
  registryReferrers: 'auto' | 'always' | 'never';
  legacy: boolean;
}

/** The flags of sign, attest and sign-blob: the key or keyless identity and the Sigstore services. */
export function addSignerOptions(command: Command): Command {
  return command
    .option('--key <file|pkcs11:uri>', 'private key: a cosign key (password from TOLLGATE_PASSWORD or COSIGN_PASSWORD, or prompted), PKCS#8 or SEC1 PEM, or a key on a PKCS#11 token (pkcs11:token=…;object=…?module-path=…, see docs/keys.md); ECDSA P-256')
    .option('--identity-token <jwt|@file>', 'keyless: the OIDC identity token, or @path of a file holding it (default: SIGSTORE_ID_TOKEN, then the GitHub Actions token)')
    .option('--oidc-issuer <url>', 'not supported (interactive OIDC flow): use --identity-token or an ambient CI identity')
    .option('--oidc-client-id <id>', 'not supported (interactive OIDC flow): use --identity-token or an ambient CI identity')
    .option('--timeout <duration>', 'deadline of each request to the OIDC token endpoint, Fulcio, Rekor and the TSA (30s, 2m …)', '30s')
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

export async function signingFrom(flags: SignerFlags): Promise<CliSigning> {
  if (flags.key !== undefined && flags.identityToken !== undefined) {
    throw new TollgateError('USAGE', 'give either --key <cosign.key> or --identity-token <jwt|@file> (keyless), not both');
  }
  if (flags.tlogUpload !== 'true' && flags.tlogUpload !== 'false') throw new TollgateError('USAGE', '--tlog-upload must be true or false');
  const timeoutMs = parseTimeout(flags.timeout ?? '30s');
  const witness = { rekorUrl: flags.rekorUrl, tlogUpload: flags.tlogUpload === 'true', timeoutMs, ...(flags.tsaUrl ? { tsaUrl: flags.tsaUrl } : {}) };
  if (flags.key !== undefined) return { key: await loadSigningKey(flags.key), ...witness };
  // Keyless: the explicit token, else the ambient CI identity (SIGSTORE_ID_TOKEN, GitHub Actions); see keyless-identity.ts.
  const identity = await keylessIdentity(flags, timeoutMs);
  return { identityToken: identity.token, fulcioUrl: flags.fulcioUrl, ...witness, identityTokenSource: identity.source };
}

/** A registry reference for sign/verify: `docker://` is accepted and dropped; other transports are refused. */
export function registryReference(reference: string): string {
  if (reference.startsWith('docker://')) return reference.slice('docker://'.length);
  if (/^(oci|docker-archive|oci-archive|dir):/.test(reference)) {
    throw new TollgateError('USAGE', `${reference.split(':')[0]}: references cannot carry signatures; push the image to a registry and sign it there`);
  }
  return reference;
}
