/**
 * Image pairs built by umoci (an independent tool: it computes each layer's diff itself and writes the whiteouts
 * for deletions), diffed with exact expected change sets; and a mid-sized synthetic rootfs (this machine's
 * /usr/share/doc and /etc) against a copy with one "package"'s files changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, cp, mkdir, readdir, rm, symlink, unlink, utimes, writeFile, appendFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffImages, LayerIndexStore, openImage, type ImageDiff, type OpenedImage } from '@tollgate/core';
import { umoci } from '../../../../test/support/umoci.js';
import { changeSet } from './support.js';

/** Adds a layer to `tag` (created from `from` when given) by unpacking, mutating and repacking with umoci. */
async function umociLayer(layout: string, tag: string, mutate: (rootfs: string) => Promise<void>, from?: string): Promise<void> {
  if (from !== undefined) await umoci(['tag', '--image', `${layout}:${from}`, tag]);
  const work = await mkdtemp(join(tmpdir(), 'tollgate-umoci-diff-'));
  try {
    await umoci(['unpack', '--rootless', '--image', `${layout}:${tag}`, join(work, 'bundle')]);
    await mutate(join(work, 'bundle', 'rootfs'));
    await umoci(['repack', '--image', `${layout}:${tag}`, join(work, 'bundle')]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

describe('diffImages on umoci-built image pairs', () => {
  let work: string;
  let layout: string;
  const opened: OpenedImage[] = [];
  const open = async (tag: string) => {
    const image = await openImage(`oci:${layout}:${tag}`);
    opened.push(image);
    return image;
  };
  const diff = async (a: string, b: string, options: Parameters<typeof diffImages>[2] = {}): Promise<ImageDiff> => diffImages(await open(a), await open(b), options);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-diff-umoci-'));
    layout = join(work, 'layout');
    await umoci(['init', '--layout', layout]);
    await umoci(['new', '--image', `${layout}:v1`]);
    await umociLayer(layout, 'v1', async (root) => {
      await mkdir(join(root, 'etc/conf.d'), { recursive: true });
      await writeFile(join(root, 'etc/app.conf'), 'port=80\n');
      await writeFile(join(root, 'etc/conf.d/a'), 'a\n');
      await writeFile(join(root, 'etc/conf.d/b'), 'b\n');
      await mkdir(join(root, 'usr/bin'), { recursive: true });
      await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
      await chmod(join(root, 'usr/bin/tool'), 0o755);
      await symlink('tool', join(root, 'usr/bin/alias'));
      await writeFile(join(root, 'usr/bin/mode'), 'm');
    });
    await umociLayer(layout, 'v2', async (root) => {
      await appendFile(join(root, 'etc/app.conf'), 'debug=1\n');
      await utimes(join(root, 'etc/app.conf'), 1_000_000_000, 1_000_000_000);
      await rm(join(root, 'etc/conf.d'), { recursive: true });
      await unlink(join(root, 'usr/bin/alias'));
      await symlink('other', join(root, 'usr/bin/alias'));
      await chmod(join(root, 'usr/bin/mode'), 0o600);
      await chmod(join(root, 'usr/bin/tool'), 0o4755);
      await writeFile(join(root, 'usr/bin/new'), 'new');
    }, 'v1');
  });
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.source.close?.()));
    await rm(work, { recursive: true, force: true });
  });

  it('whiteouts written by umoci, content, symlink, mode and setuid changes', async () => {
    const result = await diff('v1', 'v2');
    expect(changeSet(result.files)).toEqual([
      '~ /etc/app.conf content',
      '- /etc/conf.d',
      '- /etc/conf.d/a',
      '- /etc/conf.d/b',
      '~ /usr/bin/alias linkTarget',
      '~ /usr/bin/mode mode',
      '+ /usr/bin/new',
      '~ /usr/bin/tool special-bits',
    ]);
    expect(result.flagged).toEqual([{ section: 'files', target: '/usr/bin/tool', flags: ['setuid-added'] }]);
    expect(result.summary.layers).toMatchObject({ shared: 1, added: 1, removed: 0 });
    expect(result.stats).toMatchObject({ sharedPrefixLayers: 1, layersIndexed: 2 });
    // mtimes only count with timestamps
    const timed = await diff('v1', 'v2', { timestamps: true });
    const conf = timed.files.find((c) => c.path === '/etc/app.conf')!;
    expect(conf.changes).toEqual(['content', 'mtime']);
    expect(conf.after!.mtime).toBe(1_000_000_000);
    expect(result.files.find((c) => c.path === '/etc/app.conf')!.after!.mtime).toBeUndefined();
  });

  it('the reverse direction swaps added and removed', async () => {
    const result = await diff('v2', 'v1');
    expect(changeSet(result.files)).toEqual([
      '~ /etc/app.conf content',
      '+ /etc/conf.d',
      '+ /etc/conf.d/a',
      '+ /etc/conf.d/b',
      '~ /usr/bin/alias linkTarget',
      '~ /usr/bin/mode mode',
      '- /usr/bin/new',
      '~ /usr/bin/tool special-bits',
    ]);
    expect(result.flagged).toEqual([]);
  });
});

