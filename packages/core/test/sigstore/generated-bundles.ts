/**
 * Keyless Sigstore bundles the tests sign themselves against @sigstore/mock (Fulcio, Rekor v1 and a TSA on loopback),
 * with the trusted root of that instance: what the checks that are not about interop verify, where the conformance
 * suite's public-good bundles (../shared) are not available. Close the mock with `stop()`.
 */
import { createHash } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { imageAttestationStatement, loadTrustedRoot, signBlob, signStatement, type IdentityPolicy, type TrustedRoot } from '@tollgate/core';
import { startSigstoreMock, type SigstoreMock } from '../../../../test/support/sigstore-mock.js';

export interface GeneratedBundles {
  artifact: Buffer;
  trustedRoot: TrustedRoot;
  /** The mock's trusted root as JSON, for --trusted-root. */
  trustedRootJson: string;
  identity: IdentityPolicy & { subject: string; issuer: string };
  /** A v0.3 message signature with a Fulcio certificate and a Rekor entry, no RFC 3161 timestamp (as the conformance happy path). */
  messageSignature: SerializedBundle;
  /** The same, with an RFC 3161 timestamp too. */
  timestamped: SerializedBundle;
  /** A DSSE envelope holding an in-toto statement whose subject is the artifact, with a Rekor entry and a timestamp. */
  dsse: SerializedBundle;
  mock: SigstoreMock;
  stop(): Promise<void>;
}

export async function generateBundles(artifact = Buffer.from('an artifact signed by the tollgate tests\n')): Promise<GeneratedBundles> {
  const mock = await startSigstoreMock();
  try {
    const subject = 'release@tollgate.test';
    const keyless = (tsa: boolean) => ({ identityToken: mock.mintToken(subject), fulcioUrl: mock.fulcioUrl, rekorUrl: mock.rekorUrl, ...(tsa ? { tsaUrl: mock.tsaUrl } : {}) });
    const sha256 = createHash('sha256').update(artifact).digest('hex');
    const [messageSignature, timestamped, dsse] = await Promise.all([
      signBlob(artifact, keyless(false)),
      signBlob(artifact, keyless(true)),
      signStatement(imageAttestationStatement('artifact', `sha256:${sha256}`, 'https://slsa.dev/provenance/v1', { buildDefinition: { buildType: 'https://tollgate.dev/test' } }), keyless(true)),
    ]);
    return {
      artifact,
      trustedRoot: loadTrustedRoot(mock.trustedRootJson, 'mock trusted root'),
      trustedRootJson: mock.trustedRootJson,
      identity: { subject, issuer: mock.issuer },
      messageSignature,
      timestamped,
      dsse,
      mock,
      stop: () => mock.stop(),
    };
  } catch (error) {
    await mock.stop();
    throw error;
  }
}
