import { parseDigest, parseManifest } from '@tollgate/core';
import type { Verdict } from '../gate/types.js';
import { isUpstreamUnavailable, OciError } from '../http/oci-error.js';
import type { UpstreamRoute } from '../routing/select-upstream.js';
import type { UpstreamManifest } from '../upstream/types.js';
import type { ProxyCore } from './proxy-core.js';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ResolvedManifest extends UpstreamManifest {
  verdict: Verdict;
}

/** Validates a manifest reference: a digest (DIGEST_INVALID when malformed) or a tag. */
export function checkReference(reference: string): { digest?: string } {
  if (reference.includes(':')) {
    try {
      return { digest: parseDigest(reference).value };
    } catch (error) {
      throw new OciError(400, 'DIGEST_INVALID', (error as Error).message.slice(0, 300));
    }
  }
  if (!TAG.test(reference)) throw new OciError(404, 'MANIFEST_UNKNOWN', 'manifest unknown: the reference is neither a valid tag nor a digest');
  return {};
}

async function fetchManifest(core: ProxyCore, route: UpstreamRoute, reference: string): Promise<UpstreamManifest> {
  const { upstream, repository } = route;
  const manifest = await core.manifestFlights.run(JSON.stringify([upstream.name, repository, reference]), () =>
    core.upstreamCall(upstream, 'manifest', () => upstream.getManifest(repository, reference)),
  );
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

async function byTag(core: ProxyCore, route: UpstreamRoute, tag: string): Promise<UpstreamManifest> {
  const { upstream, repository } = route;
  const entry = await core.meta.getTag(upstream.name, repository, tag);
  const now = Date.now();
  if (entry !== undefined && now - entry.resolvedAt < core.config.cache.tagTtlSeconds * 1000) {
    const cached = await core.meta.getManifest(upstream.name, repository, entry.digest);
    if (cached !== undefined) {
      core.metrics.cache.inc({ kind: 'tag', result: 'hit' });
      return { ...cached, digest: entry.digest };
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
        return { ...cached, digest: entry.digest };
      }
    }
    throw error;
  }
  core.metrics.cache.inc({ kind: 'tag', result: 'miss' });
  if (entry !== undefined && entry.digest !== fresh.digest) {
    core.metrics.tagMutations.inc({ upstream: upstream.name });
    core.log.warn({ upstream: upstream.name, repository, tag, old: entry.digest, new: fresh.digest }, 'tag mutated');
    await core.meta.audit({ type: 'tag-mutation', upstream: upstream.name, repository, tag, oldDigest: entry.digest, newDigest: fresh.digest });
  }
  await core.meta.putTag(upstream.name, repository, tag, { digest: fresh.digest, mediaType: fresh.mediaType, resolvedAt: now });
  return fresh;
}

/** Asks the gate (or its cached verdict for this policy revision) and records what an admitted manifest admits. */
async function verdictFor(core: ProxyCore, route: UpstreamRoute, reference: string, manifest: UpstreamManifest): Promise<Verdict> {
  const { upstream, repository } = route;
  const revision = core.gate.revision;
  const cached = await core.meta.getVerdict(revision, upstream.name, repository, manifest.digest);
  if (cached !== undefined) return cached;
  const parents = await core.meta.getParents(revision, upstream.name, repository, manifest.digest);
  let verdict: Verdict;
  try {
    verdict = await core.gate.evaluate({
      upstream: upstream.name,
      repository,
      reference,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      manifest: manifest.bytes,
      source: upstream.source(repository),
      ...(parents.length > 0 ? { parents } : {}),
    });
  } catch (error) {
    core.metrics.verdicts.inc({ decision: 'error' });
    core.log.error({ upstream: upstream.name, repository, digest: manifest.digest, err: error }, 'gate evaluation failed; failing closed');
    throw new OciError(403, 'DENIED', `tollgate could not evaluate the policy for ${repository}@${manifest.digest}; refusing it (fail closed)`, {
      digest: manifest.digest,
      reason: error instanceof Error ? error.message.slice(0, 300) : 'gate error',
    });
  }
  core.metrics.verdicts.inc({ decision: verdict.decision });
  if (verdict.decision !== 'deny') {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType, 'manifest');
    if (parsed.kind === 'image') {
      const blobs = [parsed.manifest.config, ...parsed.manifest.layers].map((d) => ({ digest: d.digest, size: d.size }));
      await core.meta.admitBlobs(revision, upstream.name, repository, manifest.digest, blobs);
    } else {
      await core.meta.addParent(revision, upstream.name, repository, parsed.index.manifests.map((d) => d.digest), manifest.digest);
    }
  }
  await core.meta.putVerdict(revision, upstream.name, repository, manifest.digest, verdict);
  await core.meta.audit({ type: 'verdict', upstream: upstream.name, repository, reference, digest: manifest.digest, decision: verdict.decision, rule: verdict.rule, reasons: verdict.reasons, policyRevision: verdict.policyRevision });
  core.log.info({ upstream: upstream.name, repository, digest: manifest.digest, decision: verdict.decision, rule: verdict.rule }, 'gate verdict');
  return verdict;
}

/**
 * Resolves a manifest reference to verified bytes and a digest, and has the gate evaluate it before anything is
 * served. A deny becomes DENIED with the rule and reasons in `detail`.
 */
export async function resolveManifest(core: ProxyCore, route: UpstreamRoute, reference: string): Promise<ResolvedManifest> {
  const { digest } = checkReference(reference);
  const manifest = digest !== undefined ? await byDigest(core, route, digest) : await byTag(core, route, reference);
  const verdict = await verdictFor(core, route, reference, manifest);
  if (verdict.decision === 'deny') {
    core.metrics.denied.inc({ reason: 'policy' });
    const reasons = verdict.reasons.join('; ');
    throw new OciError(403, 'DENIED', `denied by tollgate policy${verdict.rule !== undefined ? ` (rule ${verdict.rule})` : ''}: ${reasons}`, {
      digest: manifest.digest,
      rule: verdict.rule,
      reasons: verdict.reasons,
      policyRevision: verdict.policyRevision,
    });
  }
  if (verdict.decision === 'warn') core.log.warn({ upstream: route.upstream.name, repository: route.repository, digest: manifest.digest, reasons: verdict.reasons }, 'gate warning; serving');
  return { ...manifest, verdict };
}

