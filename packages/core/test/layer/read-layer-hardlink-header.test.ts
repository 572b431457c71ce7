import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, MergedFilesystem, possibleModes } from '@tollgate/core';
import { makeTempDir, python, readFileLayer } from './support/layer-tools.js';

/**
 * A hardlink entry's own header (mode, owner, xattrs) is what the index records for it — not its target's — so the
 * merged filesystem can see a link header that disagrees with its target. The tar is written by python3's tarfile.
 */
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('hardlink-header'));
  python(
    `
import tarfile, io
with tarfile.open('links.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    x = tarfile.TarInfo('opt/x'); x.size = 4; x.mode = 0o755; x.uid = 1000; x.gid = 1000
    t.addfile(x, io.BytesIO(b'evil'))
    y = tarfile.TarInfo('opt/y'); y.type = tarfile.LNKTYPE; y.linkname = 'opt/x'; y.mode = 0o4755; y.uid = 0; y.gid = 0
    y.pax_headers = {'SCHILY.xattr.security.capability': 'cap'}
    t.addfile(y)
`,
    dir,
  );
});
afterAll(async () => cleanup?.());

describe('a hardlink entry keeps its own header', () => {
  it('records the link header\'s mode, owner and xattrs, and the merged view keeps them as a possible state of the file', async () => {
    const read = await readFileLayer(join(dir, 'links.tar'), { compression: 'none' });
    const byPath = new Map(read.files!.map((f) => [f.path, f]));
    expect(byPath.get('opt/x')).toMatchObject({ type: 'file', mode: 0o755, uid: 1000, gid: 1000 });
    expect(byPath.get('opt/y')).toMatchObject({ type: 'hardlink', linkTarget: 'opt/x', mode: 0o4755, uid: 0, gid: 0, xattrs: { 'security.capability': 'cap' } });

    const fs = new MergedFilesystem();
    applyLayer(fs, read.files!);
    for (const path of ['opt/x', 'opt/y']) {
      expect(fs.get(path)).toMatchObject({ type: 'file', mode: 0o755, uid: 1000 });
      expect(possibleModes(fs.get(path)!)).toEqual([0o755, 0o4755]);
      expect(fs.get(path)!.inode!.hardlinkHeaders).toEqual([{ path: 'opt/y', mode: 0o4755, uid: 0, gid: 0, xattrs: { 'security.capability': 'cap' } }]);
    }
  });
});
