import { TollgateError } from '../errors/tollgate-error.js';
import { checkReferenceText, shown } from './grammar.js';
import { parseReference, type ImageReference } from './reference.js';

/** Where an image comes from, in skopeo's vocabulary. */
export type TransportReference =
  | { transport: 'docker'; reference: ImageReference }
  | { transport: 'oci'; dir: string; tag?: string }
  | { transport: 'docker-archive'; path: string; reference?: string };

const SUPPORTED = 'docker://<reference>, oci:<dir>[:<tag>], docker-archive:<file>[:<name:tag>|:@<index>]';

/** Transports of containers/image (skopeo) that tollgate does not read: named so the error can say so. */
const OTHER_TRANSPORTS = new Set([
  'containers-storage',
  'dir',
  'docker-daemon',
  'oci-archive',
  'ostree',
  'sif',
  'tarball',
]);

/** An OCI layout ref name (`org.opencontainers.image.ref.name`), minus `/` (and `:`, which split it off). */
const OCI_REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._@+]|--)[A-Za-z0-9]+)*$/;

function fail(message: string): never {
  throw new TollgateError('INVALID_REFERENCE', message);
}

/**
 * Parses a skopeo-style image location: `[docker://]host/repo[:tag][@digest]`, `oci:<dir>[:<tag>]` or
 * `docker-archive:<file>[:<name:tag>|:@<index>]`. Text without a transport prefix is a Docker reference, so
 * `localhost:5000/app` names a registry, not a transport.
 */
export function parseTransportReference(input: string): TransportReference {
  const text = checkReferenceText(input, 'image location', { allowSpaces: true });
  if (text.startsWith('docker://')) {
    return { transport: 'docker', reference: parseReference(text.slice('docker://'.length)) };
  }
  if (text.startsWith('oci:')) return parseOci(text.slice('oci:'.length));
  if (text.startsWith('docker-archive:')) return parseDockerArchive(text.slice('docker-archive:'.length));

  const prefix = /^([a-z][a-z0-9+.-]*):/.exec(text)?.[1];
  if (prefix === 'docker') fail(`image location ${shown(text)}: write the docker transport as "docker://" followed by the reference`);
  if (prefix === 'http' || prefix === 'https') {
    fail(`image location ${shown(text)}: a registry reference has no URL scheme; write "host[:port]/repository[:tag]" (plain-HTTP registries are chosen with --allow-insecure-registry)`);
  }
  // `dir:5000/app` is a registry with a port and `sif:2` an image with a tag: a digit after the colon means Docker.
  const digitNext = prefix !== undefined && /^[0-9]/.test(text.slice(prefix.length + 1));
  if (prefix !== undefined && OTHER_TRANSPORTS.has(prefix) && !digitNext) {
    fail(`image location ${shown(text)}: the "${prefix}:" transport is not supported; use one of ${SUPPORTED}`);
  }
  try {
    return { transport: 'docker', reference: parseReference(text) };
  } catch (error) {
    // `word:` followed by something that is not a port or a tag looks like a transport we do not know.
    if (error instanceof TollgateError && prefix !== undefined && !digitNext) {
      fail(`${error.message}; if "${prefix}:" is meant as a transport, the supported ones are ${SUPPORTED}`);
    }
    throw error;
  }
}

function parseOci(rest: string): TransportReference {
  if (rest === '') fail('image location "oci:" names no directory; write oci:<dir>[:<tag>]');
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const tag = rest.slice(colon + 1);
    const dir = rest.slice(0, colon);
    if (tag === '') fail(`image location ${shown(`oci:${rest}`)} ends with ":" but names no tag; remove the ":" or add a tag`);
    if (!tag.includes('/') && OCI_REF_NAME.test(tag)) {
      if (dir === '') fail(`image location ${shown(`oci:${rest}`)} names no directory before the tag; write oci:<dir>:<tag>`);
      return { transport: 'oci', dir, tag };
    }
  }
  return { transport: 'oci', dir: rest };
}

function parseDockerArchive(rest: string): TransportReference {
  // Like containers/image: the path ends at the first ':'; what follows names one image in the archive.
  const colon = rest.indexOf(':');
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const location = shown(`docker-archive:${rest}`);
  if (path === '') fail(`image location ${location} names no file; write docker-archive:<file>[:<name:tag>|:@<index>]`);
  if (colon < 0) return { transport: 'docker-archive', path };
  const reference = rest.slice(colon + 1);
  if (reference.startsWith('@')) {
    const index = reference.slice(1);
    if (!/^(?:0|[1-9][0-9]{0,8})$/.test(index)) {
      fail(`image location ${location}: ${shown(reference)} is not an image index; write ":@" followed by a number such as ":@0"`);
    }
    return { transport: 'docker-archive', path, reference };
  }
  const parsed = parseReference(reference);
  if (parsed.digest !== undefined) {
    fail(`image location ${location}: an image in a docker archive is named by name:tag, not by digest`);
  }
  if (!/:[^/]*$/.test(reference)) {
    fail(`image location ${location}: ${shown(reference)} has no tag; name the image as name:tag or pick it by index with ":@<index>"`);
  }
  return { transport: 'docker-archive', path, reference };
}

/** Writes a transport reference back in skopeo's syntax. */
export function formatTransportReference(t: TransportReference): string {
  switch (t.transport) {
    case 'docker':
      return `docker://${t.reference.toString()}`;
    case 'oci':
      return `oci:${t.dir}${t.tag !== undefined ? `:${t.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${t.path}${t.reference !== undefined ? `:${t.reference}` : ''}`;
  }
}
