import {
  claimsImageNames,
  parseReference,
  TollgateError,
  type ContentSource,
  type Decision,
  type Finding,
  type LoadedPolicy,
  type PolicyVerdict,
  type TransportReference,
} from '@tollgate/core';

/**
 * The name rules match, and who vouches for it: `flag` (--name), `reference` (the registry the image is read from,
 * or the `<name:tag>` the user picked out of a docker archive), or `archive` (the archive's own RepoTags: a claim
 * of the file itself that nothing verifies).
 */
export interface PolicyName {
  registry: string;
  repository: string;
  source: 'flag' | 'reference' | 'archive';
}

/** The name given on the command line or by the transport; `archive` when only the archive itself can say. */
export function givenPolicyName(reference: string, transport: TransportReference, flag: string | undefined): PolicyName | 'archive' {
  if (flag !== undefined) return { ...nameOf(parseReference(flag)), source: 'flag' };
  if (transport.transport === 'docker') return { ...nameOf(transport.reference), source: 'reference' };
  if (transport.transport === 'docker-archive') {
    if (transport.reference !== undefined && !transport.reference.startsWith('@')) return { ...nameOf(parseReference(transport.reference)), source: 'reference' };
    return 'archive';
  }
  throw noName(reference);
}

/**
 * The name a docker archive gives the image it holds (the selected one's RepoTags). Every tag must be an image
 * reference, and all must name one repository: anything else is refused, and --name asked for. Exactly what the
 * archive claims, so evaluation must not trust it further than limitClaimedName allows.
 */
export async function archivePolicyName(reference: string, source: ContentSource): Promise<PolicyName> {
  const tags = claimsImageNames(source) ? await source.claimedImageNames() : [];
  const names = new Map<string, { registry: string; repository: string }>();
  for (const tag of tags) {
    let parsed: { registry: string; repository: string };
    try {
      parsed = nameOf(parseReference(tag));
    } catch {
      throw new TollgateError('INVALID_ARCHIVE', `${reference} names its image ${JSON.stringify(tag.slice(0, 120))}, which is not an image reference; give the name rules match with --name`);
    }
    names.set(`${parsed.registry}/${parsed.repository}`, parsed);
  }
  if (names.size === 0) throw noName(reference);
  if (names.size > 1) {
    const listed = [...names.keys()].slice(0, 5).join(', ');
    throw new TollgateError('USAGE', `${reference} names its image in ${names.size} repositories (${listed}${names.size > 5 ? ', …' : ''}); rules match one name: give it with --name`);
  }
  return { ...[...names.values()][0]!, source: 'archive' };
}

const SEVERITY: Record<Decision, number> = { allow: 0, warn: 1, deny: 2 };

/**
 * A name the archive claims for itself may choose a stricter rule, never a more lenient one than the policy's
 * default for an image no rule names: anyone can write any RepoTags into a tar file, and a docker archive carries
 * no signatures, so a rule that would admit it admits it on the name alone. Such a verdict becomes the default's
 * decision, with a finding saying why and what to do (vouch for the name with --name).
 */
export function limitClaimedName(verdict: PolicyVerdict, policy: LoadedPolicy, name: PolicyName): PolicyVerdict {
  if (name.source !== 'archive') return verdict;
  const fallback: Decision = policy.default === 'deny' && policy.mode === 'warn' ? 'warn' : policy.default;
  if (SEVERITY[verdict.decision] >= SEVERITY[fallback]) return verdict;
  const full = `${name.registry}/${name.repository}`;
  const reason =
    `${full} is only the archive's own claim (its RepoTags), which nothing verifies: it may choose a stricter rule, never ` +
    `a more lenient one than the policy default (${fallback}); if you vouch for the name, give it with --name`;
  const finding: Finding = { kind: 'rule', name: verdict.rule ?? 'default', passed: false, reason };
  const summary = `${fallback === 'deny' ? 'denied' : 'warned'}: rule ${JSON.stringify(verdict.rule)} would ${verdict.decision} ${full}, but the name is only claimed by the archive; the policy default (${fallback}) applies — give the name with --name to vouch for it`;
  return { ...verdict, decision: fallback, summary, findings: [...verdict.findings, finding] };
}

function nameOf(reference: { registry: string; repository: string }): { registry: string; repository: string } {
  return { registry: reference.registry, repository: reference.repository };
}

function noName(reference: string): TollgateError {
  return new TollgateError('USAGE', `${reference} carries no image name for rules to match; give one with --name (e.g. --name registry.example.com/team/app)`);
}
