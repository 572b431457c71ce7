import { parseDigest } from '../digest/digest.js';
import { NAME_TOTAL_LENGTH_MAX, PATH_COMPONENT, TAG } from '../reference/grammar.js';
import { registryError, type RequestContext } from './errors.js';

/**
 * Repository names, tags and digests become URL path segments, so they are checked against the distribution
 * grammar before any request is built: nothing a caller passes can change the path or add a query.
 */
export function checkRepository(repository: string, context: RequestContext): void {
  const ok =
    typeof repository === 'string' &&
    repository.length > 0 &&
    repository.length <= NAME_TOTAL_LENGTH_MAX &&
    repository.split('/').every((part) => PATH_COMPONENT.test(part));
  if (!ok) {
    throw registryError('INVALID_REFERENCE', { ...context, repository: JSON.stringify(String(repository).slice(0, 100)), reference: undefined }, 'the repository name is not valid (lowercase letters, digits and separators . _ __ - /)');
  }
}

/** A tag or a digest; returns whether it is a digest. */
export function checkReference(reference: string, context: RequestContext): boolean {
  if (typeof reference === 'string' && reference.includes(':')) {
    try {
      parseDigest(reference);
    } catch (error) {
      throw registryError('INVALID_DIGEST', { ...context, reference: undefined }, (error as Error).message);
    }
    return true;
  }
  if (typeof reference !== 'string' || !TAG.test(reference)) {
    throw registryError('INVALID_REFERENCE', { ...context, reference: undefined }, `${JSON.stringify(String(reference).slice(0, 130))} is neither a tag nor a digest`);
  }
  return false;
}

export function checkDigest(digest: string, context: RequestContext): void {
  try {
    parseDigest(digest);
  } catch (error) {
    throw registryError('INVALID_DIGEST', { ...context, reference: undefined }, (error as Error).message);
  }
}
