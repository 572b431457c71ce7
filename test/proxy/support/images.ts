import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pushOciLayout, type RegistryCredentials } from '../../support/registry.js';
import { buildUmociImage } from '../../support/umoci.js';

/** Builds a one-layer image with umoci holding `files` (path → content) and pushes it to `host/repoAndTag`. */
export async function pushTestImage(host: string, repoAndTag: string, files: Record<string, string | Buffer>, creds?: RegistryCredentials): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-image-'));
  try {
    const layout = join(work, 'layout');
    await buildUmociImage(layout, 'img', [
      async (rootfs) => {
        for (const [path, content] of Object.entries(files)) {
          await mkdir(dirname(join(rootfs, path)), { recursive: true });
          await writeFile(join(rootfs, path), content);
        }
      },
    ]);
    await pushOciLayout(layout, 'img', host, repoAndTag, creds);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Incompressible bytes, so a layer has a real size on the wire. */
export function noise(bytes: number): Buffer {
  return randomBytes(bytes);
}

/** The manifest digest skopeo recorded in an OCI layout it wrote. */
export async function layoutDigest(layoutDir: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return index.manifests[0]!.digest;
}

/** GET a registry URL with fetch and read everything; a broken body comes back as `error`. */
export async function fetchAll(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Buffer; error?: unknown }> {
  const response = await fetch(url, init);
  const chunks: Buffer[] = [];
  try {
    if (response.body) for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
    return { status: response.status, headers: response.headers, body: Buffer.concat(chunks) };
  } catch (error) {
    return { status: response.status, headers: response.headers, body: Buffer.concat(chunks), error };
  }
}

/** Accept header for manifests (what docker and containerd send). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');
