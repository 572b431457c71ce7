import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, RekorWitness, TSAWitness, type Signer, type Witness } from '@sigstore/sign';
import { TollgateError } from '../../errors/tollgate-error.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../sigstore/in-toto-statement.js';
import { keyedSigner, type KeyedSignBlobOptions, type KeylessSignBlobOptions } from '../../sigstore/sign-blob.js';

/** How to sign: a private key, or keyless (an OIDC token for Fulcio); plus the Rekor and TSA witnesses wanted. */
export type ImageSigningOptions = (KeyedSignBlobOptions | KeylessSignBlobOptions) & {
  /** The Rekor v1 entry kind for DSSE (default `intoto`, which every Rekor v1 and verifier accepts). */
  rekorEntryType?: 'intoto' | 'dsse';
};

/**
 * Signs an in-toto statement as a DSSE envelope and returns the v0.3 Sigstore bundle (JSON value): keyed with the
 * key's hint, or keyless with the Fulcio leaf certificate; with the Rekor entry and RFC 3161 timestamp asked for.
 */
export async function signStatement(statement: Uint8Array, options: ImageSigningOptions): Promise<SerializedBundle> {
  const signer: Signer = 'key' in options ? keyedSigner(options.key) : keylessSigner(options);
  const builder = new DSSEBundleBuilder({ signer, witnesses: witnesses(options), certificateChain: false });
  try {
    const bundle = await builder.create({ data: Buffer.from(statement.buffer, statement.byteOffset, statement.byteLength), type: IN_TOTO_PAYLOAD_TYPE });
    return bundleToJSON(bundle);
  } catch (error) {
    throw signingFailed(error);
  }
}

export function signingFailed(error: unknown): TollgateError {
  if (error instanceof TollgateError) return error;
  const cause = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
  const inner = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return new TollgateError('NETWORK_ERROR', `signing failed: ${cause}${inner}; check the Fulcio/Rekor/TSA URLs and the identity token`, { cause: error });
}

function keylessSigner(options: KeylessSignBlobOptions): Signer {
  if (!options.identityToken) throw new TollgateError('USAGE', 'keyless signing needs an OIDC identity token (--identity-token)');
  return new FulcioSigner({
    fulcioBaseURL: options.fulcioUrl,
    identityProvider: { getToken: async () => options.identityToken },
    timeout: options.timeoutMs ?? 30_000,
    retry: 0,
  });
}

function witnesses(options: ImageSigningOptions): Witness[] {
  const list: Witness[] = [];
  const timeout = options.timeoutMs ?? 30_000;
  if (options.tlogUpload !== false && options.rekorUrl) {
    list.push(new RekorWitness({ rekorBaseURL: options.rekorUrl, entryType: options.rekorEntryType ?? 'intoto', fetchOnConflict: true, timeout, retry: 0, majorApiVersion: 1 }));
  }
  if (options.tsaUrl) list.push(new TSAWitness({ tsaBaseURL: options.tsaUrl, timeout, retry: 0 }));
  return list;
}
