import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, evaluatePolicy, loadPolicy, OciLayoutWriter, openImage, parseReference, policyImageFrom, type BuildLayer, type LayerFile } from '@tollgate/core';
import { runCli } from '../../../../test/support/cli.js';
import { HEADER, yaml } from './support.js';

// A hardlink's own tar header can carry another mode, owner or xattrs than the file it links to. Docker applies it to
// the shared inode, GNU tar ignores it: the file checks must treat what any header grants as possible.
// The CLI case runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/cli` first.

let dir: string;

const file = (path: string, content: string, extra: Partial<LayerFile> = {}): LayerFile => ({ path, content, mode: 0o755, ...extra });
const link = (path: string, target: string, extra: Partial<LayerFile> = {}): LayerFile => ({ path, type: 'hardlink', linkTarget: target, mode: 0o755, ...extra });
const whiteout = (path: string): LayerFile => ({ path, content: '' });

const images: Record<string, BuildLayer[]> = {
  // The case: the link's header says 4755, its target 0755.
  'link-setuid': [{ files: [file('opt/x', 'evil'), link('opt/y', 'opt/x', { mode: 0o4755 })] }],
  // Headers that agree with their target: nothing to flag.
  'link-plain': [{ files: [file('opt/x', 'tool'), link('opt/y', 'opt/x')] }],
  // A chain z -> y -> x, the last link carrying setgid.
  chain: [{ files: [file('opt/x', 'evil'), link('opt/y', 'opt/x'), link('opt/z', 'opt/y', { mode: 0o2755 })] }],
  // The link in a later layer, to a file of an earlier one.
  'lower-target': [{ files: [file('usr/bin/tool', 'evil')] }, { files: [link('opt/t', 'usr/bin/tool', { mode: 0o4755, uid: 0 })] }],
  // The target deleted by a later whiteout: the link keeps the file, and the header's claim on it.
  'target-removed': [{ files: [file('opt/x', 'evil'), link('opt/y', 'opt/x', { mode: 0o4755 })] }, { files: [whiteout('opt/.wh.x')] }],
  // A header that differs only in owner.
  'link-owner': [{ files: [file('opt/x', 'tool', { uid: 1000, gid: 1000 }), link('opt/y', 'opt/x', { uid: 0, gid: 0 })] }],
  // Secrets kept alive by a hardlink after their own name is deleted, and a secret name that is itself a link.
  'secret-linked': [
    { files: [file('root/.ssh/id_rsa', 'PRIVATE', { mode: 0o600 }), link('opt/keep', 'root/.ssh/id_rsa', { mode: 0o600 })] },
    { files: [whiteout('root/.ssh/.wh.id_rsa')] },
  ],
  'secret-name-is-link': [{ files: [file('opt/data', 'PRIVATE', { mode: 0o600 }), link('root/.ssh/id_ed25519', 'opt/data', { mode: 0o600 })] }],
  'secret-deleted': [{ files: [file('root/.ssh/id_rsa', 'PRIVATE', { mode: 0o600 })] }, { files: [whiteout('root/.ssh/.wh.id_rsa')] }],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-hardlink-headers-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  for (const [tag, layers] of Object.entries(images)) await buildImage(writer, { tag, layers, config: { config: { User: '1000' } } });
  await writeFile(join(dir, 'policy.yaml'), `${HEADER}rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    checks: {noSetuid: true}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verdictFor(checks: string, tag: string) {
  const policy = await loadPolicy(yaml(`rules:\n  - name: app\n    images: [ghcr.io/org/*]\n    checks: ${checks}\n`));
  const opened = await openImage(`oci:${join(dir, 'layout')}:${tag}`);
  return evaluatePolicy(await policyImageFrom(opened, parseReference('ghcr.io/org/app'), { reference: tag }), policy);
}

describe('noSetuid: hardlink headers', () => {
  it('denies a hardlink whose own header carries setuid, naming the link and the file it shares', async () => {
    const verdict = await verdictFor('{noSetuid: true}', 'link-setuid');
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toContain('/opt/x (setuid, mode 0755, or 4755 by the hardlink header of /opt/y: extractors disagree on which applies)');
    expect(verdict.summary).toContain('/opt/y (setuid, mode 0755, or 4755 by the hardlink header of /opt/y');
  });

  it('every path of the file is flagged, so allow-listing the link does not hide its target', async () => {
    const verdict = await verdictFor('{noSetuid: {allow: [opt/y]}}', 'link-setuid');
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toMatch(/1 setuid\/setgid file outside the allow-list: \/opt\/x \(setuid/);
    expect((await verdictFor('{noSetuid: {allow: [opt/x, opt/y]}}', 'link-setuid')).decision).toBe('allow');
  });

  it('allows hardlinks whose headers agree with their target, and a header that differs only in owner', async () => {
    expect((await verdictFor('{noSetuid: true}', 'link-plain')).decision).toBe('allow');
    expect((await verdictFor('{noSetuid: true}', 'link-owner')).decision).toBe('allow');
  });

  it('follows chains, links to files of earlier layers, and links whose target a later layer deletes', async () => {
    const chain = await verdictFor('{noSetuid: {allow: [opt/z]}}', 'chain');
    expect(chain.decision).toBe('deny');
    expect(chain.summary).toContain('/opt/x (setgid, mode 0755, or 2755 by the hardlink header of /opt/z');
    expect(chain.summary).toContain('/opt/y (setgid');
    const lower = await verdictFor('{noSetuid: {allow: [opt/t]}}', 'lower-target');
    expect(lower.decision).toBe('deny');
    expect(lower.summary).toContain('/usr/bin/tool (setuid, mode 0755, or 4755 by the hardlink header of /opt/t');
    const removed = await verdictFor('{noSetuid: true}', 'target-removed');
    expect(removed.decision).toBe('deny');
    expect(removed.summary).toContain('/opt/y (setuid');
    expect(removed.summary).not.toContain('/opt/x');
  });

  it('tollgate policy check denies the image end to end (OCI layout, built CLI)', async () => {
    const run = (tag: string) => runCli(['policy', 'check', `oci:${join(dir, 'layout')}:${tag}`, '--name', 'ghcr.io/org/app', '--policy', join(dir, 'policy.yaml'), '--data', join(dir, 'data')]);
    const denied = await run('link-setuid');
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain('/opt/y (setuid, mode 0755, or 4755 by the hardlink header of /opt/y');
    const allowed = await run('link-plain');
    expect(allowed.code).toBe(0);
  });
});

describe('noSecrets: a secret kept by a hardlink is present', () => {
  it('reports a deleted secret that a hardlink still shows as present, naming the path', async () => {
    const verdict = await verdictFor('{noSecrets: true}', 'secret-linked');
    expect(verdict.decision).toBe('deny');
    expect(verdict.summary).toContain('/root/.ssh/id_rsa (layer 1, removed or replaced later but still present through a hardlink at /opt/keep)');
  });

  it('reports a secret name that is itself a hardlink as present, and a deleted unlinked secret as removed', async () => {
    const linked = await verdictFor('{noSecrets: true}', 'secret-name-is-link');
    expect(linked.decision).toBe('deny');
    expect(linked.summary).toContain('/root/.ssh/id_ed25519 (layer 1)');
    expect(linked.summary).not.toContain('removed');
    const deleted = await verdictFor('{noSecrets: true}', 'secret-deleted');
    expect(deleted.summary).toContain('/root/.ssh/id_rsa (layer 1, removed or replaced later but still in the layer blob)');
  });
});
