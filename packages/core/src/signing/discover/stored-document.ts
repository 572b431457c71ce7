import { parseStrictJson } from '../../json/strict-json.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../sigstore/in-toto-statement.js';
import { COSIGN_BUNDLE_ANNOTATION, COSIGN_CERTIFICATE_ANNOTATION, COSIGN_CHAIN_ANNOTATION, COSIGN_RFC3161_ANNOTATION, COSIGN_SIGN_PREDICATE_TYPE, COSIGN_SIGNATURE_ANNOTATION, LEGACY_PREDICATE_TYPE_ANNOTATION } from '../constants.js';
import type { FetchedSignature, SignatureSource } from '../types.js';

/** A stored signature or attestation as `tollgate download` prints it: the document, and what it says it is. */
export interface StoredDocument {
  id: string;
  source: SignatureSource;
  kind: 'signature' | 'attestation';
  /** The in-toto statement's predicate type (read from the payload, not verified). */
  predicateType?: string;
  /**
   * A Sigstore bundle (JSON) for a cosign v3 referrer; the DSSE envelope of a legacy `.att` layer; for a legacy
   * `.sig` layer cosign's `{Base64Signature, Payload, Cert, Chain, Bundle, RFC3161Timestamp}` (Payload base64,
   * Cert and Chain as PEM).
   */
  document: unknown;
}

/**
 * What a fetched entry holds, unverified (download prints, it does not vouch): a bundle with a DSSE envelope is a
 * signature when its statement's predicate type is cosign's sign predicate, else an attestation; a bundle with a
 * message signature is a signature. Returns the reason instead when the bytes are missing or not the JSON expected.
 */
export function storedDocument(fetched: FetchedSignature): StoredDocument | { id: string; error: string } {
  if (fetched.bytes === undefined) return { id: fetched.id, error: fetched.error ?? 'not fetched' };
  try {
    if (fetched.kind === 'bundle') {
      const bundle = parseStrictJson(fetched.bytes, 'bundle') as { dsseEnvelope?: unknown; messageSignature?: unknown };
      if (bundle.dsseEnvelope !== undefined) {
        const predicateType = statementPredicateType(bundle.dsseEnvelope);
        return { id: fetched.id, source: fetched.source, kind: predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'signature' : 'attestation', ...(predicateType ? { predicateType } : {}), document: bundle };
      }
      return { id: fetched.id, source: fetched.source, kind: 'signature', document: bundle };
    }
    if (fetched.kind === 'legacy-attestation') {
      const envelope = parseStrictJson(fetched.bytes, 'DSSE envelope');
      const predicateType = statementPredicateType(envelope) ?? fetched.annotations[LEGACY_PREDICATE_TYPE_ANNOTATION];
      return { id: fetched.id, source: fetched.source, kind: 'attestation', ...(predicateType ? { predicateType } : {}), document: envelope };
    }
    const a = fetched.annotations;
    const json = (value: string | undefined) => (value === undefined || value === '' ? null : parseStrictJson(value, 'annotation'));
    return {
      id: fetched.id,
      source: fetched.source,
      kind: 'signature',
      document: {
        Base64Signature: a[COSIGN_SIGNATURE_ANNOTATION] ?? '',
        Payload: Buffer.from(fetched.bytes).toString('base64'),
        Cert: a[COSIGN_CERTIFICATE_ANNOTATION] ?? null,
        Chain: a[COSIGN_CHAIN_ANNOTATION] ?? null,
        Bundle: json(a[COSIGN_BUNDLE_ANNOTATION]),
        RFC3161Timestamp: json(a[COSIGN_RFC3161_ANNOTATION]),
      },
    };
  } catch (error) {
    return { id: fetched.id, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The predicateType of the in-toto statement a DSSE envelope carries, or undefined when it carries none. */
function statementPredicateType(envelope: unknown): string | undefined {
  if (typeof envelope !== 'object' || envelope === null) return undefined;
  const { payload, payloadType } = envelope as { payload?: unknown; payloadType?: unknown };
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof payload !== 'string') return undefined;
  try {
    const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicateType?: unknown };
    return typeof statement.predicateType === 'string' ? statement.predicateType : undefined;
  } catch {
    return undefined;
  }
}
