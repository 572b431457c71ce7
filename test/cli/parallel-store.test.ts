import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, LayerIndexStore, OciLayoutWriter } from '@tollgate/core';
import { runCli, type CliResult } from '../support/cli.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
// The layer index store (level) admits one process at a time; CI runs tollgate commands in parallel on one data
// directory, and none of them may fail because of it (issue 10, item 11).
let dir: string;
let data: string;
let layout: string;

const POLICY = `apiVersion: tollgate.dev/v1alpha1
kind: ImagePolicy
rules:
  - name: app
    images: ["registry.example.com/team/*"]
    checks: {noSetuid: true, maxLayers: 5}
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-parallel-store-'));
  data = join(dir, 'data');
  layout = join(dir, 'layout');
  const writer = await OciLayoutWriter.create(layout);
  const files = (tag: string) => [
    { path: 'etc/app.conf', content: `${tag}\n` },
    { path: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
  ];
  await buildImage(writer, { tag: 'v1', layers: [{ files: files('v1') }, { files: [{ path: 'srv/a', content: 'a' }] }] });
  await buildImage(writer, { tag: 'v2', layers: [{ files: files('v2') }, { files: [{ path: 'srv/b', content: 'b' }] }] });
  await writeFile(join(dir, 'policy.yaml'), POLICY);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Kind = 'policy' | 'validate' | 'diff';
const run = (kind: Kind): Promise<CliResult> => {
  const v1 = `oci:${layout}:v1`;
  const v2 = `oci:${layout}:v2`;
  const args =
    kind === 'policy'
      ? ['policy', 'check', v1, '--policy', join(dir, 'policy.yaml'), '--name', 'registry.example.com/team/app', '--json']
      : kind === 'validate'
        ? ['validate', v1, '--json']
        : ['diff', v1, v2, '--json'];
  return runCli([...args, '--data', data]);
};
const expectedCode: Record<Kind, number> = { policy: 0, validate: 0, diff: 1 };
const BUSY = /^layer index cache busy \(another tollgate is using .+\); continuing without it$/;

/** The output without what legitimately differs between a cached and an uncached run (how much came from the cache). */
const answer = (result: CliResult): unknown => {
  const value = JSON.parse(result.stdout) as { layers?: unknown; stats?: unknown };
  if (Array.isArray(value.layers)) for (const layer of value.layers as Array<Record<string, unknown>>) delete layer.indexCached;
  delete value.stats;
  return value;
};

describe('parallel tollgate runs on one data directory', () => {
  it('a store held by another process: each command waits briefly, then goes on without the cache, saying so', async () => {
    const held = await LayerIndexStore.open(data);
    let results: Array<[Kind, CliResult]>;
    try {
      const kinds: Kind[] = ['policy', 'validate', 'diff'];
      results = await Promise.all(kinds.map(async (kind) => [kind, await run(kind)] as [Kind, CliResult]));
    } finally {
      await held.close();
    }
    for (const [kind, result] of results) {
      expect(result.stderr.trim(), kind).toMatch(BUSY);
      expect(result.code, `${kind}: ${result.stderr}`).toBe(expectedCode[kind]);
    }
  });

  it('many commands at once all succeed with the same answers as one at a time', async () => {
    const kinds: Kind[] = ['policy', 'validate', 'diff'];
    const baseline = new Map<string, unknown>();
    for (const kind of kinds) {
      const result = await run(kind);
      expect(result.code, result.stderr).toBe(expectedCode[kind]);
      expect(result.stderr).toBe('');
      baseline.set(kind, answer(result));
    }
    const batch = Array.from({ length: 18 }, (_, i) => kinds[i % kinds.length]!);
    const results = await Promise.all(batch.map(async (kind) => ({ kind, result: await run(kind) })));
    for (const { kind, result } of results) {
      expect(result.code, `${kind}: ${result.stderr}`).toBe(expectedCode[kind]);
      if (result.stderr !== '') expect(result.stderr.trim()).toMatch(BUSY);
      expect(answer(result), kind).toEqual(baseline.get(kind));
    }
  });
});
