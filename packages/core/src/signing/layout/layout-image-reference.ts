import { parseDigest } from '../../digest/digest.js';
import { TollgateError } from '../../errors/tollgate-error.js';
import { shown } from '../../reference/grammar.js';
import { parseTransportReference } from '../../reference/transport.js';

/** An image in an OCI layout as sign and verify name it: `oci:<dir>`, `oci:<dir>:<tag>` or `oci:<dir>@<digest>`. */
export interface LayoutImageReference {
  dir: string;
  tag?: string;
  digest?: string;
}

// The digest form is ours (skopeo's oci: has none): a manifest pinned like a registry's `repo@sha256:…`.
const PINNED = /@((?:sha256:[0-9a-f]{64})|(?:sha512:[0-9a-f]{128}))$/;

/** Parses `oci:<dir>[:<tag>|@<digest>]`; the directory is taken as written (relative to the working directory). */
export function parseLayoutImageReference(text: string): LayoutImageReference {
  if (!text.startsWith('oci:')) throw new TollgateError('INVALID_REFERENCE', `image location ${shown(text)} is not an OCI layout; write oci:<dir>[:<tag>|@<digest>]`);
  const pinned = PINNED.exec(text);
  if (pinned) {
    const dir = text.slice('oci:'.length, pinned.index);
    if (dir === '') throw new TollgateError('INVALID_REFERENCE', `image location ${shown(text)} names no directory before the digest; write oci:<dir>@<digest>`);
    return { dir, digest: parseDigest(pinned[1]!, 'image digest').value };
  }
  const parsed = parseTransportReference(text);
  if (parsed.transport !== 'oci') throw new TollgateError('INVALID_REFERENCE', `image location ${shown(text)} is not an OCI layout`);
  return { dir: parsed.dir, ...(parsed.tag !== undefined ? { tag: parsed.tag } : {}) };
}

export function formatLayoutImageReference(reference: LayoutImageReference): string {
  if (reference.digest !== undefined) return `oci:${reference.dir}@${reference.digest}`;
  return `oci:${reference.dir}${reference.tag !== undefined ? `:${reference.tag}` : ''}`;
}
