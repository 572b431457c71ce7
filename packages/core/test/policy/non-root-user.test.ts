/**
 * nonRootUser against real images written by our layout writer: numeric users are decided by the number, names are
 * looked up in the image's own /etc/passwd as the merged filesystem shows it, and anything uncertain fails closed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, evaluatePolicy, loadPolicy, OciLayoutWriter, openImage, parseReference, policyImageFrom, type BuildLayer, type PolicyImage } from '@tollgate/core';
import { syntheticImage, yaml } from './support.js';

const ROOT_LINE = 'root:x:0:0:root:/root:/bin/sh\n';
const passwd = (content: string): BuildLayer => ({ files: [{ path: 'etc/', type: 'dir' }, { path: 'etc/passwd', content }] });
const other = (path: string): BuildLayer => ({ files: [{ path, content: path }] });

/** Tag → layers (bottom first) and the config User. */
const images: Record<string, { layers: BuildLayer[]; user: string }> = {
  mapped: { layers: [passwd(`${ROOT_LINE}app:x:1000:1000::/app:/bin/sh\n`), other('app/server')], user: 'app' },
  'mapped-with-group': { layers: [passwd(`${ROOT_LINE}app:x:1000:1000::/app:/bin/sh\n`)], user: 'app:app' },
  'mapped-to-zero': { layers: [passwd(`${ROOT_LINE}app:x:0:0::/app:/bin/sh\n`)], user: 'app' },
  'first-wins-safe': { layers: [passwd('app:x:1000:1000::/:/bin/sh\napp:x:0:0::/:/bin/sh\n')], user: 'app' },
  'first-wins-root': { layers: [passwd('app:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n')], user: 'app' },
  'upper-maps-root': { layers: [passwd('app:x:1000:1000::/:/bin/sh\n'), other('x'), passwd('app:x:0:0::/:/bin/sh\n')], user: 'app' },
  'upper-maps-safe': { layers: [passwd('app:x:0:0::/:/bin/sh\n'), passwd('app:x:1001:1001::/:/bin/sh\n'), other('x')], user: 'app' },
  'duplicate-in-layer': {
    layers: [{ files: [{ path: 'etc/passwd', content: 'app:x:0:0::/:/bin/sh\n' }, { path: 'etc/passwd', content: 'app:x:1002:1002::/:/bin/sh\n' }] }],
    user: 'app',
  },
  'whited-out': { layers: [passwd('app:x:1000:1000::/:/bin/sh\n'), { files: [{ path: 'etc/.wh.passwd', content: '' }] }], user: 'app' },
  'opaque-etc': { layers: [passwd('app:x:1000:1000::/:/bin/sh\n'), { files: [{ path: 'etc/.wh..wh..opq', content: '' }, { path: 'etc/hostname', content: 'h' }] }], user: 'app' },
  symlinked: {
    layers: [{ files: [{ path: 'etc/passwd.real', content: 'app:x:1000:1000::/:/bin/sh\n' }, { path: 'etc/passwd', type: 'symlink', linkTarget: 'passwd.real' }] }],
    user: 'app',
  },
  'etc-symlink': { layers: [{ files: [{ path: 'real/passwd', content: 'app:x:1000:1000::/:/bin/sh\n' }, { path: 'etc', type: 'symlink', linkTarget: 'real' }] }], user: 'app' },
  directory: { layers: [{ files: [{ path: 'etc/passwd/', type: 'dir' }] }], user: 'app' },
  hardlinked: {
    layers: [{ files: [{ path: 'etc/passwd.real', content: 'app:x:1003:1003::/:/bin/sh\n' }, { path: 'etc/passwd', type: 'hardlink', linkTarget: 'etc/passwd.real' }] }],
    user: 'app',
  },
  // The link keeps the content its target had when the link's layer was applied; a later rewrite of the target does not follow.
  'hardlinked-lower': {
    layers: [
      { files: [{ path: 'etc/passwd.real', content: 'app:x:1005:1005::/:/bin/sh\n' }] },
      { files: [{ path: 'etc/passwd', type: 'hardlink', linkTarget: 'etc/passwd.real' }] },
      { files: [{ path: 'etc/passwd.real', content: 'app:x:0:0::/:/bin/sh\n' }] },
    ],
    user: 'app',
  },
  'no-passwd': { layers: [other('bin/sh')], user: 'app' },
  'name-missing': { layers: [passwd(`${ROOT_LINE}web:x:1000:1000::/:/bin/sh\n`)], user: 'app' },
  oversize: { layers: [passwd(`app:x:1000:1000::/:/bin/sh\n#${'x'.repeat(1024 * 1024)}\n`)], user: 'app' },
  garbage: {
    layers: [passwd(`# comment app:x:0:0\n\n\x00\xff\xfe binary\nno colons here\n::::\n  \t\nweb:x:abc:1\napp:x:1004:1004::/:/bin/sh\r\n`)],
    user: 'app',
  },
  'uid-not-decimal': { layers: [passwd('app:x:1e3:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n')], user: 'app' },
  'uid-missing': { layers: [passwd('app:x\napp:x:1000:1000::/:/bin/sh\n')], user: 'app' },
  'uid-too-big': { layers: [passwd('app:x:4294967296:0::/:/bin/sh\n')], user: 'app' },
  'named-root': { layers: [passwd('root:x:1000:1000::/:/bin/sh\n')], user: 'root' },
  'unicode-space': { layers: [passwd('\u00a0app:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n')], user: 'app' },
};

