/** What a `/v2/…` request path asks for. */
export type V2Target =
  | { kind: 'ping' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload'; name: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'invalid-name'; name: string }
  | { kind: 'unknown' };

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const MAX_NAME_LENGTH = 255;

/** A repository name in the distribution grammar (lowercase path components, at most 255 characters). */
export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && name.split('/').every((c) => COMPONENT.test(c));
}

/**
 * Parses the path of a `/v2/` request (without its query). The name is everything before the last
 * `/manifests/`, `/blobs/`, `/tags/list` or `/referrers/`; references and digests are returned raw for the
 * route to validate (so it can answer DIGEST_INVALID rather than 404).
 */
export function parseV2Path(path: string): V2Target {
  if (path === '/v2/' || path === '/v2') return { kind: 'ping' };
  if (!path.startsWith('/v2/') || path.length > 2048) return { kind: 'unknown' };
  const rest = path.slice(4);
  const match =
    /^(.+)\/(manifests)\/([^/]+)$/.exec(rest) ??
    /^(.+)\/(blobs)\/uploads(?:\/.*)?$/.exec(rest) ??
    /^(.+)\/(blobs)\/([^/]+)$/.exec(rest) ??
    /^(.+)\/(tags)\/list$/.exec(rest) ??
    /^(.+)\/(referrers)\/([^/]+)$/.exec(rest);
  if (!match) return { kind: 'unknown' };
  const name = match[1]!;
  const kind = match[2]!;
  const value = match[3];
  if (kind === 'blobs' && value === undefined) return isRepositoryName(name) ? { kind: 'upload', name } : { kind: 'invalid-name', name };
  if (!isRepositoryName(name)) return { kind: 'invalid-name', name };
  switch (kind) {
    case 'manifests':
      return { kind: 'manifest', name, reference: value! };
    case 'blobs':
      return { kind: 'blob', name, digest: value! };
    case 'tags':
      return { kind: 'tags', name };
    default:
      return { kind: 'referrers', name, digest: value! };
  }
}
