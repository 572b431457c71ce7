import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
}

describe("the CLI's compile cache (module.enableCompileCache in bin/tollgate.js)", () => {
  let work: string;
  let version: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-compile-cache-'));
    version = (await runCli(['--version'], { env: { NODE_DISABLE_COMPILE_CACHE: '1' } })).stdout;
    expect(version).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("is kept in the user's cache folder and used by the next run", async () => {
    const env = { XDG_CACHE_HOME: join(work, 'cache') };
    const first = await runCli(['--version'], { env });
    expect(first).toMatchObject({ code: 0, stdout: version, stderr: '' });
    const cached = await filesUnder(join(work, 'cache', 'tollgate', 'compile-cache'));
    expect(cached.length).toBeGreaterThan(2); // one entry a module file: the bin, the bundle's main.js and its chunks (~250 from dist)
    const second = await runCli(['--version'], { env: { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(version);
    // Node's own debug log of the cache: the second run finds the first run's entries.
    expect(second.stderr).toMatch(/cache for .*main\.js was accepted/);
  });

  it('honours NODE_COMPILE_CACHE', async () => {
    const dir = join(work, 'node-compile-cache');
    expect(await runCli(['--version'], { env: { NODE_COMPILE_CACHE: dir } })).toMatchObject({ code: 0, stdout: version, stderr: '' });
    expect((await filesUnder(dir)).length).toBeGreaterThan(2);
  });

  it('costs nothing but the speed-up when its folder cannot be made (a file in the way)', async () => {
    const file = join(work, 'not-a-folder');
    await writeFile(file, 'x');
    expect(await runCli(['--version'], { env: { XDG_CACHE_HOME: file } })).toMatchObject({ code: 0, stdout: version, stderr: '' });
    expect(await runCli(['--version'], { env: { NODE_COMPILE_CACHE: join(file, 'sub') } })).toMatchObject({ code: 0, stdout: version, stderr: '' });
  });
});

describe('the CLI on a Node older than 22', () => {
  it('says which Node it needs, and exits 2', async () => {
    // (NODE_OPTIONS splits on spaces: none in the module)
    const pose = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.20.2'})`;
    const result = await runCli(['--version'], { env: { NODE_OPTIONS: `--import=${pose}`, NODE_DISABLE_COMPILE_CACHE: '1' } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^tollgate needs Node 24 LTS \(or 22\.22\+\); this is Node 20\.20\.2/);
  });
});
