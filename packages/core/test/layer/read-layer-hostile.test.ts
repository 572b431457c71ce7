import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLayer, TollgateError, type ReadLayerOptions } from '@tollgate/core';
import { makeTempDir, python, readFileLayer, sh, sha256File } from './support/layer-tools.js';

/** Damaged, truncated, oversized and hostile layers: each must fail with a clear TollgateError, or be flagged. */
let dir: string;
let cleanup: () => Promise<void>;
const at = (name: string) => join(dir, name);

beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('hostile'));
  sh(
    [
      'mkdir -p root/a/b',
      'head -c 300000 /dev/urandom > root/a/random.bin',
      'yes tollgate | head -c 400000 > root/a/b/text.txt',
      `printf 'x\\n' > 'root/a/b/${'n'.repeat(150)}'`,
      'tar --format=pax -C root -cf layer.tar .',
      'gzip -k layer.tar && zstd -q -k layer.tar',
      'head -c 4096 /dev/urandom > random.bin',
      // 2 GiB of zeros in ~2 MiB: one gzip member of 16 MiB of zeros, repeated (concatenated members are legal).
      'head -c 16777216 /dev/zero | gzip -9 > zeros.gz && for i in $(seq 128); do cat zeros.gz; done > bomb.gz',
      'head -c 1073741824 /dev/zero | zstd -q -19 > bomb.zst',
    ].join(' && '),
    dir,
  );
  python(
    `
import tarfile, io
with tarfile.open('evil.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    def add(name, data=b'x', type=tarfile.REGTYPE, linkname='', pax=None):
        ti = tarfile.TarInfo(name); ti.size = len(data) if type == tarfile.REGTYPE else 0
        ti.type = type; ti.linkname = linkname
        if pax: ti.pax_headers = pax
        t.addfile(ti, io.BytesIO(data) if type == tarfile.REGTYPE else None)
    add('ok.txt')
    add('../../etc/passwd')
    add('/abs/file')
    add('a/../../escape')
    add('nul', b'', pax={'path': 'nul\\x00name'})
    add('hl-out', type=tarfile.LNKTYPE, linkname='../../etc/shadow')
    add('hl-abs', type=tarfile.LNKTYPE, linkname='/ok.txt')
    add('weird', type=b'Z')
    add('after.txt', b'still indexed')
with tarfile.open('big-pax.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo('f'); ti.pax_headers = {'comment': 'x' * (2 << 20)}; t.addfile(ti, io.BytesIO(b''))
with tarfile.open('many.tar', 'w', format=tarfile.PAX_FORMAT) as t:
    for i in range(50):
        ti = tarfile.TarInfo('f%d' % i); t.addfile(ti, io.BytesIO(b''))
def block(name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data)
    return ti.tobuf(tarfile.USTAR_FORMAT) + data + b'\\0' * ((512 - len(data) % 512) % 512)
open('lone-zero.tar', 'wb').write(block('one', b'1') + b'\\0' * 512 + block('two', b'2') + b'\\0' * 1024)
open('slash-file.tar', 'wb').write(block('looks-like-dir/', b'payload') + block('next', b'n') + b'\\0' * 1024)
open('no-eoa.tar', 'wb').write(block('one', b'1') + block('two', b'22'))
`,
    dir,
  );
});

afterAll(async () => {
  await cleanup?.();
});

async function rejection(promise: Promise<unknown>): Promise<TollgateError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    return error as TollgateError;
  }
  throw new Error('expected a rejection');
}

function bufferLayer(bytes: Buffer, options: ReadLayerOptions) {
  return readLayer(Readable.from([bytes]), options);
}

