import { createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import type { Signer, Witness } from '@sigstore/sign';

/** @sigstore/sign pulls in npm's whole fetch stack: load it only when something is signed. */
export type SigstoreSign = typeof import('@sigstore/sign');

/** Loads @sigstore/sign (cached by the module system after the first call). */
export function loadSigstoreSign(): Promise<SigstoreSign> {
  return import('@sigstore/sign');
}
import { TollgateError } from '../errors/tollgate-error.js';
import { BUNDLE_V03_MEDIA_TYPE } from './bundle-media-types.js';
import { sigstoreBundle } from './sigstore-libraries.js';
import { publicVerificationKey } from '../keys/public-key.js';
import { signMessage } from '../keys/sign.js';
import type { SigningKey } from '../keys/types.js';

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';
export const PUBLIC_GOOD_FULCIO_URL = 'https://fulcio.sigstore.dev';

export interface SignBlobWitnessOptions {
  /** Upload the signature to this Rekor (v1 API) and put the entry in the bundle; omit or set tlogUpload false to skip. */
  rekorUrl?: string;
  /** Default true, as cosign. */
  tlogUpload?: boolean;
  /** Get an RFC 3161 timestamp over the signature from this timestamp authority. */
  tsaUrl?: string;
  /** Per-request timeout for Fulcio, Rekor and the TSA, in ms (default 30 s). */
  timeoutMs?: number;
}

export interface KeyedSignBlobOptions extends SignBlobWitnessOptions {
  /** A key in memory, or one held by a device (a PKCS#11 token), which is asked to sign. */
  key: SigningKey;
}

export interface KeylessSignBlobOptions extends SignBlobWitnessOptions {
  /** An OIDC identity token (a JWT) that Fulcio accepts. */
  identityToken: string;
  fulcioUrl: string;
}

/**
 * Signs a blob and returns a v0.3 Sigstore bundle (JSON) that `cosign verify-blob --bundle` and tollgate's
 * verify-blob accept: a message signature (sha256 digest + ECDSA P-256 signature over the artifact) with either the
 * public-key hint (keyed) or the Fulcio certificate (keyless), plus the Rekor entry and TSA timestamp asked for.
 * Built with @sigstore/sign's MessageSignatureBundleBuilder; the keyed signer is ours (cosign key formats).
 */
export async function signBlob(artifact: Uint8Array, options: KeyedSignBlobOptions | KeylessSignBlobOptions): Promise<SerializedBundle> {
  const sign = await loadSigstoreSign();
  const signer = 'key' in options ? keyedSigner(options.key) : keylessSigner(sign, options);
  const builder = new sign.MessageSignatureBundleBuilder({ signer, witnesses: witnesses(sign, options) });
  try {
    const bundle = await builder.create({ data: Buffer.from(artifact.buffer, artifact.byteOffset, artifact.byteLength) });
    return toV03(sigstoreBundle().bundleToJSON(bundle));
  } catch (error) {
    throw signingFailed(error);
  }
}

/** What went wrong talking to Fulcio, Rekor or the TSA, as one line that says what to check. */
export function signingFailed(error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  const cause = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
  const inner = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return new TollgateError('NETWORK_ERROR', `signing failed: ${cause}${inner}; check the Fulcio/Rekor/TSA URLs and the identity token`, { cause: error });
}

/**
 * @sigstore/sign (4.x and 5.x) labels a message-signature bundle v0.2 (with a certificate chain); cosign 2.4+ writes v0.3,
 * which differs only by a single leaf `certificate` instead of the chain. Relabel, keeping the leaf.
 */
function toV03(bundle: SerializedBundle): SerializedBundle {
  const material = bundle.verificationMaterial;
  const chain = material.x509CertificateChain?.certificates;
  const { x509CertificateChain: _chain, ...rest } = material;
  return {
    ...bundle,
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: chain && chain.length > 0 ? { ...rest, certificate: chain[0]! } : rest,
  } as SerializedBundle;
}

/** The Signer @sigstore/sign calls: ECDSA P-256/SHA-256 over the artifact, with the key's hint (base64 sha256 of its SPKI, as cosign). */
export function keyedSigner(key: SigningKey): Signer {
  if (key.algorithm !== 'ecdsa-p256') {
    throw new TollgateError('UNSUPPORTED_KEY', `sign-blob writes sha256 message-signature bundles, which need an ECDSA P-256 key, not ${key.algorithm}; generate one with cosign generate-key-pair`);
  }
  const publicKey = publicVerificationKey('privateKey' in key ? key : key.publicKey);
  const hint = createHash('sha256').update(publicKey.spkiDer).digest('base64');
  return {
    sign: async (data: Buffer) => ({
      signature: Buffer.from('privateKey' in key ? signMessage(key, data) : await key.sign(data)),
      key: { $case: 'publicKey', publicKey: publicKey.pem, hint },
    }),
  };
}

export function keylessSigner(sign: SigstoreSign, options: KeylessSignBlobOptions): Signer {
  if (!options.identityToken) throw new TollgateError('USAGE', 'keyless signing needs an OIDC identity token (--identity-token)');
  return new sign.FulcioSigner({
    fulcioBaseURL: options.fulcioUrl,
    identityProvider: { getToken: async () => options.identityToken },
    timeout: options.timeoutMs ?? 30_000,
    retry: 0,
  });
}

/** The Rekor (v1) and TSA witnesses asked for; DSSE statements are logged as `intoto` unless told otherwise. */
export function witnesses(sign: SigstoreSign, options: SignBlobWitnessOptions, rekorEntryType?: 'intoto' | 'dsse'): Witness[] {
  const list: Witness[] = [];
  const timeout = options.timeoutMs ?? 30_000;
  if (options.tlogUpload !== false && options.rekorUrl) {
    list.push(new sign.RekorWitness({ rekorBaseURL: options.rekorUrl, ...(rekorEntryType ? { entryType: rekorEntryType } : {}), fetchOnConflict: true, timeout, retry: 0, majorApiVersion: 1 }));
  }
  if (options.tsaUrl) list.push(new sign.TSAWitness({ tsaBaseURL: options.tsaUrl, timeout, retry: 0 }));
  return list;
}
