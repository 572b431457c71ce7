import type { FastifyRequest } from 'fastify';
import type { V2Target } from '../routing/parse-path.js';
import type { ProxyCore } from '../serve/proxy-core.js';

/** One event per image and reference this often at most: an outage must not flood the trail out of its cap. */
const EVERY_MS = 10_000;
/** Images remembered at most (a burst of distinct names during an outage cannot grow memory). */
const MAX_REMEMBERED = 1_000;

const lastRecorded = new WeakMap<ProxyCore, Map<string, number>>();

/**
 * Audits a pull refused because the proxy's own store (Redis, S3) could not be reached: `verdict: indeterminate`,
 * rule `store-unavailable`. Written only if the audit's own store still answers (an S3 outage with Redis up); a
 * Redis outage is in the log and the metrics instead.
 */
export function auditStoreOutage(core: ProxyCore, request: FastifyRequest, target: V2Target, error: Error): void {
  if (target.kind !== 'manifest' && target.kind !== 'blob') return;
  const reference = target.kind === 'manifest' ? target.reference : target.digest;
  const key = JSON.stringify([target.name, reference]);
  let seen = lastRecorded.get(core);
  if (seen === undefined) lastRecorded.set(core, (seen = new Map()));
  const now = core.now();
  const last = seen.get(key);
  if (last !== undefined && now - last < EVERY_MS) return;
  if (seen.size >= MAX_REMEMBERED) seen.clear();
  seen.set(key, now);
  core.track(
    core.audit.record({
      type: 'access',
      client: request.ip,
      identity: request.tollgateIdentity ?? 'anonymous',
      repository: target.name.slice(0, 256),
      reference: reference.slice(0, 256),
      ...(target.kind === 'blob' ? { digest: target.digest.slice(0, 100) } : {}),
      verdict: 'indeterminate',
      rule: 'store-unavailable',
      reasons: [error.message.slice(0, 300)],
    }),
  );
}
