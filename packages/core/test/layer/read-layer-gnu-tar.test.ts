import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileEntry, LayerReadResult } from '@tollgate/core';
import { makeTempDir, python, readFileLayer, sh, sha256File, sha256Of } from './support/layer-tools.js';

/**
 * Layers built by GNU tar from a real directory tree, compressed by the gzip and zstd CLIs; every expectation is
 * computed from the tree (lstat) or by sha256sum, never by our own code.
 */
let dir: string;
let root: string;
let cleanup: () => Promise<void>;
let mknodWorked = false;
const LONG_DIR = `${'d'.repeat(70)}/${'e'.repeat(70)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(90)}.txt`;
const UNICODE = 'ünïcødé-文件 ✓.txt';

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('gnu'));
  root = join(dir, 'root');
  sh(
    [
      `mkdir -p root/etc root/bin root/empty-dir root/sticky root/sgid-dir '${`root/${LONG_DIR}`}'`,
      `printf 'hello\\n' > root/etc/hello.txt`,
      ': > root/etc/empty',
      'head -c 512 /dev/urandom > root/bin/exact-block',
      'head -c 513 /dev/urandom > root/bin/block-plus-one',
      'head -c 3000000 /dev/urandom > root/bin/big',
      `printf 'long\\n' > 'root/${LONG_FILE}'`,
      `printf 'unicode\\n' > 'root/${UNICODE}'`,
      'cp root/etc/hello.txt root/bin/suid && chmod 4755 root/bin/suid',
      'chmod 2775 root/sgid-dir && chmod 1777 root/sticky && chmod 0600 root/etc/empty',
      'chown 1234:5678 root/bin/big',
      'ln -s hello.txt root/etc/rel-link',
      'ln -s /etc/passwd root/etc/abs-link',
      `ln -s '/${LONG_FILE}' root/etc/long-link`,
      'ln root/bin/big root/bin/big-hardlink',
      'mkfifo root/etc/fifo',
      // Whiteout markers as a layer builder writes them (recorded, not applied).
      ': > root/etc/.wh.removed && : > root/sticky/.wh..wh..opq',
    ].join(' && '),
    dir,
  );
  python(
    "import os; os.setxattr('root/etc/hello.txt', 'user.text', b'plain'); os.setxattr('root/etc/hello.txt', 'user.bin', b'\\xff\\x00\\x01')",
    dir,
  );
  try {
    sh('mknod root/etc/null c 1 3', dir);
    mknodWorked = true;
  } catch {
    mknodWorked = false;
  }
  sh("tar --format=pax --xattrs --xattrs-include='*' --numeric-owner -C root -cf layer.tar .", dir);
  sh('tar --format=gnu --numeric-owner -C root -cf layer-gnu.tar .', dir);
  sh('gzip -6 -k layer.tar && zstd -q -k layer.tar', dir);
  // A legal multi-member gzip: the tar split in two, each half its own gzip member, concatenated.
  sh('head -c 10000 layer.tar | gzip -1 > two.gz && tail -c +10001 layer.tar | gzip -9 >> two.gz', dir);
});

afterAll(async () => {
  await cleanup?.();
});

function byPath(result: LayerReadResult): Map<string, FileEntry> {
  const map = new Map<string, FileEntry>();
  for (const f of result.files ?? []) map.set(f.whiteout ? `whiteout:${f.path}` : f.path, f);
  return map;
}

function walk(base: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(base, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    out.push(path);
    if (lstatSync(join(base, path)).isDirectory()) out.push(...walk(base, path));
  }
  return out;
}

function typeOf(path: string): string {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'file';
}

