import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, readCommandLayer, sh } from './support/layer-tools.js';

/**
 * A ~300 MB layer streamed straight from `tar | gzip` (and `| zstd`) into readLayer: nothing is held in memory or
 * written as a layer file, and the process's RSS must not grow with the layer.
 */
let dir: string;
let cleanup: () => Promise<void>;
const MB = 1024 * 1024;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('memory'));
  sh(
    [
      'mkdir -p src/c-small',
      'head -c 104857600 /dev/urandom > src/a-random',
      'truncate -s 209715200 src/b-zeros',
      'for i in $(seq 1 2000); do echo "$i" > src/c-small/f$i; done',
    ].join(' && '),
    dir,
  );
});

afterAll(async () => {
  await cleanup?.();
});

describe('readLayer memory', () => {
  it.each([
    ['gzip', 'gzip -1'],
    ['zstd', 'zstd -q -1'],
  ] as const)('streams a ~300 MB %s layer with RSS growth under 100 MB', async (compression, compressor) => {
    const src = join(dir, 'src');
    const rss = () => process.memoryUsage.rss();
    const baseline = rss();
    let peak = baseline;
    const result = await readCommandLayer(`tar --sort=name -C '${src}' -cf - . | ${compressor}`, {
      compression,
      onProgress: () => {
        peak = Math.max(peak, rss());
      },
    });
    peak = Math.max(peak, rss());
    expect(result.uncompressedSize).toBeGreaterThan(300 * MB);
    expect(result.files!.length).toBe(2003);
    expect(result.files!.find((f) => f.path === 'b-zeros')!.sha256).toBe(
      `sha256:${sh('head -c 209715200 /dev/zero | sha256sum').split(' ')[0]}`,
    );
    expect((peak - baseline) / MB).toBeLessThan(100);
  });
});
