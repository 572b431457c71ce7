import { loadAsn1 } from '../../notation/asn1/asn1-runtime.js';
import { preloadRegistryHttp } from '../../registry/http/raw-request.js';
import { publicGoodTrustedRoot } from '../../trust/public-good.js';
import type { TrustedRoot } from '../../trust/trusted-root.js';
import type { LoadedPolicy } from '../schema/compiled.js';

/**
 * Loads what verifying against `policy` needs before the first image arrives: the registry HTTP client, the
 * embedded Sigstore trusted root when a rule has a key or keyless authority and no root was given, and the ASN.1
 * and JOSE libraries when a rule has a notation authority. Each is otherwise loaded on first use, which a CLI wants
 * (it may never need them) and a long-running verifier does not: there the first client would wait for it (the
 * proxy's first cold pull measured 50 ms slower than the next). Returns the trusted root to verify with, if any.
 */
export async function warmUpVerification(policy: LoadedPolicy, options: { trustedRoot?: TrustedRoot } = {}): Promise<TrustedRoot | undefined> {
  const kinds = new Set(policy.rules.flatMap((rule) => rule.authorities.map((authority) => authority.kind)));
  const loads: Promise<unknown>[] = [preloadRegistryHttp()];
  if (kinds.has('notation')) loads.push(loadAsn1(), import('jose'));
  await Promise.all(loads);
  if (options.trustedRoot !== undefined) return options.trustedRoot;
  return kinds.has('key') || kinds.has('keyless') ? publicGoodTrustedRoot() : undefined;
}
