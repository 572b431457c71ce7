import { loadAsn1 } from '../../notation/asn1/asn1-runtime.js';
import { preloadRegistryHttp } from '../../registry/http/raw-request.js';
import { sigstoreVerify } from '../../sigstore/sigstore-libraries.js';
import { publicGoodTrustedRoot } from '../../trust/public-good.js';
import type { TrustedRoot } from '../../trust/trusted-root.js';
import type { CompiledRule, LoadedPolicy } from '../schema/compiled.js';
import type { Authority } from '../schema/types.js';

/**
 * Loads what verifying against `policy` needs before the first image arrives: the registry HTTP client, the
 * Sigstore verification libraries and (when no root was given) the embedded Sigstore trusted root when a rule has
 * a key or keyless authority, and the ASN.1 and JOSE libraries when a rule has a notation authority. Each is
 * otherwise loaded on first use, which a CLI wants (it may never need them) and a long-running verifier does not:
 * there the first client would wait for it (the proxy's first cold pull measured 50 ms slower than the next).
 * Returns the trusted root to verify with, if any.
 */
export async function warmUpVerification(policy: LoadedPolicy, options: { trustedRoot?: TrustedRoot } = {}): Promise<TrustedRoot | undefined> {
  const kinds = new Set(allAuthorities(policy).map((authority) => authority.kind));
  const loads: Promise<unknown>[] = [preloadRegistryHttp()];
  if (kinds.has('notation')) loads.push(loadAsn1(), import('jose'));
  if (kinds.has('key') || kinds.has('keyless')) sigstoreVerify(); // and with it @sigstore/bundle, core and protobuf-specs
  await Promise.all(loads);
  if (options.trustedRoot !== undefined) return options.trustedRoot;
  return kinds.has('key') || kinds.has('keyless') ? publicGoodTrustedRoot() : undefined;
}

/**
 * Whether verifying against `policy` uses the Sigstore trusted root: a keyless authority (Fulcio, CT logs, Rekor),
 * or a key authority that requires a transparency-log entry or a timestamp. Key authorities with
 * `transparencyLog: ignore` and notation authorities need none.
 */
export function policyNeedsSigstoreRoot(policy: LoadedPolicy): boolean {
  return policy.rules.some(ruleNeedsSigstoreRoot);
}

/** policyNeedsSigstoreRoot for one rule (its authorities and those of its attestation requirements). */
export function ruleNeedsSigstoreRoot(rule: CompiledRule): boolean {
  return authoritiesOf(rule).some((a) => a.kind === 'keyless' || (a.kind === 'key' && (a.transparencyLog === 'required' || a.timestamp === 'required')));
}

/** The authorities of every rule and of every attestation requirement. */
function allAuthorities(policy: LoadedPolicy): Authority[] {
  return policy.rules.flatMap(authoritiesOf);
}

function authoritiesOf(rule: CompiledRule): Authority[] {
  return [...rule.authorities, ...rule.attestations.flatMap((attestation) => attestation.authorities)];
}