describe('readLayer: damaged compression', () => {
  const gz = () => readFileSync(at('layer.tar.gz'));

  it.each([10, 0.5, -8, -4, -1])('gzip truncated at %s → CORRUPT_LAYER (truncated)', async (cut) => {
    const bytes = gz();
    const end = cut > 0 && cut < 1 ? Math.floor(bytes.length * cut) : cut < 0 ? bytes.length + cut : cut;
    const error = await rejection(bufferLayer(bytes.subarray(0, end), { compression: 'gzip', indexFiles: false }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toMatch(/^layer: gzip stream is truncated after \d+ compressed bytes.*fetch it again/);
  });

  it('gzip with a flipped byte in the body → CORRUPT_LAYER naming the expected digest', async () => {
    const bytes = gz();
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    const expectedDigest = sha256File(at('layer.tar.gz'));
    const error = await rejection(bufferLayer(bytes, { compression: 'gzip', expectedDigest }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toContain(`layer ${expectedDigest}: `);
    expect(error.message).toMatch(/gzip stream is corrupt|tar archive/);
  });

  it('gzip CRC mismatch (flipped trailer byte) → CORRUPT_LAYER', async () => {
    const bytes = gz();
    bytes[bytes.length - 6]! ^= 0x01;
    const error = await rejection(bufferLayer(bytes, { compression: 'gzip' }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toMatch(/gzip stream is corrupt \(incorrect data check\)/);
  });

  it('trailing zeros after the gzip member are ignored, other trailing bytes are corrupt', async () => {
    const zeros = Buffer.concat([gz(), Buffer.alloc(100)]);
    const ok = await bufferLayer(zeros, { compression: 'gzip' });
    expect(ok.diffID).toBe(sha256File(at('layer.tar')));
    expect(ok.size).toBe(zeros.length);
    const garbage = Buffer.concat([gz(), Buffer.from('garbage!')]);
    expect((await rejection(bufferLayer(garbage, { compression: 'gzip' }))).code).toBe('CORRUPT_LAYER');
  });

  it.each([0.5, -1])('zstd truncated at %s → CORRUPT_LAYER (truncated)', async (cut) => {
    const bytes = readFileSync(at('layer.tar.zst'));
    const end = cut > 0 ? Math.floor(bytes.length * cut) : bytes.length + cut;
    const error = await rejection(bufferLayer(bytes.subarray(0, end), { compression: 'zstd', indexFiles: false }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toMatch(/zstd stream is truncated/);
  });

  it('zstd with a flipped byte → CORRUPT_LAYER', async () => {
    const bytes = readFileSync(at('layer.tar.zst'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    const error = await rejection(bufferLayer(bytes, { compression: 'zstd' }));
    expect(error.code).toBe('CORRUPT_LAYER');
  });

  it.each(['gzip', 'zstd', 'none'] as const)('random bytes as %s → CORRUPT_LAYER', async (compression) => {
    const error = await rejection(readFileLayer(at('random.bin'), { compression }));
    expect(error.code).toBe('CORRUPT_LAYER');
  });

  it.each(['gzip', 'zstd'] as const)('an empty %s blob → CORRUPT_LAYER; an empty tar is an empty layer', async (compression) => {
    expect((await rejection(bufferLayer(Buffer.alloc(0), { compression }))).code).toBe('CORRUPT_LAYER');
    const empty = await bufferLayer(Buffer.alloc(0), { compression: 'none' });
    expect(empty).toMatchObject({ size: 0, uncompressedSize: 0, files: [], unsafeEntries: [] });
  });
});

describe('readLayer: damaged tar', () => {
  const tar = () => readFileSync(at('layer.tar'));

  it('a tar cut inside a file → CORRUPT_LAYER naming the entry', async () => {
    const bytes = tar();
    const error = await rejection(bufferLayer(bytes.subarray(0, 200_000), { compression: 'none' }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toMatch(/ends inside entry "\.\/a\/[^"]+": its header declares \d+ bytes, \d+ are missing/);
  });

  it.each([
    [1200, /ends inside a header block \(176 of 512 bytes\)/],
    [530, /ends inside a PAX extended header: its header declares \d+ bytes/],
    [1000, /ends inside the padding after a PAX extended header/],
  ])('a tar cut at %i → CORRUPT_LAYER', async (cut, message) => {
    const error = await rejection(bufferLayer(tar().subarray(0, cut), { compression: 'none' }));
    expect(error.code).toBe('CORRUPT_LAYER');
    expect(error.message).toMatch(message);
  });

  it('a truncated tar inside a valid gzip → CORRUPT_LAYER; indexFiles false does not parse it', async () => {
    const cut = sh(`head -c 200000 '${at('layer.tar')}' | gzip | base64 -w0`);
    const bytes = Buffer.from(cut, 'base64');
    expect((await rejection(bufferLayer(bytes, { compression: 'gzip' }))).code).toBe('CORRUPT_LAYER');
    const digestsOnly = await bufferLayer(bytes, { compression: 'gzip', indexFiles: false });
    expect(digestsOnly.uncompressedSize).toBe(200_000);
  });

  it('bytes after the end-of-archive blocks are not indexed but are part of the diffID', async () => {
    const withTrailer = Buffer.concat([tar(), Buffer.from('not a tar header, just trailing data'.repeat(40))]);
    writeFileSync(at('trailer.tar'), withTrailer);
    const result = await readFileLayer(at('trailer.tar'), { compression: 'none' });
    expect(result.diffID).toBe(sha256File(at('trailer.tar')));
    expect(result.uncompressedSize).toBe(withTrailer.length);
    const clean = await readFileLayer(at('layer.tar'), { compression: 'none' });
    expect(result.files).toEqual(clean.files);
    expect(result.unsafeEntries).toEqual([]);
  });

  it("a regular file ('0') whose name ends in '/' keeps its data, so the next header is read in step (as Go)", async () => {
    const result = await readFileLayer(at('slash-file.tar'), { compression: 'none' });
    expect(result.files!.map((f) => [f.path, f.type, f.size])).toEqual([['looks-like-dir', 'file', 7], ['next', 'file', 1]]);
  });

  it('a lone zero block followed by another header → CORRUPT_LAYER (as Go archive/tar)', async () => {
    const error = await rejection(readFileLayer(at('lone-zero.tar'), { compression: 'none' }));
    expect(error.message).toMatch(/lone zero block/);
  });

  it('a tar without end-of-archive blocks that ends on an entry boundary is accepted (as Go archive/tar)', async () => {
    const result = await readFileLayer(at('no-eoa.tar'), { compression: 'none' });
    expect(result.files!.map((f) => [f.path, f.size])).toEqual([['one', 1], ['two', 2]]);
  });
});

describe('readLayer: hostile entries', () => {
  it('lists traversal, absolute, NUL and escaping hardlink entries with reasons', async () => {
    const result = await readFileLayer(at('evil.tar'), { compression: 'none' });
    expect(result.unsafeEntries).toEqual([
      { path: '../../etc/passwd', reason: "parent traversal ('..' component)" },
      { path: '/abs/file', reason: 'absolute path (indexed without the leading /)' },
      { path: 'a/../../escape', reason: "parent traversal ('..' component)" },
      { path: 'nul\0name', reason: 'NUL byte in name or link target' },
      { path: 'hl-out', reason: 'hardlink target escapes root' },
      { path: 'hl-abs', reason: 'hardlink target is an absolute path (indexed without the leading /)' },
      { path: 'weird', reason: 'unsupported tar entry type "Z"' },
    ]);
    expect(result.files!.map((f) => [f.path, f.type, f.linkTarget])).toEqual([
      ['ok.txt', 'file', undefined],
      ['abs/file', 'file', undefined],
      ['hl-abs', 'hardlink', 'ok.txt'],
      ['after.txt', 'file', undefined],
    ]);
    expect(result.files!.at(-1)!.sha256).toBe(`sha256:${sh("printf 'still indexed' | sha256sum").split(' ')[0]}`);
  });
});

describe('readLayer: limits', () => {
  it('a gzip bomb (2 GiB of zeros in ~2 MiB) → SIZE_LIMIT on the ratio, quickly', async () => {
    expect(statSync(at('bomb.gz')).size).toBeLessThan(3 * 1024 * 1024);
    const started = performance.now();
    const error = await rejection(readFileLayer(at('bomb.gz'), { compression: 'gzip', limits: { maxCompressionRatio: 100 } }));
    expect(error.code).toBe('SIZE_LIMIT');
    expect(error.message).toMatch(/compression ratio above 100.*limits\.maxCompressionRatio = 100\); raise limits\.maxCompressionRatio/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('a gzip bomb → SIZE_LIMIT on maxUncompressedBytes', async () => {
    const error = await rejection(
      readFileLayer(at('bomb.gz'), { compression: 'gzip', indexFiles: false, limits: { maxUncompressedBytes: 64 * 1024 * 1024 } }),
    );
    expect(error.message).toMatch(/uncompressed size passed 64 MiB \(limits\.maxUncompressedBytes = 67108864\)/);
  });

  it('a zstd bomb (1 GiB of zeros) trips the default ratio limit quickly', async () => {
    const started = performance.now();
    const error = await rejection(readFileLayer(at('bomb.zst'), { compression: 'zstd' }));
    expect(error.code).toBe('SIZE_LIMIT');
    expect(error.message).toMatch(/maxCompressionRatio = 1000/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('maxEntries, maxPathLength and the extended-header bound → SIZE_LIMIT', async () => {
    const entries = await rejection(readFileLayer(at('many.tar'), { compression: 'none', limits: { maxEntries: 10 } }));
    expect(entries.message).toMatch(/more than 10 entries \(limits\.maxEntries = 10\)/);
    await expect(readFileLayer(at('many.tar'), { compression: 'none', limits: { maxEntries: 50 } })).resolves.toBeDefined();

    const path = await rejection(readFileLayer(at('layer.tar'), { compression: 'none', limits: { maxPathLength: 100 } }));
    expect(path.message).toMatch(/limits\.maxPathLength = 100/);

    const pax = await rejection(readFileLayer(at('big-pax.tar'), { compression: 'none' }));
    expect(pax.code).toBe('SIZE_LIMIT');
    expect(pax.message).toMatch(/extended header is 2\.0 MiB/);
  });

  it('refuses nonsense limits and compression names with USAGE', async () => {
    await expect(readFileLayer(at('layer.tar'), { compression: 'none', limits: { maxEntries: -1 } })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(readFileLayer(at('layer.tar'), { compression: 'brotli' as 'none' })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('readLayer: abort', () => {
  it('rejects with the abort reason as soon as the signal fires, even while the source stalls', async () => {
    const source = new PassThrough();
    source.write(readFileSync(at('layer.tar.gz')).subarray(0, 5000));
    const controller = new AbortController();
    const reason = new Error('stop now');
    const pending = readLayer(source, {
      compression: 'gzip',
      signal: controller.signal,
      onProgress: () => controller.abort(reason),
    });
    await expect(pending).rejects.toBe(reason);
    expect(source.destroyed).toBe(true);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const reason = new Error('already');
    await expect(
      readFileLayer(at('layer.tar'), { compression: 'none', signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });

  it('passes errors from the blob stream through unchanged', async () => {
    const failure = new Error('connection reset');
    const source = new Readable({
      read() {
        this.destroy(failure);
      },
    });
    await expect(readLayer(source, { compression: 'gzip' })).rejects.toBe(failure);
  });
});
