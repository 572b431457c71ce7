import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffImages, type BuildLayer, type ImageDiff, type LayerFile } from '@tollgate/core';
import { changeSet, packRaw, tempLayout, writeRawImage } from './support.js';

type Layout = Awaited<ReturnType<typeof tempLayout>>;

const f = (path: string, content = path, extra: Partial<LayerFile> = {}): LayerFile => ({ path, content, ...extra });
const d = (path: string, extra: Partial<LayerFile> = {}): LayerFile => ({ path, type: 'dir', ...extra });
const L = (...files: LayerFile[]): BuildLayer => ({ files });

describe('diffImages: every change class, exact change sets (images built with our OCI writer)', () => {
  let layout: Layout;
  const diff = async (a: string, b: string, options: Parameters<typeof diffImages>[2] = {}): Promise<ImageDiff> => diffImages(await layout.open(a), await layout.open(b), options);

  const base = L(d('etc'), f('etc/a'), f('etc/b'), d('d'), f('d/x'), f('d/y'), d('d/sub'), f('d/sub/z'), d('bin'), f('bin/tool', 'tool', { mode: 0o755 }), f('h/a', 'v1'), f('h/b', 'v1-unrelated'));

  beforeAll(async () => {
    layout = await tempLayout();
    await layout.build('base', [base]);
    await layout.build('whiteout', [base, L(f('etc/.wh.a', ''))]);
    await layout.build('opaque', [base, L(f('d/y', 'new-y'), f('d/.wh..wh..opq', ''), d('d/sub'), f('d/n'))]);
    await layout.build('dir-to-file', [base, L(f('d', 'now a file'))]);
    await layout.build('dir-to-file-and-back', [base, L(f('d', 'now a file')), L(d('d'), f('d/again'))]);
    await layout.build('hl1', [L(d('h'), f('h/a', 'v1'), { path: 'h/b', type: 'hardlink', linkTarget: 'h/a' })]);
    await layout.build('hl2', [L(d('h'), f('h/a', 'v1'), { path: 'h/b', type: 'hardlink', linkTarget: 'h/a' }), L(f('h/a', 'v2'))]);
    await layout.build('hl3', [L(d('h'), f('h/a', 'v1'), f('h/b', 'v1'))]);
    await layout.build('sym1', [L({ path: 'lib/l', type: 'symlink', linkTarget: 'one.so' })]);
    await layout.build('sym2', [L({ path: 'lib/l', type: 'symlink', linkTarget: 'two.so' })]);
    await layout.build('mode', [base, L(f('etc/a', 'etc/a', { mode: 0o600 }))]);
    await layout.build('owner', [base, L(f('etc/a', 'etc/a', { uid: 1000, gid: 100 }))]);
    await layout.build('setuid', [base, L(f('bin/tool', 'tool', { mode: 0o4755 }))]);
    await layout.build('reordered', [L(f('one')), L(f('two')), L(f('three'))]);
    await layout.build('reordered2', [L(f('two')), L(f('one')), L(f('three'))]);
  });
  afterAll(async () => layout?.cleanup());

  it('the same image is identical and nothing is read', async () => {
    const result = await diff('base', 'base');
    expect(result.identical).toBe(true);
    expect(result.files).toEqual([]);
    expect(result.stats.layersIndexed).toBe(0);
    expect(result.schemaVersion).toBe(1);
  });

  it('a file deleted by a whiteout in an upper layer', async () => {
    const result = await diff('base', 'whiteout');
    expect(changeSet(result.files)).toEqual(['- /etc/a']);
    expect(result.files[0]!.before).toEqual({ type: 'file', mode: '0644', uid: 0, gid: 0, size: 5, sha256: expect.stringMatching(/^sha256:/) });
    expect(result.identical).toBe(false);
    expect(result.summary.layers).toEqual({ shared: 1, added: 1, removed: 0, reordered: 0, recompressed: 0 });
    expect(result.stats.sharedPrefixLayers).toBe(1);
  });

  it('an opaque directory that hides a lower directory and re-adds some files', async () => {
    const result = await diff('base', 'opaque');
    expect(changeSet(result.files)).toEqual(['+ /d/n', '- /d/sub/z', '- /d/x', '~ /d/y content']);
  });

  it('a directory replaced by a file, and back', async () => {
    expect(changeSet((await diff('base', 'dir-to-file')).files)).toEqual(['~ /d type,mode', '- /d/sub', '- /d/sub/z', '- /d/x', '- /d/y']);
    expect(changeSet((await diff('base', 'dir-to-file-and-back')).files)).toEqual(['+ /d/again', '- /d/sub', '- /d/sub/z', '- /d/x', '- /d/y']);
    const back = await diff('dir-to-file', 'dir-to-file-and-back');
    expect(changeSet(back.files)).toEqual(['~ /d type,mode', '+ /d/again']);
    expect(back.files[0]!.before!.type).toBe('file');
    expect(back.files[0]!.after!.type).toBe('dir');
  });

  it('a hardlink whose target is overwritten in a later layer keeps the old content', async () => {
    const result = await diff('hl1', 'hl2');
    expect(changeSet(result.files)).toEqual(['~ /h/a content']);
    const hl2 = await diff('hl3', 'hl2');
    // In hl2, /h/b is the hardlink to the first /h/a (content v1); in hl3 it is a plain file with that content.
    expect(changeSet(hl2.files)).toEqual(['~ /h/a content', '~ /h/b hardlink']);
    expect(hl2.files[1]!.after).toMatchObject({ type: 'file', hardlinkTo: '/h/a', sha256: hl2.files[1]!.before!.sha256 });
  });

  it('a symlink retargeted', async () => {
    const result = await diff('sym1', 'sym2');
    expect(changeSet(result.files)).toEqual(['~ /lib/l linkTarget']);
    expect(result.files[0]!.before!.linkTarget).toBe('one.so');
    expect(result.files[0]!.after!.linkTarget).toBe('two.so');
  });

  it('a mode-only change and an owner-only change', async () => {
    const mode = await diff('base', 'mode');
    expect(changeSet(mode.files)).toEqual(['~ /etc/a mode']);
    expect([mode.files[0]!.before!.mode, mode.files[0]!.after!.mode]).toEqual(['0644', '0600']);
    const owner = await diff('base', 'owner');
    expect(changeSet(owner.files)).toEqual(['~ /etc/a uid,gid']);
    expect(owner.files[0]!.after).toMatchObject({ uid: 1000, gid: 100 });
  });

  it('a setuid bit added is flagged', async () => {
    const result = await diff('base', 'setuid');
    expect(changeSet(result.files)).toEqual(['~ /bin/tool special-bits']);
    expect(result.files[0]!.flags).toEqual(['setuid-added']);
    expect(result.flagged).toEqual([{ section: 'files', target: '/bin/tool', flags: ['setuid-added'] }]);
    // the reverse direction removes the bit: not a flag
    expect((await diff('setuid', 'base')).flagged).toEqual([]);
  });

  it('reordered layers', async () => {
    const result = await diff('reordered', 'reordered2');
    expect(result.files).toEqual([]);
    expect(result.summary.layers).toEqual({ shared: 3, added: 0, removed: 0, reordered: 1, recompressed: 0 });
    expect(result.identical).toBe(false);
  });

  it('ignore globs, and only one section', async () => {
    const result = await diff('base', 'opaque', { ignore: ['/d/sub/**', 'd/x'] });
    expect(changeSet(result.files)).toEqual(['+ /d/n', '~ /d/y content']);
    const configOnly = await diff('base', 'opaque', { only: ['config'] });
    expect(configOnly.files).toEqual([]);
    expect(configOnly.layers).toEqual({ shared: [], added: [], removed: [] });
    expect(configOnly.config.map((c) => c.field)).toEqual(['history']);
    expect(configOnly.stats.layersIndexed).toBe(0);
    await expect(diff('base', 'opaque', { only: ['nope' as 'files'] })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

describe('diffImages: raw tar features, recompression, config, manifests', () => {
  let layout: Layout;
  beforeAll(async () => {
    layout = await tempLayout();
  });
  afterAll(async () => layout?.cleanup());

  it('xattrs, device numbers, fifos and mtimes (mtime only with timestamps)', async () => {
    const one = await packRaw([
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'bin/ping', type: 'file', mode: 0o755, content: 'ping', pax: { 'SCHILY.xattr.user.note': 'a' } },
      { name: 'etc/motd', type: 'file', mode: 0o644, content: 'hi', mtime: new Date(1000_000) },
    ]);
    const two = await packRaw([
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 5 },
      { name: 'dev/sda', type: 'char-device' as 'character-device', mode: 0o660, devmajor: 8, devminor: 0 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'bin/ping', type: 'file', mode: 0o755, content: 'ping', pax: { 'SCHILY.xattr.user.note': 'b', 'SCHILY.xattr.security.capability': 'cap' } },
      { name: 'etc/motd', type: 'file', mode: 0o644, content: 'hi', mtime: new Date(2000_000) },
    ]);
    await writeRawImage(layout.writer, { tag: 'raw1', layers: [one] });
    await writeRawImage(layout.writer, { tag: 'raw2', layers: [two] });
    const a = await layout.open('raw1');
    const b = await layout.open('raw2');
    const plain = await diffImages(a, b);
    expect(changeSet(plain.files)).toEqual(['~ /bin/ping xattrs', '~ /dev/null device', '~ /dev/sda type']);
    expect(plain.files[0]!.flags).toEqual(['file-capabilities']);
    expect(plain.files[1]!.before).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
    expect(plain.files[1]!.after).toMatchObject({ type: 'char', devmajor: 1, devminor: 5 });
    const withTimes = await diffImages(a, b, { timestamps: true });
    expect(changeSet(withTimes.files)).toEqual(['~ /bin/ping xattrs', '~ /dev/null device', '~ /dev/sda type', '~ /etc/motd mtime']);
    expect(withTimes.files[3]!.before!.mtime).toBe(1000);
    const semantic = await diffImages(a, b, { timestamps: true, semantic: true });
    expect(changeSet(semantic.files)).toEqual(['~ /bin/ping xattrs', '~ /dev/null device', '~ /dev/sda type']);
  });

  it('identical content with recompressed layers: no file read, layers "recompressed", semantically identical', async () => {
    const tar1 = await packRaw([{ name: 'a', type: 'file', content: 'x'.repeat(10_000) }]);
    const tar2 = await packRaw([{ name: 'b', type: 'file', content: 'hello' }]);
    await writeRawImage(layout.writer, { tag: 'gz6', layers: [tar1, tar2], gzipLevels: [6, 6] });
    await writeRawImage(layout.writer, { tag: 'gz1', layers: [tar1, tar2], gzipLevels: [1, 6] });
    const result = await diffImages(await layout.open('gz6'), await layout.open('gz1'));
    expect(result.files).toEqual([]);
    expect(result.summary.layers).toEqual({ shared: 2, added: 0, removed: 0, reordered: 0, recompressed: 1 });
    expect(result.layers.shared[0]!.recompressed).toBe(true);
    expect(result.layers.shared[0]!.a.digest).not.toBe(result.layers.shared[0]!.b.digest);
    expect(result.stats.layersIndexed).toBe(0);
    expect(result.identical).toBe(false);
    expect((await diffImages(await layout.open('gz6'), await layout.open('gz1'), { semantic: true })).identical).toBe(true);
  });

  it('config: user, entrypoint, cmd, env, working dir, ports, volumes, labels, stop signal, healthcheck, platform, history', async () => {
    const tar = await packRaw([{ name: 'x', type: 'file', content: 'x' }]);
    await writeRawImage(layout.writer, {
      tag: 'cfg1',
      layers: [tar],
      config: {
        created: '2024-01-01T00:00:00Z',
        config: {
          User: '1000:1000', Entrypoint: ['/app'], Cmd: ['serve'], Env: ['PATH=/usr/bin', 'KEEP=1', 'GONE=1'], WorkingDir: '/srv',
          ExposedPorts: { '8080/tcp': {} }, Volumes: { '/data': {} }, Labels: { team: 'a', same: 's' }, StopSignal: 'SIGTERM',
          Healthcheck: { Test: ['CMD', 'true'], Interval: 1 },
        },
        history: [{ created_by: 'build one' }],
      },
    });
    await writeRawImage(layout.writer, {
      tag: 'cfg2',
      layers: [tar],
      platform: { os: 'linux', architecture: 'arm64' },
      config: {
        created: '2025-01-01T00:00:00Z',
        config: {
          User: 'root', Entrypoint: ['/app', '--debug'], Cmd: null, Env: ['KEEP=1', 'PATH=/usr/local/bin:/usr/bin', 'NEW=2'], WorkingDir: '/',
          ExposedPorts: { '8080/tcp': {}, '22/tcp': {} }, Volumes: {}, Labels: { team: 'b', same: 's' }, StopSignal: 'SIGKILL',
          Healthcheck: { Test: ['CMD', 'false'], Interval: 1 },
        },
        history: [{ created_by: 'build two' }],
      },
    });
    const result = await diffImages(await layout.open('cfg1'), await layout.open('cfg2'));
    expect(result.files).toEqual([]);
    expect(result.config.map((c) => [c.field, c.before, c.after])).toEqual([
      ['architecture', 'amd64', 'arm64'],
      ['created', '2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z'],
      ['config.User', '1000:1000', 'root'],
      ['config.Entrypoint', ['/app'], ['/app', '--debug']],
      ['config.Cmd', ['serve'], undefined],
      ['config.Env[GONE]', '1', undefined],
      ['config.Env[NEW]', undefined, '2'],
      ['config.Env[PATH]', '/usr/bin', '/usr/local/bin:/usr/bin'],
      ['config.WorkingDir', '/srv', '/'],
      ['config.ExposedPorts', ['8080/tcp'], ['22/tcp', '8080/tcp']],
      ['config.Volumes', ['/data'], []],
      ['config.Labels[team]', 'a', 'b'],
      ['config.StopSignal', 'SIGTERM', 'SIGKILL'],
      ['config.Healthcheck', { Test: ['CMD', 'true'], Interval: 1 }, { Test: ['CMD', 'false'], Interval: 1 }],
      ['history', [{ created_by: 'build one' }], [{ created_by: 'build two' }]],
    ]);
    expect(result.flagged).toEqual([{ section: 'config', target: 'config.User', flags: ['user-root'] }]);
    const semantic = await diffImages(await layout.open('cfg1'), await layout.open('cfg2'), { semantic: true });
    expect(semantic.config.map((c) => c.field)).not.toContain('history');
    expect(semantic.config.map((c) => c.field)).not.toContain('created');
    expect(semantic.config.map((c) => c.field)).toContain('config.Volumes');
  });

  it('security flags: sensitive paths, private keys, credential files, world-writable, setgid, escaping links', async () => {
    const before = await packRaw([{ name: 'etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\n' }, { name: 'tmp', type: 'directory', mode: 0o1777 }]);
    const after = await packRaw([
      { name: 'etc/passwd', type: 'file', content: 'root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n' },
      { name: 'tmp', type: 'directory', mode: 0o1777 },
      { name: 'etc/sudoers.d/evil', type: 'file', content: 'evil ALL=(ALL) NOPASSWD:ALL\n', mode: 0o440 },
      { name: 'root/.ssh/authorized_keys', type: 'file', content: 'ssh-ed25519 AAAA\n', mode: 0o600 },
      { name: 'etc/cron.d/job', type: 'file', content: '* * * * * root sh\n' },
      { name: 'etc/ld.so.preload', type: 'file', content: '/lib/evil.so\n' },
      { name: 'home/app/.ssh/id_ed25519', type: 'file', content: 'KEY', mode: 0o600 },
      { name: 'app/server.key', type: 'file', content: 'KEY' },
      { name: 'app/.netrc', type: 'file', content: 'machine x login y password z' },
      { name: 'app/.docker/config.json', type: 'file', content: '{}' },
      { name: 'app/shared', type: 'file', content: 'w', mode: 0o666 },
      { name: 'app/bin/sg', type: 'file', content: 'sg', mode: 0o2755 },
      { name: 'app/esc', type: 'symlink', linkname: '../../../etc/shadow' },
      { name: 'app/ok', type: 'symlink', linkname: '../etc/passwd' },
      { name: 'usr/share/doc/x.pem', type: 'file', content: 'CERT' },
    ]);
    await writeRawImage(layout.writer, { tag: 'sec1', layers: [before] });
    await writeRawImage(layout.writer, { tag: 'sec2', layers: [after] });
    const result = await diffImages(await layout.open('sec1'), await layout.open('sec2'));
    const flags = Object.fromEntries(result.files.map((c) => [c.path, c.flags]));
    expect(flags).toEqual({
      '/app/.docker/config.json': ['credential-file'],
      '/app/.netrc': ['credential-file'],
      '/app/bin/sg': ['setgid-added'],
      '/app/esc': ['link-escapes-root'],
      '/app/ok': [],
      '/app/server.key': ['private-key'],
      '/app/shared': ['world-writable'],
      '/etc/cron.d/job': ['sensitive-path'],
      '/etc/ld.so.preload': ['sensitive-path'],
      '/etc/passwd': ['sensitive-path'],
      '/etc/sudoers.d/evil': ['sensitive-path'],
      '/home/app/.ssh/id_ed25519': ['sensitive-path', 'private-key'],
      '/root/.ssh/authorized_keys': ['sensitive-path'],
      '/usr/share/doc/x.pem': [],
    });
    expect(result.flagged.map((f) => f.target)).toEqual(result.files.filter((c) => c.flags.length > 0).map((c) => c.path));
  });

  it('manifests and indexes: annotations, media types, platforms present in one index only', async () => {
    const tar = await packRaw([{ name: 'x', type: 'file', content: 'x' }]);
    const w = layout.writer;
    const amd = await writeRawImage(w, { tag: 'p-amd64', layers: [tar], annotations: { 'org.opencontainers.image.created': '1', keep: 'k' } });
    const arm = await writeRawImage(w, { tag: 'p-arm64', layers: [tar], platform: { os: 'linux', architecture: 'arm64' } });
    const amd2 = await writeRawImage(w, { tag: 'p-amd64-2', layers: [tar], annotations: { 'org.opencontainers.image.created': '2', keep: 'k' } });
    const s390 = await writeRawImage(w, { tag: 'p-s390x', layers: [tar], platform: { os: 'linux', architecture: 's390x' } });
    const size = (m: object) => Buffer.byteLength(JSON.stringify(m));
    const desc = (r: { digest: string; manifest: object }, architecture: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: r.digest, size: size(r.manifest), platform: { os: 'linux', architecture } });
    const index1 = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [desc(amd, 'amd64'), desc(arm, 'arm64')] };
    const index2 = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [desc(amd2, 'amd64'), desc(s390, 's390x')], annotations: { note: 'v2' } };
    await w.writeManifest(Buffer.from(JSON.stringify(index1)), 'application/vnd.oci.image.index.v1+json', 'idx1');
    await w.writeManifest(Buffer.from(JSON.stringify(index2)), 'application/vnd.oci.image.index.v1+json', 'idx2');
    const { openImage } = await import('@tollgate/core');
    const a = await openImage(`oci:${w.dir}:idx1`, { platform: { os: 'linux', architecture: 'amd64' } });
    const b = await openImage(`oci:${w.dir}:idx2`, { platform: { os: 'linux', architecture: 'amd64' } });
    try {
      const result = await diffImages(a, b);
      expect(result.manifest).toEqual([
        { scope: 'index', field: 'annotations[note]', after: 'v2' },
        { scope: 'index', field: 'platforms', before: 'linux/arm64' },
        { scope: 'index', field: 'platforms', after: 'linux/s390x' },
        { scope: 'manifest', field: 'annotations[org.opencontainers.image.created]', before: '1', after: '2' },
      ]);
      expect(result.a.indexDigest).toBe(a.root.digest);
      expect(result.files).toEqual([]);
      const semantic = await diffImages(a, b, { semantic: true });
      expect(semantic.manifest.map((m) => m.field)).toEqual(['annotations[note]', 'platforms', 'platforms']);
      expect(semantic.identical).toBe(false);
    } finally {
      await a.source.close?.();
      await b.source.close?.();
    }
  });
});
