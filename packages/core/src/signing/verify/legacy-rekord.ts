import { createHash, createPublicKey, timingSafeEqual, verify as verifySignature } from 'node:crypto';
import type { X509Certificate } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { compileIdentityPolicy } from '../../sigstore/identity-policy.js';
import { resolveVerificationKey } from '../../sigstore/verification-key.js';
import { sigstoreCore } from '../../sigstore/sigstore-libraries.js';
import { COSIGN_CERTIFICATE_ANNOTATION, COSIGN_SIGNATURE_ANNOTATION } from '../constants.js';
import { isObject } from '../simple-signing.js';
import type { ImageTrust } from './trust.js';
import { pemCertificates, type LegacyRekorBundle } from './legacy-bundle.js';

const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface RekordResult {
  ok: boolean;
  reason?: string;
  signer?: { identity: string | undefined; issuer: string | undefined } | { keyId: string };
}

/**
 * Verifies a legacy signature whose Rekor entry is the old `rekord` 0.0.1 kind (cosign 1.x), which
 * @sigstore/verify does not read: (1) the payload signature by the certificate's (or given) key; (2) the certificate
 * chains to a Fulcio CA of the trusted root valid at the log time; (3) the SET is the log's signature over the
 * canonical {body, integratedTime, logID, logIndex}; (4) the logged body's hash is sha256(payload), its signature
 * the annotation's and its key the certificate; (5) the log time lies inside the certificate's validity; then the
 * identity policy. SCTs are not verified on this path, so it refuses to run unless the caller waived them.
 */
export function verifyLegacyRekord(payload: Uint8Array, annotations: Record<string, string>, rekor: LegacyRekorBundle, trust: ImageTrust, options: { ctlogThreshold?: number; allowCertificateWithoutIssuer?: boolean }): RekordResult {
  const fail = (reason: string): RekordResult => ({ ok: false, reason });
  if ((options.ctlogThreshold ?? 1) > 0) return fail('a legacy rekord log entry (cosign 1.x) carries a certificate whose SCT tollgate does not check; verify it with ctlogThreshold 0');
  if (rekor.version !== '0.0.1') return fail(`rekord entry version ${rekor.version} is not supported`);
  const time = new Date(rekor.integratedTime * 1000);
  const signature = Buffer.from(annotations[COSIGN_SIGNATURE_ANNOTATION] ?? '', 'base64');
  if (signature.length === 0) return fail('the dev.cosignproject.cosign/signature annotation is missing');

  // (3) the SET
  const log = trust.trustedRoot.tlogs.find((t) => Buffer.from(t.logId?.keyId ?? []).toString('hex') === rekor.logIDHex);
  if (!log?.publicKey?.rawBytes) return fail(`the log ${rekor.logIDHex.slice(0, 16)}… is not in the trusted root`);
  if (!within(time, log.publicKey.validFor)) return fail('the log key was not valid at the entry time');
  const setPayload = sigstoreCore().json.canonicalize({ body: rekor.body, integratedTime: rekor.integratedTime, logID: rekor.logIDHex, logIndex: rekor.logIndex });
  const logKey = createPublicKey({ key: Buffer.from(log.publicKey.rawBytes), format: 'der', type: 'spki' });
  if (!safeVerify(logKey, Buffer.from(setPayload), Buffer.from(rekor.signedEntryTimestamp, 'base64'))) return fail('TLOG_INCLUSION_PROMISE_ERROR: the SET does not verify with the log key');

  // (4) the body
  let body: Record<string, any>;
  try {
    body = JSON.parse(Buffer.from(rekor.body, 'base64').toString('utf8')) as Record<string, any>;
  } catch {
    return fail('the rekord body is not JSON');
  }
  const spec: Record<string, any> = isObject(body.spec) ? body.spec : {};
  const loggedHash = spec.data?.hash;
  if (!isObject(loggedHash) || loggedHash.algorithm !== 'sha256' || loggedHash.value !== createHash('sha256').update(payload).digest('hex')) {
    return fail('TLOG_BODY_ERROR: the logged hash is not sha256 of the payload');
  }
  if (typeof spec.signature?.content !== 'string' || !sameBytes(Buffer.from(spec.signature.content, 'base64'), signature)) {
    return fail('TLOG_BODY_ERROR: the logged signature is not the signature annotation');
  }
  const loggedKey = typeof spec.signature?.publicKey?.content === 'string' ? Buffer.from(spec.signature.publicKey.content, 'base64').toString('utf8') : '';

  // (1), (2), (5)
  const certificates = pemCertificates(annotations[COSIGN_CERTIFICATE_ANNOTATION], 'certificate annotation');
  if (certificates.length > 0) {
    if (!trust.identity) return fail('the signature is keyless (certificate); verify it with an identity, not a key');
    const leaf = sigstoreCore().X509Certificate.parse(Buffer.from(certificates[0]!));
    const logged = pemCertificates(loggedKey, 'logged public key');
    if (logged.length === 0 || !sameBytes(Buffer.from(logged[0]!), Buffer.from(certificates[0]!))) return fail('TLOG_BODY_ERROR: the logged certificate is not the signing certificate');
    const leafKey = createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' });
    if (!safeVerify(leafKey, Buffer.from(payload), signature)) return fail('SIGNATURE_ERROR: the signature does not verify with the certificate key');
    if (!leaf.validForDate(time)) return fail('CERTIFICATE_ERROR: the log time is outside the certificate validity');
    if (!chainsToRoot(leaf, trust.trustedRoot, time)) return fail('CERTIFICATE_ERROR: the certificate does not chain to a certificate authority of the trusted root');
    const identity = leaf.subjectAltName;
    const issuer = issuerOf(leaf);
    const policy = compileIdentityPolicy(trust.identity);
    const signer = { identity, issuer };
    if (!policy.matchSubject(identity)) return { ok: false, signer, reason: `the certificate identity ${JSON.stringify(identity ?? null)} does not match ${policy.describeSubject}` };
    if (!(issuer === undefined && options.allowCertificateWithoutIssuer) && !policy.matchIssuer(issuer)) {
      return { ok: false, signer, reason: `the certificate OIDC issuer ${JSON.stringify(issuer ?? null)} does not match ${policy.describeIssuer}` };
    }
    return { ok: true, signer };
  }
  if (trust.key === undefined) return fail('the signature is keyed (no certificate); verify it with the public key');
  const key = resolveVerificationKey(trust.key);
  let loggedSpki: Buffer;
  try {
    loggedSpki = createPublicKey(loggedKey).export({ type: 'spki', format: 'der' });
  } catch {
    return fail('TLOG_BODY_ERROR: the logged public key does not parse');
  }
  if (!sameBytes(loggedSpki, key.key.export({ type: 'spki', format: 'der' }))) return fail('TLOG_BODY_ERROR: the logged key is not the given key');
  if (!safeVerify(key.key, Buffer.from(payload), signature)) return fail('SIGNATURE_ERROR: the signature does not verify with the key');
  return { ok: true, signer: { keyId: key.keyId } };
}

