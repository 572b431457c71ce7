/**
 * A containerd daemon of the test's own (Debian's containerd 1.6, as /work/shared/recipes/containerd-private.sh runs
 * it): root, state, sockets and config under a temp directory, the CRI plugin off, the overlayfs snapshotter. Never
 * the machine's containerd. `ctr` talks to it with --address; pulls take --hosts-dir, as ctr ignores the CRI
 * plugin's config_path. Needs root (containerd mounts snapshots).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PrivateContainerd {
  dir: string;
  socket: string;
  /** `ctr --address <socket> -n tollgate-test <args>`; never throws. */
  ctr(args: string[]): Promise<CtrResult>;
  /** `ctr images pull --hosts-dir <hostsDir> <ref>`, then the digest containerd recorded for it (undefined on failure). */
  pull(ref: string, hostsDir: string): Promise<CtrResult & { digest?: string }>;
  /** Stops the daemon, unmounts what it left and removes the directory. */
  stop(): Promise<void>;
}

const NAMESPACE = 'tollgate-test';

async function run(command: string, args: string[], timeout = 120_000): Promise<CtrResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { timeout, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message?: string };
    return { code: typeof e.code === 'number' ? e.code : 127, stdout: e.stdout ?? '', stderr: e.stderr || (e.message ?? '') };
  }
}

function configToml(dir: string): string {
  const disabled = ['io.containerd.grpc.v1.cri', 'io.containerd.snapshotter.v1.aufs', 'io.containerd.snapshotter.v1.btrfs', 'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper', 'io.containerd.tracing.processor.v1.otlp', 'io.containerd.internal.v1.tracing'];
  return [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'root'))}`,
    `state = ${JSON.stringify(join(dir, 'state'))}`,
    `disabled_plugins = ${JSON.stringify(disabled)}`,
    '[grpc]',
    `  address = ${JSON.stringify(join(dir, 'c.sock'))}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(join(dir, 'c.sock.ttrpc'))}`,
    '[debug]',
    `  address = ${JSON.stringify(join(dir, 'd.sock'))}`,
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(dir, 'opt'))}`,
    '',
  ].join('\n');
}

/** Mount points under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

async function waitReady(socket: string, child: ChildProcess, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 20_000;
  let delay = 20;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`containerd exited (${child.exitCode ?? child.signalCode}) before it was ready: ${(await log()).slice(-1000)}`);
    if ((await run('ctr', ['--address', socket, 'version'], 5000)).code === 0) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`containerd was not ready within 20 s: ${(await log()).slice(-1000)}`);
}

export async function startContainerd(): Promise<PrivateContainerd> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-containerd-'));
  const socket = join(dir, 'c.sock');
  const config = join(dir, 'config.toml');
  const logFile = join(dir, 'log');
  await writeFile(config, configToml(dir));
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(logFile, 'a');
  const child = spawn('containerd', ['--config', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => readFile(logFile, 'utf8').catch(() => '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    for (const point of await mountsUnder(dir)) await run('umount', ['-l', point], 30_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(socket, child, log);
  } catch (error) {
    await stop();
    throw error;
  }
  const ctr = (args: string[]) => run('ctr', ['--address', socket, '-n', NAMESPACE, ...args]);
  return {
    dir,
    socket,
    ctr,
    async pull(ref, hostsDir) {
      const result = await ctr(['images', 'pull', '--hosts-dir', hostsDir, ref]);
      if (result.code !== 0) return result;
      const listed = await ctr(['images', 'ls']);
      const line = listed.stdout.split('\n').find((l) => l.split(/\s+/)[0] === ref);
      const digest = line?.split(/\s+/).find((field) => /^sha256:[0-9a-f]{64}$/.test(field));
      return { ...result, ...(digest !== undefined ? { digest } : {}) };
    },
    stop,
  };
}

/** Why a private containerd cannot run here (not root, not installed, does not start), or undefined when it can. */
export async function containerdUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'containerd needs root to mount snapshots; run the tests as root';
  for (const tool of ['containerd', 'ctr']) {
    const found = await run(tool, ['--version'], 10_000);
    if (found.code === 127 && /ENOENT/.test(found.stderr)) return `${tool} is not installed (scripts/test-deps.sh installs Debian's containerd)`;
  }
  try {
    const probe = await startContainerd();
    await probe.stop();
    return undefined;
  } catch (error) {
    return `a private containerd does not start here: ${(error as Error).message.split('\n')[0]}`;
  }
}
