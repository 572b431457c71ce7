import type { AuditLog } from '../audit/audit-log.js';
import type { AdmissionRequest } from './admission-review.js';

export type WebhookMode = 'mutate' | 'validate';

/** What one review decided, for the audit trail. */
export interface AdmissionDecision {
  verdict: 'allow' | 'deny' | 'warn';
  /** Why: the refusal lines, the warnings, or why nothing was looked at. */
  reasons: string[];
  /** The images as the object named them. */
  images: string[];
  /** Mutating: each image rewritten, from → to. */
  pins?: { from: string; to: string }[];
  /** The images the proxy routes: upstream and repository (and the digest admitted), for `tollgate audit --image`. */
  targets?: AdmissionTarget[];
}

/** One image of a review as the proxy routes it. */
export interface AdmissionTarget {
  image: string;
  upstream: string;
  repository: string;
  digest?: string;
}

/** The object's name, or `<generateName>*` for one the API server has not named yet. */
export function metadataName(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { name?: unknown; generateName?: unknown } } | undefined)?.metadata;
  if (typeof metadata?.name === 'string' && metadata.name !== '') return metadata.name.slice(0, 253);
  // A pod made by a controller has only a generateName when it is admitted.
  if (typeof metadata?.generateName === 'string' && metadata.generateName !== '') return `${metadata.generateName.slice(0, 253)}*`;
  return undefined;
}

/**
 * One `admission` event per review: namespace, object (kind and name), user, operation, images, verdict and
 * reasons. `identity` is the Kubernetes user as well, so `tollgate audit` shows who asked. Never a credential:
 * userInfo's groups and extra are not copied.
 */
export async function recordAdmission(audit: AuditLog, mode: WebhookMode, request: AdmissionRequest, decision: AdmissionDecision): Promise<void> {
  const name = request.name ?? metadataName(request.object);
  await audit.record({
    type: 'admission',
    webhook: mode,
    uid: request.uid,
    operation: request.operation,
    kind: request.kind.group === '' ? request.kind.kind : `${request.kind.group}/${request.kind.kind}`,
    ...(request.subResource !== undefined ? { subResource: request.subResource } : {}),
    ...(request.namespace !== undefined ? { namespace: request.namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    user: request.username ?? 'unknown',
    identity: request.username ?? 'unknown',
    images: decision.images,
    verdict: decision.verdict,
    reasons: decision.reasons,
    ...(decision.pins !== undefined && decision.pins.length > 0 ? { pins: decision.pins } : {}),
    ...(decision.targets !== undefined && decision.targets.length > 0 ? { targets: decision.targets } : {}),
    ...(request.dryRun ? { dryRun: true } : {}),
  });
}

/** A review with a uid whose request could not be read (no kind, an unknown operation): refused, and audited as such. */
export async function recordUnreadable(audit: AuditLog, mode: WebhookMode, uid: string, reason: string): Promise<void> {
  await audit.record({ type: 'admission', webhook: mode, uid, images: [], verdict: 'deny', reasons: [reason] });
}
