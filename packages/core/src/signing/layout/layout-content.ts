import { createHash } from 'node:crypto';
import { parseDigest } from '../../digest/digest.js';
import type { Image } from '../../image/image.js';
import type { ImageIndex } from '../../image/image-index.js';
import { loadManifest } from '../../image/load-manifest.js';
import type { Descriptor } from '../../image/types.js';
import { OciLayoutSource } from '../../sources/oci-layout/oci-layout-source.js';

/** Blobs and manifests checked at most: an image needing more is refused rather than read without end. */
const MAX_CHECKED = 10_000;

/**
 * What is wrong with the content a layout holds for a signed manifest: every manifest, config and layer reachable
 * from it must be in `blobs/` with the size and digest its parent declares. A registry hands blobs out by digest
 * and every puller checks them; a layout is a copy on a disk that nothing re-checks before it is loaded, so a
 * signature over the manifest vouches for the layout only when these hold too. Empty when all do.
 */
export async function layoutContentProblems(dir: string, subject: Descriptor): Promise<string[]> {
  const source = new OciLayoutSource(dir);
  const problems: string[] = [];
  const seen = new Set<string>();
  const note = (error: unknown) => problems.push(error instanceof Error ? error.message : String(error));
  const walk = async (node: Image | ImageIndex): Promise<void> => {
    const children = node.kind === 'image' ? [node.configDescriptor, ...node.layers] : node.manifests;
    for (const descriptor of children) {
      if (seen.has(descriptor.digest)) continue;
      if (seen.size === MAX_CHECKED) {
        note(`${subject.digest} reaches more than ${MAX_CHECKED} blobs; refusing to check them all`);
        seen.add(descriptor.digest); // past the limit: noted once, then every walk stops here
      }
      if (seen.size > MAX_CHECKED) return;
      seen.add(descriptor.digest);
      try {
        if (node.kind === 'index') await walk(await node.child(descriptor));
        else await checkBlob(source, descriptor);
      } catch (error) {
        note(error);
      }
    }
  };
  try {
    await walk(loadManifest(source, await source.fetchManifest(subject), { descriptor: subject }));
  } catch (error) {
    note(error);
  }
  return problems;
}

/** Streams one blob (the source stops one byte past the declared size) and compares its size and digest. */
async function checkBlob(source: OciLayoutSource, descriptor: Descriptor): Promise<void> {
  const expected = parseDigest(descriptor.digest, 'blob digest');
  const hash = createHash(expected.algorithm);
  let size = 0;
  for await (const chunk of await source.openBlob(descriptor)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  if (size !== descriptor.size) throw new Error(`blob ${descriptor.digest} in ${dirOf(source)} is ${size > descriptor.size ? 'longer' : 'shorter'} than the ${descriptor.size} bytes its manifest declares; the layout was altered`);
  const actual = `${expected.algorithm}:${hash.digest('hex')}`;
  if (actual !== expected.value) throw new Error(`blob ${descriptor.digest} in ${dirOf(source)} digests to ${actual}; the layout was altered`);
}

function dirOf(source: OciLayoutSource): string {
  return `OCI layout ${source.dir}`;
}
