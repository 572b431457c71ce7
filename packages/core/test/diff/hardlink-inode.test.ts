import { describe, expect, it } from 'vitest';
import { applyLayer, hardlinkHeadersOf, MergedFilesystem, originOf, possibleModes, type FileEntry } from '@tollgate/core';

const file = (path: string, extra: Partial<FileEntry> = {}): FileEntry => ({ path, type: 'file', mode: 0o755, uid: 0, gid: 0, size: 1, sha256: `sha256:${path}`, ...extra });
const hardlink = (path: string, target: string, extra: Partial<FileEntry> = {}): FileEntry => ({ path, type: 'hardlink', mode: 0o755, uid: 0, gid: 0, size: 0, linkTarget: target, ...extra });
const whiteout = (path: string): FileEntry => ({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, whiteout: 'file' });

function merge(...layers: FileEntry[][]): MergedFilesystem {
  const fs = new MergedFilesystem();
  for (const layer of layers) applyLayer(fs, layer);
  return fs;
}

const modes = (fs: MergedFilesystem, path: string): string[] => possibleModes(fs.get(path)!).map((m) => m.toString(8));

describe('hardlinks share an inode, which keeps the hardlink headers that disagree with it', () => {
  it('a differing header is seen from the link, its target and every other link to the same file', () => {
    const x = file('x');
    const fs = merge([x, hardlink('y', 'x'), hardlink('z', 'y', { mode: 0o4755, uid: 1000 })]);
    for (const path of ['x', 'y', 'z']) {
      expect(modes(fs, path), path).toEqual(['755', '4755']);
      expect(hardlinkHeadersOf(fs.get(path)!), path).toEqual([{ path: 'z', mode: 0o4755, uid: 1000, gid: 0 }]);
      expect(originOf(fs.get(path)!), path).toBe(x);
    }
  });

  it('headers equal to the target\'s metadata (xattrs included) add nothing; equal headers are kept once', () => {
    const x = file('x', { xattrs: { 'user.a': '1' } });
    expect(hardlinkHeadersOf(merge([x, hardlink('y', 'x', { xattrs: { 'user.a': '1' } })]).get('x')!)).toEqual([]);
    const twice = merge([x, hardlink('y', 'x', { gid: 5 }), hardlink('z', 'x', { gid: 5 })]);
    expect(hardlinkHeadersOf(twice.get('x')!)).toEqual([{ path: 'y', mode: 0o755, uid: 0, gid: 5 }]);
    const xattr = merge([x, hardlink('y', 'x', { xattrs: { 'user.a': '2' } })]);
    expect(hardlinkHeadersOf(xattr.get('x')!)).toEqual([{ path: 'y', mode: 0o755, uid: 0, gid: 0, xattrs: { 'user.a': '2' } }]);
  });

  it('a link in an upper filesystem never changes the lower one or a sibling view of it', () => {
    const base = merge([file('x'), hardlink('y', 'x')]);
    const a = new MergedFilesystem(base);
    const b = new MergedFilesystem(base);
    applyLayer(a, [hardlink('z', 'x', { mode: 0o4755 })]);
    applyLayer(b, [hardlink('w', 'y', { mode: 0o2755 })]);
    expect(modes(base, 'x')).toEqual(['755']);
    expect(modes(base, 'y')).toEqual(['755']);
    expect([modes(a, 'x'), modes(a, 'y'), modes(a, 'z')]).toEqual([['755', '4755'], ['755', '4755'], ['755', '4755']]);
    expect([modes(b, 'x'), modes(b, 'y'), modes(b, 'w')]).toEqual([['755', '2755'], ['755', '2755'], ['755', '2755']]);
    // The lower paths whose file changed are the upper view's changes, so a diff compares them.
    expect(new Set(a.changedPaths())).toEqual(new Set(['x', 'y', 'z']));
  });

  it('a target replaced or deleted later leaves the old file, with its headers, to the link only', () => {
    const replaced = merge([file('x'), hardlink('y', 'x', { mode: 0o4755 })], [file('x', { sha256: 'sha256:new' })]);
    expect(modes(replaced, 'x')).toEqual(['755']);
    expect(modes(replaced, 'y')).toEqual(['755', '4755']);
    const deleted = merge([file('x'), hardlink('y', 'x', { mode: 0o4755 })], [whiteout('x')]);
    expect(deleted.get('x')).toBeUndefined();
    expect(modes(deleted, 'y')).toEqual(['755', '4755']);
  });

  it('stays linear with many links carrying distinct headers to one file', () => {
    const n = 20_000;
    const links = Array.from({ length: n }, (_, i) => hardlink(`l${i}`, 'x', { uid: i + 1 }));
    const fs = merge([file('x')], links);
    expect(hardlinkHeadersOf(fs.get('x')!)).toHaveLength(n);
    expect(hardlinkHeadersOf(fs.get(`l${n - 1}`)!)).toHaveLength(n);
  });
});
