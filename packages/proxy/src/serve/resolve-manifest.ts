import { isUnavailableError, parseDigest, parseManifest } from '@tollgate/core';
import { decisionFacts } from '../audit/decision-facts.js';
import type { TagMove } from '../audit/event.js';
import type { Verdict } from '../gate/types.js';
import { isUpstreamUnavailable } from '../upstream/unavailable.js';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { TagEntry } from '../store/metadata-store.js';
import type { UpstreamManifest } from '../upstream/types.js';
import { cachedBlobSource } from './cached-blob-source.js';
import { EvaluationOutages } from './evaluation-outages.js';
import { refuse } from './refusal.js';
import { takeLock, waitForPeer } from '../store/peer-lock.js';
import type { ProxyCore } from './proxy-core.js';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ResolvedManifest extends UpstreamManifest {
  verdict: Verdict;
}

/** Validates a manifest reference: a digest (refused as an invalid digest when malformed) or a tag. */
export function checkReference(reference: string): { digest?: string } {
  if (reference.includes(':')) {
    try {
      return { digest: parseDigest(reference).value };
    } catch (error) {
      refuse({ kind: 'invalid-digest' }, (error as Error).message.slice(0, 300));
    }
  }
  if (!TAG.test(reference)) refuse({ kind: 'unknown-reference' }, 'manifest unknown: the reference is neither a valid tag nor a digest');
  return {};
}

async function fetchManifest(core: ProxyCore, route: UpstreamRoute, reference: string): Promise<UpstreamManifest> {
  const { upstream, repository } = route;
  // Through the upstream's gateway: concurrent pulls of one reference share the request, which is counted.
  const manifest = await upstream.getManifest(repository, reference);
  await core.meta.putManifest(upstream.name, repository, manifest.digest, { bytes: manifest.bytes, mediaType: manifest.mediaType });
  return manifest;
}

async function byDigest(core: ProxyCore, route: UpstreamRoute, digest: string): Promise<UpstreamManifest> {
  const cached = await core.meta.getManifest(route.upstream.name, route.repository, digest);
  if (cached !== undefined) {
    core.metrics.cache.inc({ kind: 'manifest', result: 'hit' });
    return { ...cached, digest };
  }
  core.metrics.cache.inc({ kind: 'manifest', result: 'miss' });
  return fetchManifest(core, route, digest);
}

interface TagResolution {
  manifest: UpstreamManifest;
  /** The tag's entry before this request. */
  previous: TagEntry | undefined;
  /** The upstream was asked (the entry's resolvedAt moves on). */
  fresh: boolean;
}

async function byTag(core: ProxyCore, route: UpstreamRoute, tag: string): Promise<TagResolution> {
  const { upstream, repository } = route;
  const entry = await core.meta.getTag(upstream.name, repository, tag);
  const now = core.now();
  if (entry !== undefined && now - entry.resolvedAt < core.config.cache.tagTtlSeconds * 1000) {
    const cached = await core.meta.getManifest(upstream.name, repository, entry.digest);
    if (cached !== undefined) {
      core.metrics.cache.inc({ kind: 'tag', result: 'hit' });
      return { manifest: { ...cached, digest: entry.digest }, previous: entry, fresh: false };
    }
  }
  let fresh: UpstreamManifest;
  try {
    fresh = await fetchManifest(core, route, tag);
  } catch (error) {
    // Upstream down or rate limiting: the last known resolution keeps working, if its manifest is cached.
    if (entry !== undefined && isUpstreamUnavailable(error)) {
      const cached = await core.meta.getManifest(upstream.name, repository, entry.digest);
      if (cached !== undefined) {
        core.metrics.cache.inc({ kind: 'tag', result: 'stale' });
        core.log.warn({ upstream: upstream.name, repository, tag, digest: entry.digest }, 'upstream unavailable; serving the cached tag resolution');
        return { manifest: { ...cached, digest: entry.digest }, previous: entry, fresh: false };
      }
    }
    throw error;
  }
  core.metrics.cache.inc({ kind: 'tag', result: 'miss' });
  if (entry !== undefined && entry.digest !== fresh.digest) {
    core.metrics.tagMutations.inc({ upstream: upstream.name });
    core.log.warn({ upstream: upstream.name, repository, tag, old: entry.digest, new: fresh.digest }, 'tag mutated');
    await core.audit.record({ type: 'tag-mutation', upstream: upstream.name, repository, tag, oldDigest: entry.digest, newDigest: fresh.digest, tagMove: { tag, from: entry.digest, to: fresh.digest } });
  }
  return { manifest: fresh, previous: entry, fresh: true };
}

