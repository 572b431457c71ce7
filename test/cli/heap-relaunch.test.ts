import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter } from '@tollgate/core';
import { runCli } from '../support/cli.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));

interface ProcessSeen {
  pid: number;
  ppid: number;
  execArgv: string[];
}

/**
 * Commands that stream layers run in a child `node` with a larger initial heap (packages/cli/bin/tollgate.js);
 * everything else runs in the first process. A probe preloaded through NODE_OPTIONS (which the child inherits)
 * writes one line per node process that starts.
 */
describe('tollgate relaunches layer-streaming commands with a larger heap', () => {
  let work: string;
  let layout: string;
  let probe: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-relaunch-'));
    probe = join(work, 'probe.mjs');
    await writeFile(
      probe,
      "import { appendFileSync } from 'node:fs';\n" +
        'appendFileSync(process.env.PROBE_LOG, JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv }) + "\\n");\n',
    );
    layout = join(work, 'layout');
    const writer = await OciLayoutWriter.create(layout);
    await buildImage(writer, {
      tag: 'v1',
      layers: [{ files: [{ path: 'etc/os-release', content: 'ID=relaunch\n' }, { path: 'data.bin', content: randomBytes(3 << 20) }] }],
    });
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function seen(log: string): Promise<ProcessSeen[]> {
    const text = await readFile(log, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as ProcessSeen);
  }

  const probed = (log: string) => ({ NODE_OPTIONS: `--import=${probe}`, PROBE_LOG: log });

  it('validate runs in a child with --initial-heap-size; its output and exit code are the command’s', async () => {
    const log = join(work, 'validate.log');
    const run = await runCli(['validate', '--json', `oci:${layout}:v1`], { env: probed(log) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).ok).toBe(true);
    const [parent, child, ...rest] = await seen(log);
    expect(rest).toEqual([]);
    expect(parent!.execArgv).toEqual([]);
    expect(child!.execArgv).toEqual(['--initial-heap-size=64']);
    expect(child!.ppid).toBe(parent!.pid);
  });

  it.each([[['--version']], [['validate', '--help']], [['digest', 'LAYOUT']]])('%j runs in the first process only', async (args) => {
    const log = join(work, `direct-${args.join('-')}.log`);
    const run = await runCli(args.map((a) => (a === 'LAYOUT' ? `oci:${layout}:v1` : a)), { env: probed(log) });
    expect(run.code).toBe(0);
    expect((await seen(log)).map((p) => p.execArgv)).toEqual([[]]);
  });

  it('node flags given by the caller are respected: no relaunch', async () => {
    const log = join(work, 'flags.log');
    const child = spawn(process.execPath, ['--max-old-space-size=256', BIN, 'validate', `oci:${layout}:v1`], {
      env: { PATH: process.env.PATH, ...probed(log) },
      stdio: 'ignore',
    });
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect((await seen(log)).map((p) => p.execArgv)).toEqual([['--max-old-space-size=256']]);
  });

  it('a usage error in the child gives exit status 2, as without the relaunch', async () => {
    const run = await runCli(['validate', `oci:${join(work, 'missing')}:v1`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/does not exist/);
  });

  it('SIGTERM to tollgate stops the child too, and tollgate ends by that signal', async () => {
    const log = join(work, 'term.log');
    const parent = spawn(process.execPath, [BIN, 'validate', `oci:${layout}:v1`], {
      env: { PATH: process.env.PATH, ...probed(log) },
      stdio: 'ignore',
    });
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      parent.on('close', (code, signal) => resolve({ code, signal })),
    );
    // The child writes its line before it loads the CLI, so it is still starting when the signal arrives.
    let processes = await seen(log);
    for (let i = 0; processes.length < 2 && i < 1000; i++) {
      await sleep(5);
      processes = await seen(log);
    }
    expect(processes).toHaveLength(2);
    parent.kill('SIGTERM');
    expect(await closed).toEqual({ code: null, signal: 'SIGTERM' });
    const childPid = processes[1]!.pid;
    let alive = true;
    for (let i = 0; alive && i < 200; i++) {
      try {
        process.kill(childPid, 0);
        await sleep(10);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });
});
