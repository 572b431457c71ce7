import type { InTotoStatement } from '../../sigstore/in-toto-statement.js';
import { isObject } from '../simple-signing.js';

/** The `-a key=value` pairs missing from (or different in) `signed`; empty when all are there. */
export function missingAnnotations(wanted: Record<string, string> | undefined, signed: unknown): string[] {
  if (!wanted) return [];
  const have = isObject(signed) ? signed : {};
  return Object.entries(wanted)
    .filter(([key, value]) => have[key] !== value)
    .map(([key, value]) => `${key}=${value}`);
}

/** The annotations of the statement subject that names `digest` (cosign v3 puts `-a` pairs there). */
export function subjectAnnotations(statement: InTotoStatement, digest: string): unknown {
  const hex = digest.slice(digest.indexOf(':') + 1);
  const subject = statement.subject.find((s) => s.digest.sha256?.toLowerCase() === hex);
  return (subject as { annotations?: unknown } | undefined)?.annotations;
}