/** Who is asking, for the audit trail. */
export interface RequestContext {
  /** The client's address. */
  client?: string;
  /** The authenticated user name, or `anonymous`. */
  identity?: string;
}

/** A gate verdict with what the serving path needs to know about how it was reached. */
interface GateOutcome {
  verdict: Verdict;
  cached: boolean;
}

/**
 * Whether a verdict vouches for the digest itself, as pinTags requires of a moved tag: an allow that says it
 * verified a signature (`verified: true`), or an explicit digest pin (the allow-list gate's `digest-pin` rule).
 * A default allow (allow-all, a policy rule that verified nothing) does not.
 */
export function verdictVerifies(verdict: Verdict): boolean {
  if (verdict.decision !== 'allow') return false;
  return verdict.verified ?? verdict.rule === 'digest-pin';
}

/**
 * Whether a stored verdict may still be used: within `cache.verdictTtlSeconds` of its evaluation for an allow or
 * warn, `cache.denyTtlSeconds` for a deny (0 = an allow stands until the policy changes; a deny is never reused).
 * A verdict stored without a time (by an older tollgate) is evaluated again.
 */
export function verdictStands(core: ProxyCore, verdict: Verdict): boolean {
  if (verdict.evaluatedAt === undefined) return false;
  const { verdictTtlSeconds, denyTtlSeconds } = core.config.cache;
  if (verdict.decision === 'deny') return denyTtlSeconds > 0 && core.now() - verdict.evaluatedAt < denyTtlSeconds * 1000;
  return verdictTtlSeconds === 0 || core.now() - verdict.evaluatedAt < verdictTtlSeconds * 1000;
}

/**
 * Asks the gate (or its cached verdict for this policy revision) and records what an admitted manifest admits.
 * One evaluation per (revision, upstream, repository, digest) runs at a time: concurrent pulls of a manifest
 * whose verdict is not cached wait for the one evaluation in flight (and its upstream reads) instead of repeating it.
 */
async function verdictFor(core: ProxyCore, route: UpstreamRoute, reference: string, manifest: UpstreamManifest, context: RequestContext): Promise<GateOutcome> {
  const { upstream, repository } = route;
  const revision = core.revisionFor(upstream);
  const cached = await core.meta.getVerdict(revision, upstream.name, repository, manifest.digest);
  if (cached !== undefined && verdictStands(core, cached)) return { verdict: cached, cached: true };
  const key = JSON.stringify([revision, upstream.name, repository, manifest.digest]);
  const joined = core.verdictFlights.has(key);
  const outcome = await core.verdictFlights.run(key, () => evaluateOnce(core, route, revision, reference, manifest, context, key));
  return joined ? { ...outcome, cached: true } : outcome;
}

/** How long a replica waits for a peer's evaluation of the same digest before evaluating it itself. */
const PEER_VERDICT_WAIT_MS = 60_000;

/**
 * One evaluation across replicas too: the replica holding the verdict's lock evaluates, the others wait for the
 * verdict it stores (bounded) and evaluate themselves if none comes (a deny or an indeterminate outcome is not
 * stored when denies are not kept; the peer failed or died). Correctness never depends on the lock.
 */
async function evaluateOnce(core: ProxyCore, route: UpstreamRoute, revision: string, reference: string, manifest: UpstreamManifest, context: RequestContext, key: string): Promise<GateOutcome> {
  const { upstream, repository } = route;
  const name = `verdict:${key}`;
  const stored = async () => {
    const verdict = await core.meta.getVerdict(revision, upstream.name, repository, manifest.digest);
    return verdict !== undefined && verdictStands(core, verdict) ? verdict : undefined;
  };
  const lock = await takeLock(core.meta, name);
  if (lock === undefined) {
    const peer = await waitForPeer(core.meta, name, stored, PEER_VERDICT_WAIT_MS);
    if (peer !== undefined) return { verdict: peer, cached: true };
  }
  try {
    // A peer may have stored its verdict and released the lock between our first look and taking it.
    const meanwhile = lock !== undefined ? await stored() : undefined;
    if (meanwhile !== undefined) return { verdict: meanwhile, cached: true };
    return await evaluate(core, route, revision, reference, manifest, context);
  } finally {
    await lock?.release();
  }
}

