import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openImage, packLayer, validateImage, writeDockerArchive, writeImageToLayout } from '@tollgate/core';
import { readAll, sha256, skopeo, tempDirs } from './helpers.js';

const temp = tempDirs();
afterAll(() => temp.cleanup());

describe('every local source feeds the image model and passes full validation', () => {
  it('oci layout, skopeo docker-archive, and our docker-archive in both formats', async () => {
    const dir = await temp.make();
    const layout = join(dir, 'layout');
    const files = [{ path: 'etc/', type: 'dir' as const }, { path: 'etc/app.conf', content: 'port=1\n' }];
    await writeImageToLayout(layout, { tag: 'v1', layers: [{ files }, { files: [{ path: 'bin/run', content: '#!/bin/sh\n', mode: 0o755 }] }] });
    const skopeoArchive = join(dir, 'skopeo.tar');
    await skopeo(['copy', `oci:${layout}:v1`, `docker-archive:${skopeoArchive}:demo:v1`], dir);
    const layer = await readAll(packLayer(files));
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const legacy = join(dir, 'legacy.tar');
    const oci = join(dir, 'oci.tar');
    await writeDockerArchive(legacy, { config, layers: [layer], repoTags: ['ours:v1'] }, { format: 'legacy' });
    await writeDockerArchive(oci, { config, layers: [layer], repoTags: ['ours:v1'] }, { format: 'oci' });

    for (const reference of [`oci:${layout}:v1`, `docker-archive:${skopeoArchive}:demo:v1`, `docker-archive:${legacy}`, `docker-archive:${oci}:ours:v1`]) {
      const { image, source } = await openImage(reference, { platform: { architecture: 'amd64', os: 'linux' } });
      try {
        const result = await validateImage(image);
        expect(result.problems, reference).toEqual([]);
        expect(result.ok, reference).toBe(true);
      } finally {
        await source.close?.();
      }
    }
  });
});
