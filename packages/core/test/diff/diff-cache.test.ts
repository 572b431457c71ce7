import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { diffImages, indexLayers, LayerIndexStore } from '@tollgate/core';
import { changeSet, packRaw, tempLayout, writeRawImage } from './support.js';

describe('layer indexes: each diffID once, from the store when cached', () => {
  let layout: Awaited<ReturnType<typeof tempLayout>>;
  let store: LayerIndexStore;
  beforeAll(async () => {
    layout = await tempLayout();
    store = await LayerIndexStore.open(join(layout.dir, 'data'));
    const base = await packRaw([{ name: 'lib/a', content: 'a' }, { name: 'lib/b', content: 'b' }]);
    const mid = await packRaw([{ name: 'lib/a', content: 'a2' }]);
    const top1 = await packRaw([{ name: 'app/v', content: '1' }]);
    const top2 = await packRaw([{ name: 'app/v', content: '2' }, { name: '../evil', content: 'x' }]);
    await writeRawImage(layout.writer, { tag: 'one', layers: [base, mid, top1] });
    await writeRawImage(layout.writer, { tag: 'two', layers: [base, mid, top2] });
    await writeRawImage(layout.writer, { tag: 'three', layers: [mid, base, top1] });
  });
  afterAll(async () => {
    await store?.close();
    await layout?.cleanup();
  });

  it('indexLayers returns one index per layer, verified, and fills the store', async () => {
    const image = (await layout.open('one')).image;
    const first = await indexLayers(image, { store });
    expect(first.map((l) => [l.fromCache, l.files.map((f) => f.path)])).toEqual([
      [false, ['lib/a', 'lib/b']],
      [false, ['lib/a']],
      [false, ['app/v']],
    ]);
    const again = await indexLayers(image, { store });
    expect(again.every((l) => l.fromCache && l.bytesRead === 0)).toBe(true);
    expect(again.map((l) => l.files)).toEqual(first.map((l) => l.files));
  });

  it('a diffID needed by both images is indexed once; a layer with unsafe entries is never cached', async () => {
    const cold = await diffImages(await layout.open('one'), await layout.open('two'), { store });
    expect(changeSet(cold.files)).toEqual(['~ /app/v content']);
    expect(cold.stats).toMatchObject({ layersIndexed: 4, sharedPrefixLayers: 2, layersFromCache: 3 });
    expect(cold.unsafe).toEqual([{ images: ['b'], layerDiffID: expect.any(String), path: '../evil', reason: "parent traversal ('..' component)" }]);
    const warm = await diffImages(await layout.open('one'), await layout.open('two'), { store });
    expect(warm.stats).toMatchObject({ layersIndexed: 4, layersFromCache: 3 });
    expect(warm.unsafe).toEqual(cold.unsafe);
  });

  it('layers in a different order merge to a different filesystem', async () => {
    const result = await diffImages(await layout.open('one'), await layout.open('three'), { store });
    expect(changeSet(result.files)).toEqual(['~ /lib/a content']);
    expect(result.summary.layers).toEqual({ shared: 3, added: 0, removed: 0, reordered: 1, recompressed: 0 });
    expect(result.stats.sharedPrefixLayers).toBe(0);
  });
});