async function evaluate(core: ProxyCore, route: UpstreamRoute, revision: string, reference: string, manifest: UpstreamManifest, context: RequestContext): Promise<GateOutcome> {
  const { upstream, repository } = route;
  const parents = await core.meta.getParents(revision, upstream.name, repository, manifest.digest);
  let verdict: Verdict;
  // The upstream's gateway: the gate's reads (manifests, signatures, referrers, attestations) are counted and shared.
  const source = upstream.source(repository);
  const outages = new EvaluationOutages();
  try {
    verdict = await core.gate.evaluate({
      upstream: upstream.name,
      repository,
      reference,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      manifest: manifest.bytes,
      source: cachedBlobSource(core, route, source, outages),
      signatureSource: source,
      ...(parents.length > 0 ? { parents } : {}),
    });
  } catch (error) {
    if (isUnavailableError(error)) {
      outages.saw(error);
      const reason = (error as Error).message.slice(0, 300);
      return undecided(core, route, reference, manifest.digest, context, [reason], outages);
    }
    core.metrics.verdicts.inc({ decision: 'error' });
    core.log.error({ upstream: upstream.name, repository, digest: manifest.digest, err: error }, 'gate evaluation failed; failing closed');
    const reason = error instanceof Error ? error.message.slice(0, 300) : 'gate error';
    await core.audit.record({ type: 'verdict', ...contextFields(context), upstream: upstream.name, repository, reference, digest: manifest.digest, verdict: 'deny', rule: 'gate-error', reasons: [reason], policyRevision: core.gate.revision, mode: core.modeFor(upstream), cached: false });
    refuse({ kind: 'gate-error', digest: manifest.digest, reason }, `tollgate could not evaluate the policy for ${repository}@${manifest.digest}; refusing it (fail closed)`);
  }
  if (verdict.indeterminate === true && core.modeFor(upstream) === 'enforce') return undecided(core, route, reference, manifest.digest, context, verdict.reasons, outages);
  core.metrics.verdicts.inc({ decision: verdict.decision });
  // In warn mode a denied manifest is served, so what it references must be servable too (under the +warn revision).
  if (verdict.decision !== 'deny' || core.modeFor(upstream) === 'warn') {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, 'manifest');
    if (parsed.kind === 'image') {
      const blobs = [parsed.manifest.config, ...parsed.manifest.layers].map((d) => ({ digest: d.digest, size: d.size }));
      await core.meta.admitBlobs(revision, upstream.name, repository, manifest.digest, blobs);
    } else {
      await core.meta.addParent(revision, upstream.name, repository, parsed.index.manifests.map((d) => d.digest), manifest.digest);
    }
  }
  verdict = { ...verdict, evaluatedAt: core.now() };
  // Undecided (warn mode serves it) is never stored: the next pull asks again.
  if (verdict.indeterminate !== true) await core.meta.putVerdict(revision, upstream.name, repository, manifest.digest, verdict);
  core.log.info({ upstream: upstream.name, repository, digest: manifest.digest, decision: verdict.decision, rule: verdict.rule }, 'gate verdict');
  return { verdict, cached: false };
}

/**
 * The gate could not read its evidence (an upstream, or the proxy's own store, unavailable for the moment): not a
 * policy decision. Audited as `indeterminate` with the cause, never stored as a verdict, answered 503 so the client
 * retries — naming the store when it was the store, so nobody goes looking at a healthy upstream.
 */
async function undecided(core: ProxyCore, route: UpstreamRoute, reference: string, digest: string, context: RequestContext, reasons: string[], outages: EvaluationOutages): Promise<never> {
  const { upstream, repository } = route;
  core.metrics.verdicts.inc({ decision: 'indeterminate' });
  core.log.warn({ upstream: upstream.name, repository, digest, reasons }, 'gate could not read its evidence; undecided, not cached');
  await core.audit.record({ type: 'verdict', ...contextFields(context), upstream: upstream.name, repository, reference, digest, verdict: 'indeterminate', rule: 'unavailable', reasons, policyRevision: core.gate.revision, mode: core.modeFor(upstream), cached: false });
  const where = outages.storeUnavailable ? ": the tollgate proxy's store is unavailable right now" : ` from upstream ${upstream.name} right now`;
  refuse({ kind: 'indeterminate', digest, reasons, cause: outages.storeUnavailable ? 'store' : 'upstream' }, `tollgate could not read what the policy needs for ${repository}@${digest}${where}; try again`);
}

function contextFields(context: RequestContext): { client?: string; identity?: string } {
  return { ...(context.client !== undefined ? { client: context.client } : {}), identity: context.identity ?? 'anonymous' };
}

