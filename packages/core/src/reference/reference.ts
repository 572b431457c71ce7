import { parseDigest } from '../digest/digest.js';
import { TollgateError } from '../errors/tollgate-error.js';
import { checkReferenceText, DOMAIN_AND_PORT, IDENTIFIER, NAME_TOTAL_LENGTH_MAX, PATH_COMPONENT, shown, TAG } from './grammar.js';

import { DOCKER_HUB, DOCKER_HUB_ALIASES } from './docker-hub.js';

export { DOCKER_HUB } from './docker-hub.js';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';

/** An image reference, normalised exactly as Docker's `reference.ParseNormalizedNamed` (plus a lowercase host). */
export interface ImageReference {
  /**
   * `docker.io` for Docker Hub (index.docker.io and registry-1.docker.io are folded into it); `host[:port]`
   * otherwise, host lowercased — except a dotless, portless host such as `Foo` (a registry only because of its
   * capitals, per Docker), which keeps its case so that it still reads back as a registry.
   */
  readonly registry: string;
  /** The repository path, e.g. `library/nginx` for `nginx`. */
  readonly repository: string;
  /** The tag; `latest` when neither tag nor digest was given. Informational only when a digest is present. */
  readonly tag?: string;
  /** The digest; when present it is what the reference means. */
  readonly digest?: string;
  /** `registry/repository`. */
  readonly name: string;
  /** The fully normalised form: `docker.io/library/nginx:latest`, `host:5000/a/b@sha256:…`, `repo:tag@digest`. */
  toString(): string;
  /**
   * Docker's short form: `nginx:latest`, `user/app:1`, `host:5000/a/b@sha256:…`. Where Docker's short form would
   * read back as another registry (a Docker Hub namespace with a dot, `docker.io/a.b/c`), the `docker.io/` stays.
   */
  familiar(): string;
  /** The digest, if the reference pins one. */
  pinned(): string | undefined;
}

class NormalizedReference implements ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly name: string;

  constructor(registry: string, repository: string, tag: string | undefined, digest: string | undefined) {
    this.registry = registry;
    this.repository = repository;
    if (tag !== undefined) this.tag = tag;
    if (digest !== undefined) this.digest = digest;
    this.name = `${registry}/${repository}`;
  }

  toString(): string {
    return this.name + this.suffix();
  }

  familiar(): string {
    let name = this.name;
    if (this.registry === DOCKER_HUB) {
      const rest = this.repository.startsWith(OFFICIAL_PREFIX) ? this.repository.slice(OFFICIAL_PREFIX.length) : undefined;
      const short = rest !== undefined && !rest.includes('/') ? rest : this.repository;
      // Unlike Docker, keep `docker.io/` when the short form would read back as another registry (`docker.io/a.b/c`).
      const first = short.split('/', 1)[0]!;
      if (!(short.includes('/') && (first.includes('.') || first === 'localhost'))) name = short;
    }
    return name + this.suffix();
  }

  pinned(): string | undefined {
    return this.digest;
  }

  private suffix(): string {
    return (this.tag !== undefined ? `:${this.tag}` : '') + (this.digest !== undefined ? `@${this.digest}` : '');
  }
}

/**
 * Parses an image reference (`nginx`, `user/app:1`, `host:5000/a/b@sha256:…`) the way Docker does
 * (distribution/reference `ParseNormalizedNamed`): the first path component is a registry when it contains `.` or
 * `:`, is `localhost`, or has an upper-case letter; otherwise the image is on Docker Hub, where one-component names
 * live under `library/`. Registry hosts are lowercased and Docker Hub's aliases folded into `docker.io`. Digests
 * must be sha256/sha512 in lowercase hex of the exact length.
 */
export function parseReference(input: string): ImageReference {
  const text = checkReferenceText(input, 'image reference');
  const fail = (why: string): never => {
    throw new TollgateError('INVALID_REFERENCE', `invalid image reference ${shown(text)}: ${why}`);
  };
  if (IDENTIFIER.test(text)) {
    fail('a 64-character hex string is taken for an image ID, not a repository name; pin a digest as "name@sha256:<hex>"');
  }

  let namePart = text;
  let digest: string | undefined;
  const at = text.indexOf('@');
  if (at >= 0) {
    namePart = text.slice(0, at);
    try {
      digest = parseDigest(text.slice(at + 1), 'digest').value;
    } catch (error) {
      fail(`the digest after "@" is wrong: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  let tag: string | undefined;
  const colon = namePart.lastIndexOf(':');
  if (colon > namePart.lastIndexOf('/')) {
    tag = namePart.slice(colon + 1);
    namePart = namePart.slice(0, colon);
    if (tag === '') fail('empty tag after ":"; remove the ":" or name a tag');
    if (!TAG.test(tag)) {
      fail(`tag ${shown(tag, 40)} is invalid: a tag is 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
    }
  }
  if (namePart === '') fail('no repository name; expected e.g. "nginx" or "registry.example.com/team/app"');

  let registry = DOCKER_HUB;
  let repository = namePart;
  const slash = namePart.indexOf('/');
  if (slash >= 0) {
    const first = namePart.slice(0, slash);
    if (first === 'localhost' || /[.:]/.test(first) || first !== first.toLowerCase()) {
      if (!DOMAIN_AND_PORT.test(first)) {
        fail(`registry ${shown(first, 80)} is not a valid host[:port] (letters, digits, "-" and "." in a host name, or an IPv6 address in brackets, then an optional numeric port)`);
      }
      // Hosts are case-insensitive, so they are lowercased, except a dotless, portless name that is a registry
      // only because of its capitals (Docker's rule): lowercased, it would read back as a Docker Hub namespace.
      registry = /[.:]/.test(first) || first.toLowerCase() === 'localhost' ? first.toLowerCase() : first;
      if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
      repository = namePart.slice(slash + 1);
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = OFFICIAL_PREFIX + repository;

  if (repository !== repository.toLowerCase()) {
    fail(`repository names must be lowercase, got ${shown(repository, 80)}`);
  }
  for (const component of repository.split('/')) {
    if (component === '') fail(`repository ${shown(repository, 80)} has an empty path component; check for "//" or a leading or trailing "/"`);
    if (!PATH_COMPONENT.test(component)) {
      fail(`repository path component ${shown(component, 80)} is invalid: use lowercase letters and digits, joined by ".", "_", "__" or "-", never at the start or end`);
    }
  }
  const name = `${registry}/${repository}`;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    fail(`the name ${shown(name, 60)} is ${name.length} characters long; Docker allows at most ${NAME_TOTAL_LENGTH_MAX}`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return new NormalizedReference(registry, repository, tag, digest);
}

/** The same repository pinned to `digest` (the tag, if any, is kept as information). */
export function referenceWithDigest(reference: ImageReference, digest: string): ImageReference {
  const parsed = parseDigest(digest, 'digest');
  return new NormalizedReference(reference.registry, reference.repository, reference.tag, parsed.value);
}
