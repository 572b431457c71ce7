import { OciError, toOciError } from '../http/oci-error.js';
import { ServeRefusal } from '../serve/refusal.js';
import { resolveManifest, type RequestContext } from '../serve/resolve-manifest.js';
import type { ProxyCore } from '../serve/proxy-core.js';
import type { ImageTarget } from './image-target.js';

/** What the proxy's gate said about one image, or why there is no answer. */
export type ImageOutcome =
  | { admitted: true; digest: string; decision: 'allow' | 'warn'; rule?: string; reasons: string[] }
  | { admitted: false; why: string; rule?: string; reasons?: string[]; undecided?: boolean };

/**
 * Evaluations of one review at a time: enough to decide a pod of many distinct images within the budget, few
 * enough that one review does not open a hundred upstream requests at once.
 */
const CONCURRENCY = 16;

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}

/** Maps resolveManifest's refusal to a line for the API server's user. */
function refusal(target: ImageTarget, error: unknown): ImageOutcome {
  const oci = error instanceof OciError ? error : toOciError(error, 'manifest');
  const where = `${target.route.upstream.name}/${target.route.repository}`;
  if (oci.code === 'DENIED') {
    const detail = (oci.detail ?? {}) as { rule?: unknown; reasons?: unknown };
    const reasons = Array.isArray(detail.reasons) ? detail.reasons.map(String) : [];
    const rule = typeof detail.rule === 'string' ? detail.rule : undefined;
    return { admitted: false, why: oci.message, ...(rule !== undefined ? { rule } : {}), reasons };
  }
  if (oci.status === 503 || oci.status === 429) {
    // An outage is not a verdict: refused (fail closed) unless resolveManifest found one standing in the cache.
    return { admitted: false, undecided: true, why: `undecided: ${oci.message} (${where}); no cached verdict stands, so it is refused until the upstream answers` };
  }
  if (oci.code === 'MANIFEST_UNKNOWN' || oci.code === 'NAME_UNKNOWN') return { admitted: false, why: `not found at upstream ${where}:${target.reference}` };
  return { admitted: false, why: `${oci.message} (${where})` };
}

async function evaluateOne(core: ProxyCore, target: ImageTarget, context: RequestContext): Promise<ImageOutcome> {
  try {
    const resolved = await resolveManifest(core, target.route, target.reference, context);
    const { verdict } = resolved;
    // resolveManifest throws on a deny; what comes back is an allow, or a deny that warn mode serves.
    const decision = verdict.decision === 'warn' ? 'warn' : 'allow';
    return { admitted: true, digest: resolved.digest, decision, ...(verdict.rule !== undefined ? { rule: verdict.rule } : {}), reasons: verdict.reasons };
  } catch (error) {
    if (!(error instanceof OciError || error instanceof ServeRefusal)) core.log.warn({ err: error, upstream: target.route.upstream.name, repository: target.route.repository }, 'webhook: evaluating an image failed; refusing it');
    return refusal(target, error);
  }
}

/**
 * Evaluates every distinct target through the proxy's serving path (same verdict cache, policy revision and audit
 * trail as a pull), at most CONCURRENCY at a time. Whatever is not decided when `budgetMs` runs out is refused,
 * naming the budget; evaluations in flight go on in the background (tracked, so shutdown waits) and leave their
 * verdicts cached for the API server's retry.
 */
export async function evaluateImages(core: ProxyCore, targets: ReadonlyMap<string, ImageTarget>, context: RequestContext, budgetMs: number): Promise<Map<string, ImageOutcome>> {
  const outcomes = new Map<string, ImageOutcome>();
  const queue = [...targets.entries()];
  let expired = false;
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined && !expired; next = queue.shift()) {
      const [image, target] = next;
      const work = evaluateOne(core, target, context);
      core.track(work);
      outcomes.set(image, await work);
    }
  };
  const workers = Array.from({ length: Math.min(CONCURRENCY, queue.length) }, () => worker());
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, budgetMs);
  });
  await Promise.race([Promise.all(workers), budget]);
  clearTimeout(timer);
  expired = true;
  const decided = new Map<string, ImageOutcome>();
  for (const image of targets.keys()) {
    decided.set(image, outcomes.get(image) ?? { admitted: false, undecided: true, why: `not decided within the webhook's time budget of ${seconds(budgetMs)}; refused (fail closed) — the evaluation goes on, so a retry may find its verdict cached` });
  }
  return decided;
}
