import type { X509Certificate } from 'node:crypto';
import { parseNotationEnvelope, type NotationEnvelope } from '../envelope/parse-envelope.js';
import { RECOGNISED_CRITICAL_HEADERS } from '../envelope/protected-header.js';
import { verifyTimestampToken } from '../timestamp/verify-timestamp.js';
import { loadAsn1 } from '../asn1/asn1-runtime.js';
import { levelActions } from '../trust-policy/levels.js';
import type { NotationResult, NotationSigner, NotationTarget, NotationVerifyOptions } from '../types.js';
import { certificateInfo, formatSubject } from '../x509/cert-info.js';
import { chainProblem, validityProblem } from '../x509/chain.js';
import { publicKeyId } from '../x509/key-id.js';
import { identityMatches } from './identity.js';
import { algorithmForKey } from './key-algorithm.js';
import { ResultBuilder } from './result-builder.js';

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Integrity: the JWS signature with the signing certificate's key, the key/algorithm pairing, the chain's shape. */
async function integrityProblem(envelope: NotationEnvelope, target: NotationTarget): Promise<string | undefined> {
  const leaf = envelope.certificates[0]!;
  const expected = algorithmForKey(leaf);
  if (expected === undefined) {
    return `the signing certificate's key (${leaf.publicKey.asymmetricKeyType ?? 'unknown'}) is not one the Notary Project allows (RSA 2048/3072/4096, EC P-256/384/521)`;
  }
  if (expected !== envelope.protectedHeader.alg) {
    return `the envelope says ${envelope.protectedHeader.alg} but the signing certificate's key requires ${expected}`;
  }
  // jose is loaded here, on first use, rather than when tollgate starts.
  const { flattenedVerify } = await import('jose');
  try {
    await flattenedVerify(envelope.jws, leaf.publicKey, {
      algorithms: [expected],
      crit: Object.fromEntries(RECOGNISED_CRITICAL_HEADERS.map((h) => [h, true])),
    });
  } catch (error) {
    return `the JWS signature does not verify with the signing certificate (${message(error)}); the envelope was altered or corrupted`;
  }
  const signed = envelope.payload.targetArtifact;
  const mismatches: string[] = [];
  if (signed.digest !== target.digest) mismatches.push(`digest ${signed.digest} ≠ ${target.digest}`);
  if (signed.size !== target.size) mismatches.push(`size ${signed.size} ≠ ${target.size}`);
  if (signed.mediaType !== target.mediaType) mismatches.push(`mediaType ${signed.mediaType} ≠ ${target.mediaType}`);
  if (mismatches.length > 0) return `content descriptor mismatch: the signature is for another artifact (${mismatches.join(', ')})`;
  const chain = chainProblem(envelope.certificates, 'codeSigning');
  if (chain !== undefined) return `the x5c certificate chain is not acceptable: ${chain}`;
  return undefined;
}

function signerOf(envelope: NotationEnvelope): NotationSigner {
  const header = envelope.protectedHeader;
  const signer: NotationSigner = {
    subject: formatSubject(certificateInfo(envelope.certificates[0]!)),
    chainFingerprints: envelope.certificates.map((c) => certificateInfo(c).fingerprint256),
    keyId: publicKeyId(envelope.certificates[0]!.publicKey),
    signingScheme: header.signingScheme,
  };
  const time = header.authenticSigningTime ?? header.signingTime;
  if (time !== undefined) signer.signingTime = time.toISOString();
  if (header.expiry !== undefined) signer.expiry = header.expiry.toISOString();
  if (envelope.signingAgent !== undefined) signer.signingAgent = envelope.signingAgent;
  return signer;
}

/**
 * Verifies one Notary Project JWS envelope against the manifest it must be bound to, following the verification
 * steps of trust-store-trust-policy.md at the given level: integrity (always enforced: JWS signature, allowed
 * algorithm matching the key, `crit`, the targetArtifact's digest, size AND media type equal to `target`, chain
 * shape), authenticity (chain anchored in the trust store of the scheme's type, trusted identity), expiry, authentic
 * timestamp (RFC 3161 countersignature when TSA roots are given, else the chain must be valid now;
 * authenticSigningTime for the signing-authority scheme), and revocation, which tollgate cannot check
 * offline: certificates naming OCSP/CRL endpoints make it fail as "not performed" (enforced at strict).
 * Pure: no I/O. Never throws for a bad envelope; the result says why.
 */