function chainsToRoot(leaf: X509Certificate, root: TrustedRoot, time: Date): boolean {
  for (const ca of root.certificateAuthorities) {
    if (!within(time, ca.validFor)) continue;
    const chain = (ca.certChain?.certificates ?? []).map((c) => sigstoreCore().X509Certificate.parse(Buffer.from(c.rawBytes)));
    let child = leaf;
    let ok = chain.length > 0;
    for (const parent of chain) {
      if (!safe(() => child.verify(parent)) || !parent.validForDate(time)) {
        ok = false;
        break;
      }
      child = parent;
    }
    if (ok && safe(() => child.verify(child))) return true;
  }
  return false;
}

function issuerOf(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(ISSUER_V2);
  if (v2) {
    try {
      return sigstoreCore().ASN1Obj.parseBuffer(Buffer.from(v2.value)).value.toString('utf8');
    } catch {
      return undefined;
    }
  }
  const v1 = cert.extension(ISSUER_V1);
  return v1 ? v1.value.toString('utf8') : undefined;
}

function within(time: Date, validFor: { start?: Date; end?: Date } | undefined): boolean {
  if (!validFor?.start || time < validFor.start) return false;
  return !validFor.end || time <= validFor.end;
}

function safeVerify(key: ReturnType<typeof createPublicKey>, data: Buffer, signature: Buffer): boolean {
  try {
    return verifySignature('sha256', data, key, signature);
  } catch {
    return false;
  }
}

function safe(fn: () => unknown): boolean {
  try {
    return Boolean(fn());
  } catch {
    return false;
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