let dir: string;
let layout: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-non-root-user-'));
  layout = join(dir, 'layout');
  const writer = await OciLayoutWriter.create(layout);
  for (const [tag, { layers, user }] of Object.entries(images)) await buildImage(writer, { tag, layers, config: { config: { User: user } } });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const POLICY = 'rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    checks: {nonRootUser: true}\n';

/** Opens a tag and counts the blobs it opens (layer reads). */
async function open(tag: string): Promise<{ image: PolicyImage; opens: () => number }> {
  const opened = await openImage(`oci:${layout}:${tag}`);
  let opens = 0;
  const openBlob = opened.image.openBlob.bind(opened.image);
  opened.image.openBlob = (...args) => {
    opens++;
    return openBlob(...args);
  };
  return { image: await policyImageFrom(opened, parseReference('ghcr.io/org/app'), { reference: tag }), opens: () => opens };
}

async function outcome(image: PolicyImage): Promise<{ passed: boolean; reason: string }> {
  const verdict = await evaluatePolicy(image, await loadPolicy(yaml(POLICY)));
  const finding = verdict.findings.find((f) => f.name === 'app/checks.nonRootUser')!;
  expect(verdict.decision).toBe(finding.passed ? 'allow' : 'deny');
  return finding;
}

const check = async (tag: string) => outcome((await open(tag)).image);

