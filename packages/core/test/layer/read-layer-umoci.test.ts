import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerCompression, mapConcurrent, type Descriptor, type FileEntry } from '@tollgate/core';
import { makeTempDir, readFileLayer, sh, sha256File } from './support/layer-tools.js';

/** Real OCI layers written by umoci (an independent implementation), checked against its manifest and config. */
let dir: string;
let cleanup: () => Promise<void>;
let layers: Descriptor[];
let diffIDs: string[];

function blobPath(digest: string): string {
  return join(dir, 'img/blobs', digest.replace(':', '/'));
}

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('umoci'));
  const run = (cmd: string) => sh(cmd, dir);
  run('umoci init --layout img && umoci new --image img:t');
  // Layer 1: files, a symlink, a setuid binary, a hardlink.
  run('umoci unpack --rootless --image img:t bundle');
  run(
    [
      'mkdir -p bundle/rootfs/etc/app bundle/rootfs/usr/bin bundle/rootfs/opt/keep',
      "printf 'one\\n' > bundle/rootfs/etc/app/one.conf && printf 'two\\n' > bundle/rootfs/etc/app/two.conf",
      'head -c 200000 /dev/urandom > bundle/rootfs/usr/bin/tool && chmod 4755 bundle/rootfs/usr/bin/tool',
      'ln -s tool bundle/rootfs/usr/bin/tool-link && ln bundle/rootfs/usr/bin/tool bundle/rootfs/usr/bin/tool-hard',
      "printf 'kept\\n' > bundle/rootfs/opt/keep/a",
    ].join(' && '),
  );
  run('umoci repack --image img:t bundle && rm -rf bundle');
  // Layer 2: a deletion (whiteout) and a directory emptied and refilled (opaque or per-file whiteouts).
  run('umoci unpack --rootless --image img:t bundle');
  run("rm bundle/rootfs/etc/app/two.conf && printf 'changed\\n' > bundle/rootfs/etc/app/one.conf");
  run('umoci repack --image img:t bundle');

  const index = JSON.parse(readFileSync(join(dir, 'img/index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifest = JSON.parse(readFileSync(blobPath(index.manifests[0]!.digest), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  const config = JSON.parse(readFileSync(blobPath(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
  layers = manifest.layers;
  diffIDs = config.rootfs.diff_ids;
});

afterAll(async () => {
  await cleanup?.();
});

describe('readLayer on umoci-built OCI layers', () => {
  it('matches the manifest digests and sizes and the config diffIDs, reading layers two at a time', async () => {
    expect(layers.length).toBe(2);
    const results = await mapConcurrent(layers, undefined, (layer, _i, signal) =>
      readFileLayer(blobPath(layer.digest), {
        compression: layerCompression(layer.mediaType)!,
        expectedDigest: layer.digest,
        signal,
      }),
    );
    results.forEach((result, i) => {
      expect(result.digest).toBe(layers[i]!.digest);
      expect(result.digest).toBe(sha256File(blobPath(layers[i]!.digest)));
      expect(result.size).toBe(layers[i]!.size);
      expect(result.diffID).toBe(diffIDs[i]);
      expect(result.diffID).toBe(`sha256:${sh(`gzip -dc '${blobPath(layers[i]!.digest)}' | sha256sum`).split(' ')[0]}`);
      expect(result.unsafeEntries).toEqual([]);
    });

    const first = new Map<string, FileEntry>(results[0]!.files!.map((f) => [f.path, f]));
    expect(first.get('etc/app/one.conf')).toMatchObject({ type: 'file', size: 4, sha256: `sha256:${sh("printf 'one\\n' | sha256sum").split(' ')[0]}` });
    expect(first.get('usr/bin/tool-link')).toMatchObject({ type: 'symlink', linkTarget: 'tool' });
    const tools = [first.get('usr/bin/tool')!, first.get('usr/bin/tool-hard')!];
    expect(tools.map((t) => t.type).sort()).toEqual(['file', 'hardlink']);
    expect(tools.every((t) => t.mode === 0o4755)).toBe(true);
    const hard = tools.find((t) => t.type === 'hardlink')!;
    expect(['usr/bin/tool', 'usr/bin/tool-hard']).toContain(hard.linkTarget);
    expect(hard.linkTarget).not.toBe(hard.path);

    const second = results[1]!.files!;
    expect(second.find((f) => f.whiteout === 'file')).toMatchObject({ path: 'etc/app/two.conf' });
    expect(second.find((f) => f.path === 'etc/app/one.conf' && !f.whiteout)).toMatchObject({
      sha256: `sha256:${sh("printf 'changed\\n' | sha256sum").split(' ')[0]}`,
    });
  });

  it('rejects with DIGEST_MISMATCH when the expected digest is not the blob read', async () => {
    const layer = layers[0]!;
    await expect(
      readFileLayer(blobPath(layer.digest), { compression: 'gzip', expectedDigest: layers[1]!.digest }),
    ).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
