import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/registry.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));

interface ProcessSeen {
  pid: number;
  execArgv: string[];
  arenas: string | null;
}

/**
 * `proxy serve` and `webhook serve` replace their own process (process.execve: same pid) with a node given a smaller
 * young generation and two malloc arenas (packages/cli/bin/tollgate.js). A probe preloaded through NODE_OPTIONS writes
 * one line each time a node program starts in the process, so a replacement shows as a second line with the same pid.
 */
describe('the servers replace their process with memory-lean settings', () => {
  let work: string;
  let probe: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-serve-exec-'));
    probe = join(work, 'probe.mjs');
    await writeFile(
      probe,
      "import { appendFileSync } from 'node:fs';\n" +
        'appendFileSync(process.env.PROBE_LOG, JSON.stringify({ pid: process.pid, execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX ?? null }) + "\\n");\n',
    );
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function seen(log: string): Promise<ProcessSeen[]> {
    const text = await readFile(log, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ProcessSeen);
  }

  async function configFile(name: string): Promise<{ path: string; url: string }> {
    const port = await freePort();
    const path = join(work, `${name}.yaml`);
    await writeFile(path, [`listen: 127.0.0.1:${port}`, `dataDir: ${join(work, `data-${name}`)}`, 'logLevel: warn', 'gate: allow-all', 'upstreams:', '  - name: up', '    url: http://127.0.0.1:9', '    default: true', ''].join('\n'));
    return { path, url: `http://127.0.0.1:${port}` };
  }

  /** Starts `proxy serve`, waits until it answers /v2/, stops it with SIGTERM; returns what the probe saw and how it ended. */
  async function serveOnce(name: string, env: NodeJS.ProcessEnv): Promise<{ processes: ProcessSeen[]; pid: number; exit: { code: number | null; signal: NodeJS.Signals | null } }> {
    const log = join(work, `${name}.log`);
    const config = await configFile(name);
    const child = spawn(process.execPath, [BIN, 'proxy', 'serve', '--config', config.path], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: `--import=${probe}`, PROBE_LOG: log, ...env },
      stdio: 'ignore',
    });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    let answered = false;
    for (let i = 0; !answered && i < 600 && child.exitCode === null; i++) {
      answered = await fetch(`${config.url}/v2/`).then(
        (res) => res.status === 200,
        () => false,
      );
      if (!answered) await sleep(20);
    }
    expect(answered).toBe(true);
    child.kill('SIGTERM');
    return { processes: await seen(log), pid: child.pid!, exit: await closed };
  }

  it('proxy serve: the same pid, now with --max-semi-space-size=8 and MALLOC_ARENA_MAX=2; it serves and stops cleanly', async () => {
    const run = await serveOnce('default', {});
    expect(run.processes).toEqual([
      { pid: run.pid, execArgv: [], arenas: null },
      { pid: run.pid, execArgv: ['--max-semi-space-size=8'], arenas: '2' },
    ]);
    expect(run.exit).toEqual({ code: 0, signal: null });
  });

  it("an operator's MALLOC_ARENA_MAX and young-generation flag win: then nothing is replaced", async () => {
    const run = await serveOnce('operator', { MALLOC_ARENA_MAX: '4', NODE_OPTIONS: `--import=${probe} --max-semi-space-size=16` });
    expect(run.processes).toEqual([{ pid: run.pid, execArgv: [], arenas: '4' }]);
    expect(run.exit).toEqual({ code: 0, signal: null });
  });

  it('only the young-generation flag is the operator’s: the arenas are still set, the flag not added', async () => {
    const run = await serveOnce('flag-only', { NODE_OPTIONS: `--import=${probe} --max-semi-space-size=16` });
    expect(run.processes).toEqual([
      { pid: run.pid, execArgv: [], arenas: null },
      { pid: run.pid, execArgv: [], arenas: '2' },
    ]);
  });

  it('--help and other commands run in the first process as they are', async () => {
    const log = join(work, 'help.log');
    const child = spawn(process.execPath, [BIN, 'proxy', 'serve', '--help'], { env: { PATH: process.env.PATH, NODE_OPTIONS: `--import=${probe}`, PROBE_LOG: log }, stdio: 'ignore' });
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect((await seen(log)).map((p) => p.execArgv)).toEqual([[]]);
  });
});