/**
 * pinTags: a tag that moved away from the digest it was accepted at is denied until the gate verifies the new
 * digest. Returns the verdict to apply and the digest the tag stays accepted at (undefined: the current one).
 */
function applyTagPin(core: ProxyCore, route: UpstreamRoute, tag: string, resolution: TagResolution, verdict: Verdict): { verdict: Verdict; accepted?: string; move?: TagMove } {
  const before = resolution.previous?.accepted ?? resolution.previous?.digest;
  const digest = resolution.manifest.digest;
  if (before === undefined || before === digest) return { verdict };
  const move: TagMove = { tag, from: before, to: digest };
  if (!core.pinTagsFor(route.upstream) || verdictVerifies(verdict)) {
    // Verified (or not pinning): the tag is accepted at its new digest; enforce still applies the gate's verdict.
    return { verdict, move };
  }
  const reasons = [`tag moved from ${before} to ${digest}`, 'pinTags: a moved tag is served only once the gate verifies the new digest (a signature or an explicit digest pin)', ...verdict.reasons];
  return { verdict: { ...verdict, decision: 'deny', rule: 'pin-tags', reasons, verified: false }, accepted: before, move };
}

/**
 * Resolves a manifest reference to verified bytes and a digest, and has the gate evaluate it before anything is
 * served. A deny is refused as `denied` with the verdict (in warn mode: served, recorded as `warn`); an evaluation
 * that could not read its evidence as `indeterminate` (ServeRefusal: http/ makes them 403 DENIED and 503).
 * Every decision is written to the audit trail.
 */
export async function resolveManifest(core: ProxyCore, route: UpstreamRoute, reference: string, context: RequestContext = {}): Promise<ResolvedManifest> {
  const { upstream, repository } = route;
  const { digest } = checkReference(reference);
  const resolution = digest !== undefined ? undefined : await byTag(core, route, reference);
  const manifest = resolution?.manifest ?? (await byDigest(core, route, digest!));
  const outcome = await verdictFor(core, route, reference, manifest, context);
  let verdict = outcome.verdict;
  let move: TagMove | undefined;
  if (resolution !== undefined) {
    const pinned = applyTagPin(core, route, reference, resolution, verdict);
    verdict = pinned.verdict;
    move = pinned.move;
    // Warn mode never advances a pinned tag: switching to enforce still refuses what was only warned about.
    const accepted = pinned.accepted;
    const previous = resolution.previous;
    if (resolution.fresh || previous === undefined || previous.digest !== manifest.digest || previous.accepted !== accepted) {
      await core.meta.putTag(upstream.name, repository, reference, {
        digest: manifest.digest,
        mediaType: manifest.mediaType,
        resolvedAt: resolution.fresh || previous === undefined ? core.now() : previous.resolvedAt,
        ...(accepted !== undefined ? { accepted } : {}),
      });
    }
  }
  const mode = core.modeFor(upstream);
  if (verdict.decision === 'deny' && mode === 'warn') {
    core.metrics.warned.inc({ upstream: upstream.name });
    verdict = { ...verdict, decision: 'warn', reasons: verdict.reasons.map((r) => `would be denied: ${r}`) };
  }
  await core.audit.record({
    type: 'verdict',
    ...contextFields(context),
    upstream: upstream.name,
    repository,
    reference,
    digest: manifest.digest,
    verdict: verdict.decision,
    ...(verdict.rule !== undefined ? { rule: verdict.rule } : {}),
    reasons: verdict.reasons,
    policyRevision: verdict.policyRevision,
    mode,
    cached: outcome.cached,
    ...(move !== undefined ? { tagMove: move } : {}),
    ...decisionFacts(reference, manifest, verdict),
  });
  if (verdict.decision === 'deny') {
    core.metrics.denied.inc({ reason: verdict.rule === 'pin-tags' ? 'tag-moved' : 'policy' });
    const reasons = verdict.reasons.join('; ');
    refuse({ kind: 'denied', digest: manifest.digest, verdict, ...(move !== undefined ? { move } : {}) }, `denied by tollgate policy${verdict.rule !== undefined ? ` (rule ${verdict.rule})` : ''}: ${reasons}`);
  }
  if (verdict.decision === 'warn') core.log.warn({ upstream: upstream.name, repository, digest: manifest.digest, reasons: verdict.reasons }, 'gate warning; serving');
  return { ...manifest, verdict };
}
