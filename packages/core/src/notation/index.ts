// The notation (Notary Project) verifier's public surface, re-exported by the package index.
export * from './types.js';
export { parseNotationEnvelope, MAX_NOTATION_ENVELOPE_BYTES, type NotationEnvelope } from './envelope/parse-envelope.js';
export { NOTATION_ALGORITHMS, type NotationAlgorithm, type NotationProtectedHeader, type SigningScheme } from './envelope/protected-header.js';
export type { NotationPayload, NotationTargetArtifact } from './envelope/payload.js';
export { parseTrustPolicy, selectTrustPolicy, MAX_TRUST_POLICY_BYTES, type NotationTrustPolicy, type NotationTrustPolicyStatement } from './trust-policy/parse-trust-policy.js';
export { levelActions, NOTATION_LEVEL_ACTIONS } from './trust-policy/levels.js';
export { notationOptionsFor } from './trust-policy/resolve.js';
export { loadNotationTrustStore, trustStoreFor, type NotationTrustStores, type LoadTrustStoreOptions } from './trust-store/load-trust-store.js';
export { readCertificates } from './trust-store/read-certificates.js';
export { verifyTimestampToken, type VerifiedTimestamp } from './timestamp/verify-timestamp.js';
export { verifyNotationEnvelope } from './verify/verify-envelope.js';
export { verifyNotationImage, type NotationSignatureSource, type NotationImageLimits, type NotationImageResult, type NotationSignatureOutcome } from './verify/verify-image.js';
export { publicKeyId } from './x509/key-id.js';
