import type { VerdictEvidence } from '../gate/evidence.js';

/** A tag seen resolving to a new digest: `from` is the digest it was accepted at, `to` what it resolves to now. */
export interface TagMove {
  tag: string;
  from: string;
  to: string;
}

/**
 * One audit event. `verdict` events are written once per manifest decision (served or refused, from a cached verdict
 * or a fresh one); `tag-mutation`, `blob-integrity` and `access` events record what they name; `admission` events are
 * the Kubernetes webhook's decisions (one per AdmissionReview, see webhook/admission-audit.ts). Never a credential:
 * `identity` is a user name (or `anonymous`).
 */
export interface AuditEvent {
  type: 'verdict' | 'tag-mutation' | 'blob-integrity' | 'stale-served' | 'access' | 'admission';
  /** Milliseconds since the epoch (the store's sort key). */
  at: number;
  /** The same instant as RFC 3339. */
  time?: string;
  /** The client's address. */
  client?: string;
  /** The authenticated user name, or `anonymous`. */
  identity?: string;
  upstream?: string;
  repository?: string;
  reference?: string;
  digest?: string;
  /** `indeterminate`: the evidence could not be read (upstream unavailable); refused with 503, nothing cached. */
  verdict?: 'allow' | 'deny' | 'warn' | 'indeterminate';
  rule?: string;
  reasons?: string[];
  policyRevision?: string;
  /** The enforcement mode the decision was made in. */
  mode?: 'enforce' | 'warn';
  /** The verdict came from the verdict cache (the gate was not asked again). */
  cached?: boolean;
  tagMove?: TagMove;
  /** Verdict events: the tag the client asked for (absent when it asked by digest). */
  tag?: string;
  /** Verdict events: the manifest's annotations as the upstream sent them (bounded; escape before display). */
  annotations?: Record<string, string>;
  /** Verdict events: every finding with pass/fail, signatures and attestations found (gate/evidence.ts, bounded). */
  evidence?: VerdictEvidence;
  [key: string]: unknown;
}

/** What `tollgate audit` and the stores filter on. */
export interface AuditQuery {
  /** Only events at or after this time (ms since the epoch). */
  since?: number;
  /** Only events at or before this time (ms since the epoch). */
  until?: number;
  /** Only events for images matching this glob over `<upstream>/<repository>` (also matched against `<repository>`; admission events by each of their images). */
  image?: string;
  verdict?: 'allow' | 'deny' | 'warn' | 'indeterminate';
  /** At most this many events (the newest); default 1000. */
  limit?: number;
}