export async function verifyNotationEnvelope(bytes: Uint8Array, target: NotationTarget, options: NotationVerifyOptions): Promise<NotationResult> {
  await loadAsn1();
  const actions = levelActions(options.level, options.override);
  const result = new ResultBuilder(options.level, actions);
  const now = options.now ?? new Date();
  if (options.level === 'skip') {
    for (const check of ['integrity', 'authenticity', 'authenticTimestamp', 'expiry', 'revocation'] as const) result.skip(check, 'the skip level performs no verification');
    result.warnings.push('the notation trust policy level is skip: the signature was not verified');
    return result.result();
  }

  let envelope: NotationEnvelope;
  try {
    envelope = parseNotationEnvelope(bytes);
  } catch (error) {
    result.fail('integrity', message(error));
    return result.result();
  }
  let problem: string | undefined;
  try {
    problem = await integrityProblem(envelope, target);
  } catch (error) {
    problem = message(error);
  }
  if (problem !== undefined) {
    result.fail('integrity', problem);
    return result.result();
  }
  result.pass('integrity', `signed by ${formatSubject(certificateInfo(envelope.certificates[0]!))} with ${envelope.protectedHeader.alg} over ${target.digest}`);
  const signer = signerOf(envelope);
  const chain = envelope.certificates;
  const scheme = envelope.protectedHeader.signingScheme;

  // Authenticity: some trust anchor of the scheme's store type is in the chain, and the signer is a trusted identity.
  const storeType = scheme === 'notary.x509' ? 'ca' : 'signingAuthority';
  const anchors = options.trustStore[storeType];
  if (actions.authenticity !== 'skip') {
    let authenticity: string | undefined;
    if (anchors.length === 0) {
      authenticity = `no ${storeType} trust store certificates are configured for the ${scheme} signing scheme`;
    } else if (!chain.some((cert) => anchors.some((anchor) => anchor.raw.equals(cert.raw)))) {
      authenticity = `the signature's certificate chain does not contain any certificate of the ${storeType} trust store (${scheme} scheme)`;
    } else {
      try {
        if (!identityMatches(options.trustedIdentities, certificateInfo(chain[0]!).subject)) {
          authenticity = `the signing certificate "${signer.subject}" does not match the trusted identities`;
        }
      } catch (error) {
        authenticity = message(error);
      }
    }
    if (authenticity === undefined) result.pass('authenticity', `anchored in the ${storeType} trust store; trusted identity ${signer.subject}`);
    else if (result.fail('authenticity', authenticity)) return result.result(signer);
  }

  let tsaChain: X509Certificate[] = [];

  // Expiry.
  if (actions.expiry !== 'skip') {
    const expiry = envelope.protectedHeader.expiry;
    if (expiry !== undefined && now.getTime() >= expiry.getTime()) {
      if (result.fail('expiry', `the signature expired at ${expiry.toISOString()}`)) return result.result(signer);
    } else {
      result.pass('expiry', expiry === undefined ? 'the signature has no expiry' : `the signature expires at ${expiry.toISOString()}`);
    }
  }

  // Authentic timestamp.
  if (actions.authenticTimestamp !== 'skip') {
    let timestampProblem: string | undefined;
    let note: string | undefined;
    if (scheme === 'notary.x509.signingAuthority') {
      const at = envelope.protectedHeader.authenticSigningTime!;
      timestampProblem = validityProblem(chain, at, at, `at the authentic signing time ${at.toISOString()}`);
      note = `the chain was valid at the authentic signing time ${at.toISOString()}`;
    } else {
      let useTimestamp = options.trustStore.tsa.length > 0;
      if (useTimestamp && options.verifyTimestamp === 'afterCertExpiry' && validityProblem(chain, now, now, 'now') === undefined) useTimestamp = false;
      if (!useTimestamp) {
        timestampProblem = validityProblem(chain, now, now, `at verification time ${now.toISOString()} (no trusted timestamp is used)`);
        note = `the chain is valid at verification time${envelope.timestampToken !== undefined ? '; the countersignature was not checked (no tsa trust store)' : ''}`;
      } else if (envelope.timestampToken === undefined) {
        timestampProblem = 'a tsa trust store is configured but the signature has no timestamp countersignature';
      } else {
        try {
          const ts = await verifyTimestampToken(envelope.timestampToken, envelope.signature, options.trustStore.tsa);
          tsaChain = ts.chain;
          signer.timestamp = ts.genTime.toISOString();
          timestampProblem = validityProblem(chain, ts.lower, ts.upper, `at the timestamp ${ts.genTime.toISOString()}`);
          note = `RFC 3161 timestamp ${ts.genTime.toISOString()} by ${ts.tsa}; the chain was valid then`;
        } catch (error) {
          timestampProblem = message(error);
        }
      }
    }
    if (timestampProblem === undefined) result.pass('authenticTimestamp', note);
    else if (result.fail('authenticTimestamp', timestampProblem)) return result.result(signer);
  }

  // Revocation: needs OCSP/CRL over the network, which tollgate does not do.
  if (actions.revocation === 'skip') {
    result.skip('revocation', 'revocation checking is skipped by the trust policy');
  } else {
    const withEndpoints = [...chain, ...tsaChain].filter((cert) => certificateInfo(cert).hasRevocationInfo);
    if (withEndpoints.length === 0) {
      result.pass('revocation', 'no certificate names an OCSP responder or CRL distribution point, so the specification treats none as revoked');
    } else {
      const names = withEndpoints.map((c) => `"${formatSubject(certificateInfo(c))}"`).slice(0, 3).join(', ');
      result.fail(
        'revocation',
        `the revocation status of ${names} cannot be determined: tollgate does not query OCSP or CRLs; set the trust policy override "revocation" to "log" or "skip" to accept this`,
        'not-performed',
      );
    }
  }
  return result.result(signer);
}
