import { TollgateError } from '../../errors/tollgate-error.js';
import { trustStoreFor, type NotationTrustStores } from '../trust-store/load-trust-store.js';
import type { NotationVerifyOptions } from '../types.js';
import { selectTrustPolicy, type NotationTrustPolicy, type NotationTrustPolicyStatement } from './parse-trust-policy.js';

/**
 * The verification options notation would use for a repository (`registry/namespace/repository`): the applicable
 * trust policy statement (exact scope, else global) with its level, override, trust stores and identities. No
 * applicable policy is an error: the specification treats such an artifact as untrusted.
 */
export function notationOptionsFor(
  policy: NotationTrustPolicy,
  stores: NotationTrustStores,
  repository: string,
  now?: Date,
): { statement: NotationTrustPolicyStatement; options: NotationVerifyOptions } {
  const statement = selectTrustPolicy(policy, repository);
  if (statement === undefined) {
    throw new TollgateError('DENIED', `no trust policy applies to ${repository}; add its repository to a policy's registryScopes or add a global ("*") policy`);
  }
  const verification = statement.signatureVerification;
  const options: NotationVerifyOptions = {
    level: verification.level,
    trustStore: verification.level === 'skip' ? { ca: [], signingAuthority: [], tsa: [] } : trustStoreFor(stores, statement.trustStores),
    trustedIdentities: statement.trustedIdentities,
  };
  if (verification.override !== undefined) options.override = verification.override;
  if (verification.verifyTimestamp !== undefined) options.verifyTimestamp = verification.verifyTimestamp;
  if (now !== undefined) options.now = now;
  return { statement, options };
}