describe('nonRootUser: numeric users and root, from the config alone', () => {
  const unreadable = (user: string | undefined) =>
    syntheticImage(
      { registry: 'ghcr.io', repository: 'org/app' },
      {
        config: { rootfs: { type: 'layers', diff_ids: [] }, config: user === undefined ? {} : { User: user } },
        layerIndexes: () => Promise.reject(new Error('no layer may be read for a numeric user')),
        readLayerFile: () => Promise.reject(new Error('no layer may be read for a numeric user')),
      },
    );

  it.each(['1000', '1000:1000', '1000:wheel', '0001', '65534:0', '2147483647'])('%s passes', async (user) => {
    const result = await outcome(unreadable(user));
    expect(result).toMatchObject({ passed: true });
    expect(result.reason).toMatch(/runs as uid [1-9][0-9]* \(User /);
  });

  it.each([undefined, '', '  ', '0', '0:0', '0:1000', 'root', 'root:root', '00', '+0', '-0'])('%j is root', async (user) => {
    const result = await outcome(unreadable(user));
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/runs as root/);
  });

  it.each(['-5', '2147483648', '4294967296', '99999999999999999999'])('%s is not a uid a runtime accepts', async (user) => {
    const result = await outcome(unreadable(user));
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/not a uid a runtime accepts.*set USER to a numeric uid/);
  });

  it('reads no layer for a numeric user, one extra for a name, and nothing more the second time', async () => {
    const numeric = await open('mapped');
    numeric.image.config = { ...numeric.image.config, config: { User: '1000' } };
    expect((await outcome(numeric.image)).passed).toBe(true);
    expect(numeric.opens()).toBe(0);

    const named = await open('mapped');
    expect((await outcome(named.image)).passed).toBe(true);
    expect(named.opens()).toBe(2 + 1); // the file index of both layers, then the layer holding /etc/passwd
    expect((await outcome(named.image)).passed).toBe(true);
    expect((await outcome({ ...named.image })).passed).toBe(true);
    expect(named.opens()).toBe(3);
  });

  it('fails closed for a name when the evaluation cannot read layer contents', async () => {
    const { image } = await open('mapped');
    const { readLayerFile: _dropped, ...withoutReader } = image;
    const result = await outcome(withoutReader);
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/cannot be checked: this evaluation cannot read the image's layers; set USER to a numeric uid/);
  });
});

describe('nonRootUser: names looked up in the image\'s /etc/passwd', () => {
  it.each([
    ['mapped', 1000],
    ['mapped-with-group', 1000],
    ['first-wins-safe', 1000],
    ['upper-maps-safe', 1001],
    ['duplicate-in-layer', 1002],
    ['hardlinked', 1003],
    ['hardlinked-lower', 1005],
    ['garbage', 1004],
  ])('%s: passes with the uid /etc/passwd gives', async (tag, uid) => {
    const result = await check(tag);
    expect(result.passed, result.reason).toBe(true);
    expect(result.reason).toMatch(new RegExp(`runs as "app", which /etc/passwd maps to uid ${uid} \\(line \\d+\\), not root`));
  });

  it.each(['mapped-to-zero', 'first-wins-root', 'upper-maps-root'])('%s: fails, the name is uid 0', async (tag) => {
    const result = await check(tag);
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/runs as "app", which \/etc\/passwd maps to uid 0 \(line \d+\): that is root; set USER to a numeric uid/);
  });

  it('fails for the name root whatever /etc/passwd says', async () => {
    expect((await check('named-root')).reason).toMatch(/runs as root: its config has User "root"/);
  });

  it.each([
    ['whited-out', 'the image has no /etc/passwd'],
    ['opaque-etc', 'the image has no /etc/passwd'],
    ['no-passwd', 'the image has no /etc/passwd'],
    ['symlinked', '/etc/passwd is a symlink (to "passwd.real"), which tollgate does not follow'],
    ['etc-symlink', '/etc is a symlink, not a directory'],
    ['directory', '/etc/passwd is a dir, not a regular file'],
    ['name-missing', '/etc/passwd has no entry for "app"'],
    ['oversize', `/etc/passwd is 1.0 MiB (${1024 * 1024 + 29} bytes), over the 1 MiB (1048576 bytes) tollgate reads`],
    ['uid-not-decimal', 'its first entry (line 1) has uid "1e3", not a plain decimal number'],
    ['uid-missing', 'its first entry (line 1) has no uid field'],
    ['uid-too-big', 'its first entry (line 1) has uid "4294967296", not a plain decimal number up to 2147483647'],
    ['unicode-space', 'line 1 names it only after unusual whitespace'],
  ])('%s: fails closed (%s)', async (tag, why) => {
    const result = await check(tag);
    expect(result.passed).toBe(false);
    expect(result.reason).toContain(`the image runs as "app", which cannot be checked: `);
    expect(result.reason).toContain(why);
    expect(result.reason).toMatch(/; set USER to a numeric uid \(USER 1000\)$/);
    expect(result.reason).not.toContain('\n');
  });
});
