import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType, OciLayoutWriter } from '../../packages/core/src/index.js';

/** Runs a bash command with pipefail and returns its stdout; throws with stderr when it fails. */
export function sh(command: string): string {
  const result = spawnSync('bash', ['-c', `set -o pipefail; ${command}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}\n${result.stderr}`);
  return result.stdout;
}

export interface GzipLayer {
  /** The gzip blob. */
  gz: string;
  /** sha256 of the uncompressed tar, as the real tools compute it. */
  diffID: string;
  tarBytes: number;
}

/**
 * A gzip layer made by the real tools from `tarCommand`'s output, built once under `work` and reused: the tar is
 * written to disk, hashed with sha256sum, measured, gzipped (-6) and removed, so the recorded diffID is exactly
 * what `gzip -dc | sha256sum` would say.
 */
export function makeGzipLayer(work: string, name: string, tarCommand: string): GzipLayer {
  const gz = join(work, `${name}.tar.gz`);
  const meta = `${gz}.meta`;
  if (!existsSync(gz) || !existsSync(meta)) {
    console.error(`building layer ${name} …`);
    const tar = join(work, `${name}.tar.tmp`);
    sh(`${tarCommand} > '${tar}'`);
    const sha = sh(`sha256sum '${tar}'`).split(' ')[0];
    const size = sh(`stat -c %s '${tar}'`).trim();
    sh(`gzip -6 -c '${tar}' > '${gz}.tmp' && rm '${tar}' && mv '${gz}.tmp' '${gz}'`);
    sh(`printf '%s %s\\n' '${sha}' '${size}' > '${meta}.tmp' && mv '${meta}.tmp' '${meta}'`);
  }
  const [sha, size] = readFileSync(meta, 'utf8').trim().split(/\s+/);
  return { gz, diffID: `sha256:${sha}`, tarBytes: Number(size) };
}

/**
 * An OCI layout `<work>/<name>-layout` holding one image (tag `v1`) made of the given gzip layers, built once and
 * reused; returns its `oci:` reference.
 */
export async function makeLayoutImage(work: string, name: string, layers: readonly GzipLayer[]): Promise<string> {
  const dir = join(work, `${name}-layout`);
  if (existsSync(join(dir, 'index.json'))) return `oci:${dir}:v1`;
  const writer = await OciLayoutWriter.create(dir);
  const descriptors = [];
  for (const layer of layers) {
    const blob = await writer.writeBlob(createReadStream(layer.gz, { highWaterMark: 1 << 20 }));
    descriptors.push({ mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
      history: layers.map((_, i) => ({ created_by: `bench layer ${i}` })),
    }),
  );
  const configBlob = await writer.writeBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
      layers: descriptors,
    }),
  );
  await writer.writeManifest(manifest, MediaType.OciManifest, 'v1');
  return `oci:${dir}:v1`;
}
