import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffImages, type ImageDiff } from '@tollgate/core';
import { changeSet, packRaw, tempLayout, writeRawImage, type RawEntry } from './support.js';

// A hardlink header with another mode, owner or xattrs than its target: Docker applies it to the shared inode, GNU tar
// does not. The diff shows it on every path of the file and flags what it could grant.

type Layout = Awaited<ReturnType<typeof tempLayout>>;

const base: RawEntry[] = [
  { name: 'etc', type: 'directory', mode: 0o755 },
  { name: 'etc/shadow', type: 'file', mode: 0o640, content: 'root:*:1::::::\n' },
  { name: 'opt', type: 'directory', mode: 0o755 },
  { name: 'opt/x', type: 'file', mode: 0o755, content: 'tool' },
];
const link = (name: string, target: string, extra: Partial<RawEntry> = {}): RawEntry => ({ name, type: 'link', linkname: target, mode: 0o755, ...extra });

describe('diffImages: hardlink headers', () => {
  let layout: Layout;
  const diff = async (a: string, b: string): Promise<ImageDiff> => diffImages(await layout.open(a), await layout.open(b));
  const flagsOf = (result: ImageDiff): Record<string, string[]> => Object.fromEntries(result.files.map((f) => [f.path, f.flags]));

  beforeAll(async () => {
    layout = await tempLayout();
    const lower = await packRaw(base);
    const top = async (...entries: RawEntry[]) => [lower, await packRaw(entries)];
    await writeRawImage(layout.writer, { tag: 'base', layers: [lower] });
    await writeRawImage(layout.writer, { tag: 'setuid-link', layers: await top(link('opt/y', 'opt/x', { mode: 0o4755 })) });
    await writeRawImage(layout.writer, { tag: 'setuid-link-again', layers: await top(link('opt/y', 'opt/x', { mode: 0o4755 })) });
    await writeRawImage(layout.writer, { tag: 'plain-link', layers: await top(link('opt/y', 'opt/x')) });
    await writeRawImage(layout.writer, { tag: 'writable-link', layers: await top(link('tmp-shadow', 'etc/shadow', { mode: 0o666 })) });
    await writeRawImage(layout.writer, { tag: 'owner-link', layers: await top(link('opt/y', 'opt/x', { uid: 1000, gid: 1000 })) });
    await writeRawImage(layout.writer, { tag: 'caps-link', layers: await top(link('opt/y', 'opt/x', { pax: { 'SCHILY.xattr.security.capability': 'cap' } })) });
    await writeRawImage(layout.writer, { tag: 'chain', layers: await top(link('opt/y', 'opt/x'), link('opt/z', 'opt/y', { mode: 0o2755 })) });
  });
  afterAll(async () => layout?.cleanup());

  it('a setuid hardlink header to an existing file: the link and its target are flagged setuid-added', async () => {
    const result = await diff('base', 'setuid-link');
    expect(changeSet(result.files)).toEqual(['~ /opt/x hardlink-headers', '+ /opt/y']);
    expect(flagsOf(result)).toEqual({ '/opt/x': ['setuid-added'], '/opt/y': ['setuid-added'] });
    const headers = [{ path: '/opt/y', mode: '4755', uid: 0, gid: 0 }];
    expect(result.files[0]!.before!.hardlinkHeaders).toBeUndefined();
    expect(result.files[0]!.after).toMatchObject({ mode: '0755', hardlinkHeaders: headers });
    expect(result.files[1]!.after).toMatchObject({ type: 'file', mode: '0755', hardlinkTo: '/opt/x', hardlinkHeaders: headers });
  });

  it('headers that agree with their target change nothing but the new path; equal headers on both sides are identical', async () => {
    const plain = await diff('base', 'plain-link');
    expect(changeSet(plain.files)).toEqual(['+ /opt/y']);
    expect(plain.files[0]!.flags).toEqual([]);
    expect(plain.files[0]!.after!.hardlinkHeaders).toBeUndefined();
    const same = await diff('setuid-link', 'setuid-link-again');
    expect(same.files).toEqual([]);
    const removed = await diff('setuid-link', 'plain-link');
    expect(changeSet(removed.files)).toEqual(['~ /opt/x hardlink-headers', '~ /opt/y hardlink-headers']);
    expect(removed.flagged).toEqual([]);
  });

  it('a world-writable header on a link to a sensitive file flags the sensitive file', async () => {
    const result = await diff('base', 'writable-link');
    expect(changeSet(result.files)).toEqual(['~ /etc/shadow hardlink-headers', '+ /tmp-shadow']);
    expect(flagsOf(result)).toEqual({ '/etc/shadow': ['world-writable', 'sensitive-path'], '/tmp-shadow': ['world-writable'] });
  });

  it('owner and xattr headers are shown; a capability set by a link header is flagged', async () => {
    const owner = await diff('base', 'owner-link');
    expect(changeSet(owner.files)).toEqual(['~ /opt/x hardlink-headers', '+ /opt/y']);
    expect(owner.files[0]!.after!.hardlinkHeaders).toEqual([{ path: '/opt/y', mode: '0755', uid: 1000, gid: 1000 }]);
    expect(owner.flagged).toEqual([]);
    const caps = await diff('base', 'caps-link');
    expect(flagsOf(caps)).toEqual({ '/opt/x': ['file-capabilities'], '/opt/y': ['file-capabilities'] });
    expect(caps.files[0]!.after!.hardlinkHeaders).toEqual([{ path: '/opt/y', mode: '0755', uid: 0, gid: 0, xattrs: { 'security.capability': 'cap' } }]);
  });

  it('a header at the end of a chain reaches every path of the file', async () => {
    const result = await diff('base', 'chain');
    expect(changeSet(result.files)).toEqual(['~ /opt/x hardlink-headers', '+ /opt/y', '+ /opt/z']);
    expect(flagsOf(result)).toEqual({ '/opt/x': ['setgid-added'], '/opt/y': ['setgid-added'], '/opt/z': ['setgid-added'] });
  });
});
