import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyLayer, MergedFilesystem, type FileEntry } from '@tollgate/core';

const file = (path: string, content = path, extra: Partial<FileEntry> = {}): FileEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, sha256: `sha256:${content}`, ...extra });
const dir = (path: string, extra: Partial<FileEntry> = {}): FileEntry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, ...extra });
const whiteout = (path: string): FileEntry => ({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, whiteout: 'file' });
const opaque = (path: string): FileEntry => ({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, whiteout: 'opaque' });
const hardlink = (path: string, target: string): FileEntry => ({ path, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkTarget: target });
const symlink = (path: string, target: string): FileEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, linkTarget: target });

function merge(...layers: FileEntry[][]): MergedFilesystem {
  const fs = new MergedFilesystem();
  for (const layer of layers) applyLayer(fs, layer);
  return fs;
}

function summary(fs: MergedFilesystem): string[] {
  return [...fs.toMap()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([p, e]) => `${p}:${e.type}${e.sha256 ? `=${e.sha256.slice(7)}` : ''}${e.hardlinkTo ? `@${e.hardlinkTo}` : ''}`);
}

describe('merged filesystem (OCI layer rules)', () => {
  it('a file whiteout deletes the name and everything below it, from lower layers only', () => {
    const fs = merge([dir('a'), file('a/x'), dir('a/d'), file('a/d/y'), file('b')], [whiteout('a/d'), whiteout('b'), file('b', 'again')]);
    expect(summary(fs)).toEqual(['a:dir', 'a/x:file=a/x', 'b:file=again']);
  });

  it('a whiteout listed after the same layer\'s entry still only hides lower content', () => {
    const fs = merge([file('f', 'old')], [file('f', 'new'), whiteout('f')]);
    expect(summary(fs)).toEqual(['f:file=new']);
  });

  it('an opaque directory hides the lower directory\'s content and keeps what its own layer re-adds', () => {
    const fs = merge([dir('etc'), file('etc/a'), file('etc/b'), dir('etc/sub'), file('etc/sub/c')], [file('etc/b', 'new-b'), opaque('etc'), dir('etc/sub'), file('etc/d')]);
    expect(summary(fs)).toEqual(['etc:dir', 'etc/b:file=new-b', 'etc/d:file=etc/d', 'etc/sub:dir']);
  });

  it('an opaque root hides every lower path', () => {
    expect(summary(merge([file('a'), dir('d'), file('d/x')], [opaque(''), file('z')]))).toEqual(['z:file=z']);
  });

  it('a directory replaced by a file drops its subtree; a directory over a directory keeps children', () => {
    const l1 = [dir('d'), file('d/x')];
    expect(summary(merge(l1, [file('d', 'now-a-file')]))).toEqual(['d:file=now-a-file']);
    expect(summary(merge(l1, [file('d', 'f')], [dir('d'), file('d/y')]))).toEqual(['d:dir', 'd/y:file=d/y']);
    expect(summary(merge(l1, [dir('d', { mode: 0o700 })]))).toEqual(['d:dir', 'd/x:file=d/x']);
    expect(merge(l1, [dir('d', { mode: 0o700 })]).get('d')!.mode).toBe(0o700);
  });

  it('whiteouts of paths that do not exist are harmless', () => {
    expect(summary(merge([file('a')], [whiteout('nope'), whiteout('x/y/z'), opaque('missing')]))).toEqual(['a:file=a']);
  });

  it('implicit parent directories are deleted with their whiteout', () => {
    expect(summary(merge([file('usr/lib/x/y'), file('usr/bin/z')], [whiteout('usr/lib')]))).toEqual(['usr/bin/z:file=usr/bin/z']);
  });

  it('a hardlink takes its target as it is when the link\'s layer is applied', () => {
    const fs = merge([file('a', 'v1'), hardlink('b', 'a')], [file('a', 'v2')]);
    expect(summary(fs)).toEqual(['a:file=v2', 'b:file=v1@a']);
    // a hardlink to a file of a lower layer
    expect(summary(merge([file('a', 'v1')], [hardlink('c', 'a')]))).toEqual(['a:file=v1', 'c:file=v1@a']);
  });

  it('a hardlink to a missing target is kept as a hardlink and reported', () => {
    const fs = new MergedFilesystem();
    expect(applyLayer(fs, [hardlink('b', 'nope')])).toEqual([{ path: 'b', reason: expect.stringContaining('does not exist') }]);
    expect(fs.get('b')!.type).toBe('hardlink');
  });

  it('an upper filesystem records only its own changes over a shared lower one', () => {
    const base = merge([dir('d'), file('d/x'), file('d/y'), file('e')]);
    const upper = new MergedFilesystem(base);
    applyLayer(upper, [whiteout('d'), file('f')]);
    expect(new Set(upper.changedPaths())).toEqual(new Set(['d', 'd/x', 'd/y', 'f']));
    expect(summary(upper)).toEqual(['e:file=e', 'f:file=f']);
    expect(summary(base)).toEqual(['d:dir', 'd/x:file=d/x', 'd/y:file=d/y', 'e:file=e']);
  });

  it('matches a naive reference implementation on random layer stacks (property)', () => {
    const names = ['a', 'b', 'a/x', 'a/y', 'b/x', 'a/x/1', 'c'];
    const entry = fc.oneof(
      fc.record({ kind: fc.constant('file' as const), path: fc.constantFrom(...names), content: fc.constantFrom('1', '2') }),
      fc.record({ kind: fc.constant('dir' as const), path: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('wh' as const), path: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('opq' as const), path: fc.constantFrom('', 'a', 'b', 'a/x') }),
      fc.record({ kind: fc.constant('sym' as const), path: fc.constantFrom(...names) }),
    );
    const toEntry = (e: { kind: string; path: string; content?: string }): FileEntry =>
      e.kind === 'file' ? file(e.path, e.content) : e.kind === 'dir' ? dir(e.path) : e.kind === 'wh' ? whiteout(e.path) : e.kind === 'opq' ? opaque(e.path) : symlink(e.path, 't');
    fc.assert(
      fc.property(fc.array(fc.array(entry, { maxLength: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 4 }), (layers, split) => {
        const stack = layers.map((l) => l.map(toEntry));
        // Reference: a flat map, subtree deletion by prefix scan.
        const ref = new Map<string, FileEntry>();
        const dropBelow = (p: string) => {
          for (const key of [...ref.keys()]) if (p === '' || key.startsWith(`${p}/`)) ref.delete(key);
        };
        for (const layer of stack) {
          for (const e of layer) if (e.whiteout === 'opaque') dropBelow(e.path);
          for (const e of layer) if (e.whiteout === 'file') (dropBelow(e.path), ref.delete(e.path));
          for (const e of layer) {
            if (e.whiteout) continue;
            if (e.type !== 'dir' && ref.get(e.path)?.type === 'dir') dropBelow(e.path);
            ref.set(e.path, e);
          }
        }
        // Ours, with the stack split between a lower and an upper filesystem at a random point.
        const at = Math.min(split, stack.length);
        const lower = merge(...stack.slice(0, at));
        const upper = new MergedFilesystem(lower);
        for (const layer of stack.slice(at)) applyLayer(upper, layer);
        expect(upper.toMap()).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });
});
