import type { SerializedBundle } from '@sigstore/bundle';
import type { Signer } from '@sigstore/sign';
import { IN_TOTO_PAYLOAD_TYPE } from '../../sigstore/in-toto-statement.js';
import { sigstoreBundle } from '../../sigstore/sigstore-libraries.js';
import {
  keyedSigner,
  keylessSigner,
  loadSigstoreSign,
  signingFailed,
  witnesses,
  type KeyedSignBlobOptions,
  type KeylessSignBlobOptions,
} from '../../sigstore/sign-blob.js';

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
  const sign = await loadSigstoreSign();
  const signer: Signer = 'key' in options ? keyedSigner(options.key) : keylessSigner(sign, options);
  const builder = new sign.DSSEBundleBuilder({ signer, witnesses: witnesses(sign, options, options.rekorEntryType ?? 'intoto'), certificateChain: false });
  try {
    const bundle = await builder.create({ data: Buffer.from(statement.buffer, statement.byteOffset, statement.byteLength), type: IN_TOTO_PAYLOAD_TYPE });
    return sigstoreBundle().bundleToJSON(bundle);
  } catch (error) {
    throw signingFailed(error);
  }
}