describe('readLayer on GNU tar layers', () => {
  it('digest equals sha256sum of the blob and diffID equals the decompressed sha256sum, for tar, gzip and zstd', async () => {
    const tarSha = sha256File(join(dir, 'layer.tar'));
    const plain = await readFileLayer(join(dir, 'layer.tar'), { compression: 'none' });
    expect(plain.digest).toBe(tarSha);
    expect(plain.diffID).toBe(tarSha);
    expect(plain.size).toBe(lstatSync(join(dir, 'layer.tar')).size);

    const gz = await readFileLayer(join(dir, 'layer.tar.gz'), { compression: 'gzip' });
    expect(gz.digest).toBe(sha256File(join(dir, 'layer.tar.gz')));
    expect(gz.diffID).toBe(sha256Of(`gzip -dc layer.tar.gz`, dir));
    expect(gz.diffID).toBe(tarSha);
    expect(gz.size).toBe(lstatSync(join(dir, 'layer.tar.gz')).size);
    expect(gz.uncompressedSize).toBe(plain.size);

    const zst = await readFileLayer(join(dir, 'layer.tar.zst'), { compression: 'zstd' });
    expect(zst.digest).toBe(sha256File(join(dir, 'layer.tar.zst')));
    expect(zst.diffID).toBe(sha256Of(`zstd -qdc layer.tar.zst`, dir));
    expect(zst.files).toEqual(plain.files);
    expect(gz.files).toEqual(plain.files);
  });

  it('reads a multi-member gzip stream to the end', async () => {
    const result = await readFileLayer(join(dir, 'two.gz'), { compression: 'gzip' });
    expect(result.digest).toBe(sha256File(join(dir, 'two.gz')));
    expect(result.diffID).toBe(sha256File(join(dir, 'layer.tar')));
    expect(result.files?.length).toBeGreaterThan(10);
  });

  it('gives the same digests with indexFiles false, and no index', async () => {
    for (const [file, compression] of [['layer.tar', 'none'], ['layer.tar.gz', 'gzip'], ['layer.tar.zst', 'zstd']] as const) {
      const result = await readFileLayer(join(dir, file), { compression, indexFiles: false });
      expect(result.digest).toBe(sha256File(join(dir, file)));
      expect(result.diffID).toBe(sha256File(join(dir, 'layer.tar')));
      expect(result.files).toBeUndefined();
      expect(result.unsafeEntries).toEqual([]);
    }
  });

  it.each(['layer.tar', 'layer-gnu.tar'])('indexes every entry of %s like the tree on disk', async (file) => {
    const result = await readFileLayer(join(dir, file), { compression: 'none' }, 1000 /* odd chunking */);
    expect(result.unsafeEntries).toEqual([]);
    const files = byPath(result);
    const onDisk = walk(root).filter((p) => !p.split('/').pop()!.startsWith('.wh.'));
    const indexed = [...files.values()].filter((f) => !f.whiteout).map((f) => f.path);
    expect(new Set(indexed)).toEqual(new Set(onDisk));

    for (const path of onDisk) {
      const full = join(root, path);
      const st = lstatSync(full);
      const entry = files.get(path)!;
      expect(entry.mode, path).toBe(st.mode & 0o7777);
      expect(entry.uid, path).toBe(st.uid);
      expect(entry.gid, path).toBe(st.gid);
      expect(Math.floor(entry.mtime!), path).toBe(Math.floor(st.mtimeMs / 1000));
      const type = typeOf(full);
      if (entry.type === 'hardlink') {
        expect(type).toBe('file');
        const target = files.get(entry.linkTarget!)!;
        expect(target.type).toBe('file');
        expect(lstatSync(join(root, entry.linkTarget!)).ino).toBe(st.ino);
        expect(entry.size).toBe(0);
        continue;
      }
      expect(entry.type, path).toBe(type);
      if (type === 'file') {
        expect(entry.size, path).toBe(st.size);
        expect(entry.sha256, path).toBe(sha256File(full));
      } else {
        expect(entry.size, path).toBe(0);
        expect(entry.sha256, path).toBeUndefined();
      }
      if (type === 'symlink') expect(entry.linkTarget, path).toBe(sh(`readlink '${full}'`).replace(/\n$/, ''));
    }
  });

  it('records the details that matter: setuid, long names, unicode, xattrs, devices, whiteouts', async () => {
    const files = byPath(await readFileLayer(join(dir, 'layer.tar.gz'), { compression: 'gzip' }));
    expect(files.get('bin/suid')!.mode).toBe(0o4755);
    expect(files.get('sgid-dir')!.mode).toBe(0o2775);
    expect(files.get('sticky')!.mode).toBe(0o1777);
    expect(files.get('bin/big')).toMatchObject({ uid: 1234, gid: 5678 });
    expect(files.get(LONG_FILE)).toMatchObject({ type: 'file', sha256: sha256Of(`printf 'long\\n'`) });
    expect(files.get(UNICODE)).toMatchObject({ type: 'file', sha256: sha256Of(`printf 'unicode\\n'`) });
    expect(files.get('etc/long-link')).toMatchObject({ type: 'symlink', linkTarget: `/${LONG_FILE}` });
    expect(files.get('etc/abs-link')).toMatchObject({ type: 'symlink', linkTarget: '/etc/passwd' });
    expect(files.get('etc/fifo')).toMatchObject({ type: 'fifo', size: 0 });
    expect(files.get('etc/empty')!.sha256).toBe(sha256Of('printf ""'));
    expect(files.get('etc/hello.txt')!.xattrs).toEqual({ 'user.text': 'plain', 'user.bin': 'base64:/wAB' });
    expect(files.get('whiteout:etc/removed')).toMatchObject({ whiteout: 'file', type: 'file' });
    expect(files.get('sticky')!.whiteout).toBeUndefined();
    const opaque = [...files.values()].filter((f) => f.whiteout === 'opaque');
    expect(opaque.map((f) => f.path)).toEqual(['sticky']);
    const hard = [files.get('bin/big')!, files.get('bin/big-hardlink')!];
    expect(hard.map((f) => f.type).sort()).toEqual(['file', 'hardlink']);
    const [content, link] = hard[0]!.type === 'file' ? hard : [hard[1]!, hard[0]!];
    expect(content).toMatchObject({ size: 3000000, sha256: sha256File(join(root, 'bin/big')) });
    expect(link).toMatchObject({ size: 0, linkTarget: content!.path });
    if (mknodWorked) expect(files.get('etc/null')).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
  });

  it('reports progress in blob bytes, ending at the blob size', async () => {
    const seen: number[] = [];
    const result = await readFileLayer(join(dir, 'layer.tar.gz'), {
      compression: 'gzip',
      onProgress: (n) => seen.push(n),
    }, 4096);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(result.size);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});
