/**
 * readLayer's captureFiles: the content of named files is kept while the layer streams, exactly the bytes the index
 * hashes, the last entry of a path wins, and a file over the cap is an error, never a truncation. Tars are written
 * by python3's tarfile (duplicates and odd entries GNU tar will not write).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TollgateError } from '@tollgate/core';
import { makeTempDir, python, readFileLayer } from './support/layer-tools.js';

let dir: string;
let cleanup: () => Promise<void>;
const at = (name: string) => join(dir, name);
const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('capture'));
  python(
    `
import tarfile, io, random
random.seed(7)
big = bytes(random.getrandbits(8) for _ in range(300000))
def tar(name, entries):
    with tarfile.open(name, 'w', format=tarfile.PAX_FORMAT) as t:
        for path, data, kind, link in entries:
            ti = tarfile.TarInfo(path); ti.type = kind; ti.linkname = link
            ti.size = len(data) if kind == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
R, S, D = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.DIRTYPE
tar('plain.tar', [('etc', b'', D, ''), ('etc/passwd', big, R, ''), ('etc/group', b'g', R, ''), ('./etc/empty', b'', R, '')])
tar('dupes.tar', [('etc/passwd', b'first\\n', R, ''), ('etc/passwd', b'second\\n', R, ''), ('etc/other', b'o', R, '')])
tar('replaced.tar', [('etc/passwd', b'file\\n', R, ''), ('etc/passwd', b'', S, 'elsewhere')])
tar('whiteout.tar', [('etc/.wh.passwd', b'', R, '')])
`,
    dir,
  );
});
afterAll(async () => cleanup());

describe('readLayer captureFiles', () => {
  it('keeps the named files whole, byte for byte what the index hashes, across many small chunks', async () => {
    const read = await readFileLayer(at('plain.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd', 'etc/empty', 'etc/missing'], maxBytes: 1024 * 1024 } }, 997);
    const byPath = new Map(read.captured!.map((f) => [f.path, f]));
    expect([...byPath.keys()].sort()).toEqual(['etc/empty', 'etc/passwd']);
    const passwd = byPath.get('etc/passwd')!;
    expect(passwd.content.length).toBe(300000);
    expect(sha256(passwd.content)).toBe(passwd.sha256);
    expect(read.files!.find((f) => f.path === 'etc/passwd')!.sha256).toBe(passwd.sha256);
    expect(byPath.get('etc/empty')!.content.length).toBe(0);
    const tarBytes = readFileSync(at('plain.tar'));
    expect(tarBytes.includes(passwd.content)).toBe(true);
  });

  it('keeps the last entry of a path, as extraction leaves it; a later non-file entry drops it', async () => {
    const dupes = await readFileLayer(at('dupes.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd'], maxBytes: 100 } });
    expect(dupes.captured!.map((f) => f.content.toString())).toEqual(['second\n']);
    const replaced = await readFileLayer(at('replaced.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd'], maxBytes: 100 } });
    expect(replaced.captured).toEqual([]);
    const whiteout = await readFileLayer(at('whiteout.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd'], maxBytes: 100 } });
    expect(whiteout.captured).toEqual([]);
  });

  it('rejects a captured file over the cap with SIZE_LIMIT instead of truncating it', async () => {
    const error = await readFileLayer(at('plain.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd'], maxBytes: 299999 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TollgateError);
    expect(error).toMatchObject({ code: 'SIZE_LIMIT', message: expect.stringMatching(/\/etc\/passwd is .* over the .* tollgate reads of it/) });
    const exact = await readFileLayer(at('plain.tar'), { compression: 'none', captureFiles: { paths: ['etc/passwd'], maxBytes: 300000 } });
    expect(exact.captured![0]!.content.length).toBe(300000);
  });

  it('needs the tar parsed, and captures nothing unless asked', async () => {
    await expect(readFileLayer(at('plain.tar'), { compression: 'none', indexFiles: false, captureFiles: { paths: ['etc/passwd'], maxBytes: 10 } })).rejects.toMatchObject({ code: 'USAGE' });
    expect((await readFileLayer(at('plain.tar'), { compression: 'none' })).captured).toBeUndefined();
  });
});
