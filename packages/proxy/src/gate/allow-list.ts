import { createHash } from 'node:crypto';
import { parseDigest } from '@tollgate/core';
import type { Gate, GateRequest, Verdict } from './types.js';

/** Allowed manifest digests per `<upstream>/<repository>`. */
export type AllowedDigests = Record<string, readonly string[]>;

/**
 * Admits only manifests whose digest is listed for their `<upstream>/<repository>`, plus the platform manifests of
 * a listed index (pinning an index pins its children). Everything else is denied with rule `digest-pin`. The
 * revision is a hash of the list, so changing the list invalidates cached verdicts.
 */
export function allowListGate(allowed: AllowedDigests): Gate {
  const lists = new Map<string, Set<string>>();
  for (const [key, digests] of Object.entries(allowed)) lists.set(key, new Set(digests.map((d) => parseDigest(d).value)));
  const canonical = JSON.stringify([...lists.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
  const revision = `digest-pin:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
  const verdict = (decision: Verdict['decision'], reasons: string[]): Verdict => ({ decision, rule: 'digest-pin', reasons, policyRevision: revision });
  return {
    revision,
    evaluate(request: GateRequest): Promise<Verdict> {
      const key = `${request.upstream}/${request.repository}`;
      const list = lists.get(key);
      if (list?.has(request.digest)) return Promise.resolve(verdict('allow', [`${request.digest} is pinned for ${key}`]));
      const parent = request.parents?.find((p) => list?.has(p));
      if (parent !== undefined) return Promise.resolve(verdict('allow', [`${request.digest} is listed in the pinned index ${parent}`]));
      const why = list === undefined ? `no digests are allowed for ${key}` : `${request.digest} is not among the ${list.size} digest(s) pinned for ${key}`;
      return Promise.resolve(verdict('deny', [why]));
    },
  };
}

/** The same gate under the name the issue uses for it. */
export const digestPinGate = allowListGate;
