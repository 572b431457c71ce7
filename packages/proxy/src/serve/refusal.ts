import type { TagMove } from '../audit/event.js';
import type { Verdict } from '../gate/types.js';

/**
 * Why the serving path does not serve something, as data: http/ decides the status, the OCI code and the body
 * (http/refusal-response.ts), the webhook its own answer. `message` is the sentence for the person who asked.
 */
export type Refusal =
  /** A digest in the request is not a digest. */
  | { kind: 'invalid-digest' }
  /** A manifest reference that is neither a tag nor a digest. */
  | { kind: 'unknown-reference' }
  /** The policy decided against the manifest on the evidence (or pinTags held a moved tag). */
  | { kind: 'denied'; digest: string; verdict: Verdict; move?: TagMove }
  /** The gate failed (not an outage): nothing is served, fail closed. */
  | { kind: 'gate-error'; digest: string; reason: string }
  /** The gate could not read its evidence for now: no decision, nothing cached; the client retries. */
  | { kind: 'indeterminate'; digest: string; reasons: string[]; cause: 'upstream' | 'store' }
  /** No admitted manifest of this repository references the blob (or the one that did is now denied). */
  | { kind: 'blob-not-admitted'; reason: string }
  /** The blob's stored or in-flight size disagrees with the admitting manifest. */
  | { kind: 'blob-size-conflict' }
  /** The blob kept changing under us (committed, then gone) while it was being opened. */
  | { kind: 'blob-busy' };

/** Thrown by serve/ when it refuses; carries the typed refusal. */
export class ServeRefusal extends Error {
  constructor(
    readonly refusal: Refusal,
    message: string,
  ) {
    super(message);
    this.name = 'ServeRefusal';
  }
}

export function refuse(refusal: Refusal, message: string): never {
  throw new ServeRefusal(refusal, message);
}

/** A refusal that is the policy's (a deny, or a gate that failed closed) rather than an outage or a bad request. */
export function isPolicyRefusal(error: unknown): error is ServeRefusal {
  return error instanceof ServeRefusal && (error.refusal.kind === 'denied' || error.refusal.kind === 'gate-error');
}
