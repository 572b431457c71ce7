import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/proxy packages/cli` first.
const kept: string[] = [];
afterAll(async () => {
  for (const dir of kept) await rm(dir, { recursive: true, force: true });
});

describe('tollgate demo', () => {
  it('admits the signed image, denies the unsigned one and the altered copy (naming the changed file), prints the audit trail, exits 0 and cleans up', async () => {
    const started = Date.now();
    const result = await runCli(['demo']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const out = result.stdout;
    expect(out).toMatch(/== 5\. Pull app:1\.0 \(signed\)\n {3}ADMITTED {2}sha256:[0-9a-f]{64}: manifest and 3 blobs received, every digest checked/);
    expect(out).toMatch(/== 6\. Pull tool:0\.9 \(unsigned\)\n {3}DENIED \(HTTP 403\) by rule signed-by-demo-key\n {5}- signed-by-demo-key\/authorities\/demo-key: no signatures are attached/);
    expect(out).toMatch(/== 7\. Pull app:1\.0-patched[^\n]*\n {3}DENIED \(HTTP 403\) by rule signed-by-demo-key/);
    expect(out).toMatch(/modified \/app\/server\.js {2}\(content\)/);
    const audit = out.slice(out.indexOf('== 8.'));
    expect(audit.match(/ ALLOW {2}app:1\.0 /g)).toHaveLength(1);
    expect(audit.match(/ DENY {3}(tool:0\.9|app:1\.0-patched) /g)).toHaveLength(2);
    expect(out).toMatch(/The signed image was served byte for byte/);
    const dir = /(\/\S+)\/cosign\.key \(empty password\)/.exec(out)![1]!;
    expect(existsSync(dir)).toBe(false);
  });

  it('--dir --keep leaves the layout, keys, policy and proxy data to look at', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-demo-test-'));
    kept.push(dir);
    const result = await runCli(['demo', '--dir', dir, '--keep']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const name of ['layout/index.json', 'cosign.key', 'cosign.pub', 'policy.yaml', 'proxy-data']) expect(existsSync(join(dir, name)), name).toBe(true);
    expect(await readFile(join(dir, 'policy.yaml'), 'utf8')).toMatch(/key: \{file: cosign\.pub\}/);
  });
});
