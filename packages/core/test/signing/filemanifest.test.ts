import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFileManifests, computeFileManifest, openImage, predicateTypeFor, writeImageToLayout, FILEMANIFEST_PREDICATE_TYPE } from '@tollgate/core';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-filemanifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manifestOf(tag: string, layers: Parameters<typeof writeImageToLayout>[1]['layers']) {
  await writeImageToLayout(join(dir, tag), { tag, layers });
  const opened = await openImage(`oci:${join(dir, tag)}:${tag}`);
  return computeFileManifest(opened.image);
}

describe('filemanifest predicate', () => {
  it('is the merged filesystem (whiteouts applied), with digest, octal mode and owner', async () => {
    const predicate = await manifestOf('base', [
      { files: [{ path: 'etc', type: 'dir', mode: 0o755 }, { path: 'etc/a', content: 'a', mode: 0o644 }, { path: 'etc/b', content: 'b', uid: 1000, gid: 1000 }] },
      { files: [{ path: 'etc/.wh.b', content: '' }, { path: 'etc/link', type: 'symlink', linkTarget: 'a' }] },
    ]);
    expect(Object.keys(predicate.files)).toEqual(['etc', 'etc/a', 'etc/link']);
    expect(predicate.files['etc/a']).toMatchObject({ type: 'file', mode: '0644', uid: 0, gid: 0, size: 1 });
    expect(predicate.files['etc/a']!.digest).toBe('sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    expect(predicate.files['etc/link']).toMatchObject({ type: 'symlink', linkTarget: 'a' });
    expect(predicate.layers).toHaveLength(2);
  });

  it('compared with a later image, every changed, added and removed path is named', async () => {
    const before = await manifestOf('v1', [{ files: [{ path: 'bin/app', content: 'v1', mode: 0o755 }, { path: 'etc/conf', content: 'x' }, { path: 'etc/old', content: 'o' }] }]);
    const after = await manifestOf('v2', [{ files: [{ path: 'bin/app', content: 'v2-backdoor', mode: 0o4755 }, { path: 'etc/conf', content: 'x' }, { path: 'etc/new', content: 'n' }] }]);
    expect(compareFileManifests(before, after)).toEqual([
      { path: 'bin/app', change: 'modified', fields: ['mode', 'size', 'digest'] },
      { path: 'etc/new', change: 'added' },
      { path: 'etc/old', change: 'removed' },
    ]);
    expect(compareFileManifests(before, before)).toEqual([]);
  });

  it('--type names map to predicate types; anything else must be an absolute URI', () => {
    expect(predicateTypeFor('filemanifest')).toBe(FILEMANIFEST_PREDICATE_TYPE);
    expect(predicateTypeFor('slsaprovenance1')).toBe('https://slsa.dev/provenance/v1');
    expect(predicateTypeFor('https://example.com/p/v1')).toBe('https://example.com/p/v1');
    expect(() => predicateTypeFor('nonsense')).toThrow(/unknown predicate type/);
    expect(() => predicateTypeFor('https://exa mple')).toThrow(/unknown predicate type/);
  });
});
