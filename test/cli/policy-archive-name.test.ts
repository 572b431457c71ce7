import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter, writeDockerArchive, type ArchiveImageInput } from '@tollgate/core';
import { runCli } from '../support/cli.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// policy check docker-archive:<file> matches rules by the archive's own RepoTags name (issue 10, item 13) — a name
// the file claims for itself, which may choose a stricter rule but never a more lenient one than the default.
let dir: string;
let plain: ArchiveImageInput;
let setuid: ArchiveImageInput;

const HEADER = 'apiVersion: tollgate.dev/v1alpha1\nkind: ImagePolicy\n';
/** Team images must have no setuid files; anything else is allowed. */
const STRICT = `${HEADER}default: allow\nrules:\n  - name: team\n    images: ["registry.example.com/team/*"]\n    checks: {noSetuid: true}\n`;
/** Trusted images pass on their name (no requirement an archive could fail); anything else is denied. */
const PERMISSIVE = `${HEADER}default: deny\nrules:\n  - name: trusted\n    images: ["registry.example.com/trusted/**"]\n    checks: {maxLayers: 10}\n`;

async function archive(name: string, images: ArchiveImageInput | ArchiveImageInput[], format: 'legacy' | 'oci' = 'legacy'): Promise<string> {
  const path = join(dir, `${name}.tar`);
  await writeDockerArchive(path, images, { format });
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-archive-name-'));
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  const input = async (tag: string, mode: number): Promise<ArchiveImageInput> => {
    const built = await buildImage(writer, { tag, compression: 'none', layers: [{ files: [{ path: 'usr/bin/tool', content: '#!/bin/sh\n', mode }] }] });
    const layers = await Promise.all(built.layers.map((l) => readFile(join(dir, 'layout/blobs/sha256', l.digest.slice(7)))));
    return { config: built.configBytes, layers, repoTags: [] };
  };
  plain = await input('plain', 0o755);
  setuid = await input('setuid', 0o4755);
  await writeFile(join(dir, 'strict.yaml'), STRICT);
  await writeFile(join(dir, 'permissive.yaml'), PERMISSIVE);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const check = (image: string, policy: string, ...extra: string[]) => runCli(['policy', 'check', image, '--policy', join(dir, policy), '--no-cache', ...extra]);

describe('policy check docker-archive: names the image by its RepoTags', () => {
  it.each(['legacy', 'oci'] as const)('the %s archive\'s one name chooses the rule that governs it (here a stricter one: deny)', async (format) => {
    const file = await archive(`strict-${format}`, { ...setuid, repoTags: ['registry.example.com/team/app:1'] }, format);
    const result = await check(`docker-archive:${file}`, 'strict.yaml', '--json');
    expect(result.code, result.stderr).toBe(1);
    const verdict = JSON.parse(result.stdout);
    expect(verdict).toMatchObject({ decision: 'deny', rule: 'team', nameSource: 'archive', image: { name: 'registry.example.com/team/app' } });
    const text = await check(`docker-archive:${file}`, 'strict.yaml');
    expect(text.stdout).toMatch(/^Name: {5}registry\.example\.com\/team\/app \(claimed by the archive's RepoTags, not verified\)$/m);
    expect(text.stdout).toMatch(/FAIL {2}check {7}team\/checks\.noSetuid/);
  });

  it('with several images, the selected one\'s name is used (docker-archive:<file>:@<index>)', async () => {
    const file = await archive('two', [{ ...plain, repoTags: ['other.example.com/x:1'] }, { ...setuid, repoTags: ['registry.example.com/team/app:2'] }]);
    const second = await check(`docker-archive:${file}:@1`, 'strict.yaml', '--json');
    expect(second.code, second.stderr).toBe(1);
    expect(JSON.parse(second.stdout)).toMatchObject({ rule: 'team', image: { name: 'registry.example.com/team/app' } });
    const first = await check(`docker-archive:${file}:@0`, 'strict.yaml', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ decision: 'allow', image: { name: 'other.example.com/x' } });
  });

  it('a claimed name never makes the verdict more lenient than the default: a permissive rule does not admit on it', async () => {
    const file = await archive('crafted', { ...plain, repoTags: ['registry.example.com/trusted/base:1'] });
    const claimed = await check(`docker-archive:${file}`, 'permissive.yaml', '--json');
    expect(claimed.code, claimed.stderr).toBe(1);
    const verdict = JSON.parse(claimed.stdout);
    expect(verdict).toMatchObject({ decision: 'deny', rule: 'trusted', nameSource: 'archive' });
    expect(verdict.summary).toMatch(/rule "trusted" would allow registry\.example\.com\/trusted\/base, but the name is only claimed by the archive; the policy default \(deny\) applies/);
    expect(verdict.findings.at(-1)).toMatchObject({ kind: 'rule', name: 'trusted', passed: false });
    expect(verdict.findings.at(-1).reason).toMatch(/--name/);
    // The user vouches for the name: --name, or picking the tag out of the archive.
    expect((await check(`docker-archive:${file}`, 'permissive.yaml', '--name', 'registry.example.com/trusted/base')).code).toBe(0);
    const picked = await check(`docker-archive:${file}:registry.example.com/trusted/base:1`, 'permissive.yaml', '--json');
    expect(picked.code, picked.stderr).toBe(0);
    expect(JSON.parse(picked.stdout).nameSource).toBe('reference');
  });

  it('several tags of one repository are one name; tags naming several repositories are refused (2)', async () => {
    const same = await archive('same', { ...setuid, repoTags: ['registry.example.com/team/app:1', 'registry.example.com/team/app:latest'] });
    expect((await check(`docker-archive:${same}`, 'strict.yaml')).code).toBe(1);
    const several = await archive('several', { ...plain, repoTags: ['registry.example.com/team/app:1', 'registry.example.com/trusted/base:1'] });
    const result = await check(`docker-archive:${several}`, 'permissive.yaml');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toMatch(/names its image in 2 repositories \(registry\.example\.com\/team\/app, registry\.example\.com\/trusted\/base\); rules match one name: give it with --name$/);
  });

  it('a RepoTags value that is not an image reference is refused (2), never matched', async () => {
    for (const tag of ['registry.example.com/trusted/../base:1', 'Registry.Example.com/TRUSTED/base', 'registry.example.com/trusted/base:1 extra', '\u001b[2Jregistry.example.com/trusted/base']) {
      const file = await archive('invalid', { ...plain, repoTags: [tag] });
      const result = await check(`docker-archive:${file}`, 'permissive.yaml');
      expect(result.code, tag).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/which is not an image reference; give the name rules match with --name/);
      expect(result.stderr).not.toContain('\u001b');
    }
  });

  it('an archive without RepoTags falls back as documented: --name is required (2)', async () => {
    const file = await archive('untagged', plain);
    const result = await check(`docker-archive:${file}`, 'strict.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/carries no image name for rules to match; give one with --name/);
    expect((await check(`docker-archive:${file}`, 'strict.yaml', '--name', 'registry.example.com/team/app')).code).toBe(0);
  });
});
