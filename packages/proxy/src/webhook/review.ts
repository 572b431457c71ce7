import type { ProxyCore } from '../serve/proxy-core.js';
import { quoted, ReviewRefusal, type AdmissionRequest } from './admission-review.js';
import { metadataName, recordAdmission, type AdmissionDecision, type AdmissionTarget, type WebhookMode } from './admission-audit.js';
import { evaluateImages, type ImageOutcome } from './evaluate-images.js';
import { targetFor, type ImageTarget } from './image-target.js';
import type { ImageSlot } from './pod-images.js';
import type { JsonPatchOp, ReviewResult } from './review-response.js';
import { reviewScope } from './review-scope.js';

/** What every review needs: the proxy's serving core, the name nodes pull it by, the time budget. */
export interface WebhookContext {
  core: ProxyCore;
  /** The proxy's registry host as image names write it (normalised), e.g. `tollgate.example.com:5000`. */
  proxyHost: string;
  budgetMs: number;
}

/** `image "x" (containers "a", initContainers "b")`: one line per image, however many containers share it. */
function subject(image: string, slots: readonly ImageSlot[]): string {
  const where = slots.filter((s) => s.image === image).map((s) => `${s.list} ${JSON.stringify(s.container)}`);
  const shown = where.length > 3 ? [...where.slice(0, 3), `${where.length - 3} more`] : where;
  return `image ${quoted(image, 200)} (${shown.join(', ')})`;
}

function objectName(request: AdmissionRequest): string {
  const name = request.name ?? metadataName(request.object) ?? 'unnamed';
  return `${request.kind.kind} ${request.namespace !== undefined ? `${request.namespace}/` : ''}${name}`.slice(0, 300);
}

/**
 * The targets of the distinct images, or the lines saying why some cannot be admitted without asking anyone:
 * mutating, a registry the proxy does not front; validating, any image that is not the proxy's by digest.
 */
function targetsOf(context: WebhookContext, mode: WebhookMode, slots: readonly ImageSlot[]): { targets: Map<string, ImageTarget>; problems: string[] } {
  const targets = new Map<string, ImageTarget>();
  const problems: string[] = [];
  for (const image of new Set(slots.map((s) => s.image))) {
    const target = targetFor(image, context.proxyHost, context.core.upstreams);
    if ('error' in target) problems.push(`${subject(image, slots)}: ${target.error}`);
    else if (mode === 'validate' && !target.viaProxy) problems.push(`${subject(image, slots)}: not pulled through the tollgate proxy; name it as ${target.proxyName}@sha256:… (the mutating webhook does)`);
    else if (mode === 'validate' && target.digest === undefined) problems.push(`${subject(image, slots)}: names the proxy by tag; pin it by digest (${target.proxyName}@sha256:…) so the node pulls what was admitted`);
    else targets.set(image, target);
  }
  return { targets, problems };
}

function refused(message: string, reasons: string[], images: string[], targets: AdmissionTarget[] = []): { result: ReviewResult; decision: AdmissionDecision } {
  return { result: { allowed: false, code: 403, message }, decision: { verdict: 'deny', reasons, images, ...(targets.length > 0 ? { targets } : {}) } };
}

/** Each image the proxy routes, as `<upstream>/<repository>` (what `tollgate audit --image` matches), with the digest admitted. */
function auditTargets(targets: ReadonlyMap<string, ImageTarget>, outcomes?: ReadonlyMap<string, ImageOutcome>): AdmissionTarget[] {
  return [...targets].map(([image, target]) => {
    const outcome = outcomes?.get(image);
    const digest = outcome?.admitted ? outcome.digest : target.digest;
    return { image, upstream: target.route.upstream.name, repository: target.route.repository, ...(digest !== undefined ? { digest } : {}) };
  });
}

async function decide(context: WebhookContext, mode: WebhookMode, request: AdmissionRequest): Promise<{ result: ReviewResult; decision: AdmissionDecision }> {
  const scope = reviewScope(request);
  if ('skip' in scope) return { result: { allowed: true }, decision: { verdict: 'allow', reasons: [scope.skip], images: [] } };
  const { slots } = scope;
  const images = [...new Set(slots.map((s) => s.image))];
  const what = objectName(request);
  const { targets, problems } = targetsOf(context, mode, slots);
  if (problems.length > 0) return refused(`tollgate refused ${what}: ${problems.join('; ')}`, problems, images, auditTargets(targets));
  const outcomes = await evaluateImages(context.core, targets, { identity: request.username ?? 'unknown' }, context.budgetMs);
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const [image, outcome] of outcomes) {
    if (!outcome.admitted) failures.push(`${subject(image, slots)}: ${outcome.why}`);
    else if (outcome.decision === 'warn') warnings.push(`tollgate (warn mode) admitted ${subject(image, slots)}: ${outcome.reasons.join('; ')}`);
  }
  if (failures.length > 0) return refused(`tollgate refused ${what}: ${failures.join('; ')}`, failures, images, auditTargets(targets, outcomes));
  const decision: AdmissionDecision = { verdict: warnings.length > 0 ? 'warn' : 'allow', reasons: warnings, images, targets: auditTargets(targets, outcomes) };
  if (mode === 'validate') return { result: { allowed: true, warnings }, decision };
  // Each image's name on the proxy, by the digest just admitted; an image already so named is left as it is.
  const pinnedAs = new Map<string, string>();
  for (const [image, outcome] of outcomes) {
    const to = `${targets.get(image)!.proxyName}@${(outcome as Extract<ImageOutcome, { admitted: true }>).digest}`;
    if (to !== image) pinnedAs.set(image, to);
  }
  const patch: JsonPatchOp[] = slots.filter((s) => pinnedAs.has(s.image)).map((s) => ({ op: 'replace', path: s.pointer, value: pinnedAs.get(s.image)! }));
  const pins = [...pinnedAs].map(([from, to]) => ({ from, to }));
  return { result: { allowed: true, patch, warnings }, decision: { ...decision, pins } };
}

/**
 * Reviews one AdmissionRequest. Mutating: every image resolved to a digest and evaluated through the proxy, then
 * rewritten to `<proxy host>/<path>@<digest>`. Validating: every image must already be that, and admitted. Any
 * image refused, undecided or unreadable refuses the object (fail closed). Every decision is audited.
 */
export async function reviewRequest(context: WebhookContext, mode: WebhookMode, request: AdmissionRequest): Promise<ReviewResult> {
  let outcome: { result: ReviewResult; decision: AdmissionDecision };
  try {
    outcome = await decide(context, mode, request);
  } catch (error) {
    if (!(error instanceof ReviewRefusal)) throw error;
    outcome = { result: { allowed: false, code: 400, message: `tollgate refused ${objectName(request)}: ${error.message}` }, decision: { verdict: 'deny', reasons: [error.message], images: [] } };
  }
  await recordAdmission(context.core.audit, mode, request, outcome.decision);
  context.core.log.info({ webhook: mode, uid: request.uid, namespace: request.namespace, kind: request.kind.kind, operation: request.operation, allowed: outcome.result.allowed, images: outcome.decision.images.length }, 'admission review');
  return outcome.result;
}