describe('a mid-sized synthetic rootfs against a copy with one package changed', () => {
  let work: string;
  let layout: string;
  let store: LayerIndexStore;
  const opened: OpenedImage[] = [];
  const open = async (tag: string) => {
    const image = await openImage(`oci:${layout}:${tag}`);
    opened.push(image);
    return image;
  };
  let pkg: string;
  let pkgFiles: string[];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-diff-rootfs-'));
    layout = join(work, 'layout');
    store = await LayerIndexStore.open(join(work, 'data'));
    await umoci(['init', '--layout', layout]);
    await umoci(['new', '--image', `${layout}:base`]);
    const docs = (await readdir('/usr/share/doc')).sort();
    pkg = docs.find((name) => name === 'adduser') ?? docs[0]!;
    const copy = async (root: string, changed: boolean) => {
      await mkdir(join(root, 'usr/share'), { recursive: true });
      await cp('/usr/share/doc', join(root, 'usr/share/doc'), {
        recursive: true,
        verbatimSymlinks: true,
        filter: async (src) => !/\.(gz|pdf|html|png|svg)$/.test(src),
      });
      await cp('/etc/ssl/certs', join(root, 'etc/ssl/certs'), { recursive: true, verbatimSymlinks: true }).catch(() => undefined);
      if (changed) await changePackage(root);
    };
    const changePackage = async (root: string) => {
      const dir = join(root, 'usr/share/doc', pkg);
      const files = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
      pkgFiles = files;
      await appendFile(join(dir, files[0]!), '\nchanged by the new version\n');
      if (files[1]) await rm(join(dir, files[1]));
      await writeFile(join(dir, 'NEWS.new'), 'new file\n');
    };
    // v1: one big layer; v2: the same big layer plus a small one changing the package; v3: the big layer rebuilt.
    await umociLayer(layout, 'base', (root) => copy(root, false));
    await umoci(['tag', '--image', `${layout}:base`, 'v1']);
    await umociLayer(layout, 'v2', changePackage, 'base');
    await umoci(['new', '--image', `${layout}:v3`]);
    await umociLayer(layout, 'v3', (root) => copy(root, true));
  }, 180_000);
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.source.close?.()));
    await store?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('names exactly the package\'s changed files, reads the shared layer once, and nothing at all when warm', async () => {
    const dir = `/usr/share/doc/${pkg}`;
    const expected = [`~ ${dir}/${pkgFiles[0]} content`, ...(pkgFiles[1] ? [`- ${dir}/${pkgFiles[1]}`] : []), `+ ${dir}/NEWS.new`].sort((x, y) =>
      x.slice(2) < y.slice(2) ? -1 : 1,
    );
    const cold = await diffImages(await open('v1'), await open('v2'), { store });
    expect(changeSet(cold.files)).toEqual(expected);
    expect(cold.stats).toMatchObject({ layersIndexed: 2, layersFromCache: 0, sharedPrefixLayers: 1 });
    expect(cold.stats.pathsCompared).toBeLessThan(10);
    const warm = await diffImages(await open('v1'), await open('v2'), { store });
    expect(warm.files).toEqual(cold.files);
    expect(warm.stats).toMatchObject({ layersIndexed: 2, layersFromCache: 2, bytesRead: 0 });
  });

  it('a rebuilt single-layer rootfs (nothing shared) gives the same file changes', async () => {
    const result = await diffImages(await open('v1'), await open('v3'), { store });
    const dir = `/usr/share/doc/${pkg}`;
    expect(result.files.map((c) => c.path).every((p) => p.startsWith(dir))).toBe(true);
    expect(changeSet(result.files)).toEqual(changeSet((await diffImages(await open('v1'), await open('v2'), { store })).files));
    expect(result.stats.sharedPrefixLayers).toBe(0);
    expect(result.stats.pathsCompared).toBeGreaterThan(500);
  });
});
