/**
 * Runs podman (no shell) against a storage of its own under a temp directory: `--root`, `--runroot`, `--tmpdir`,
 * the vfs driver, no events, cgroupfs, a registries.conf and a signature policy of the test's own. Nothing reaches
 * the machine's podman store or its configuration.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface IsolatedPodman {
  dir: string;
  /** The signature policy (accept anything) to pass to `pull --signature-policy`. */
  policy: string;
  /** Runs `podman <global isolation flags> <args>`; never throws. */
  run(args: string[], options?: { registriesConf?: string }): Promise<PodmanResult>;
  /** Writes a registries.conf into the temp directory and returns its path. */
  writeRegistriesConf(name: string, content: string): Promise<string>;
  /** Removes the temp directory (vfs keeps layers as plain directories: no mounts to undo). */
  cleanup(): Promise<void>;
}

/** A podman whose storage, run state, policy and registries.conf all live in one fresh temp directory. */
export async function isolatedPodman(): Promise<IsolatedPodman> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-podman-'));
  await mkdir(join(dir, 'tmp'));
  const policy = join(dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const emptyConf = join(dir, 'registries.conf');
  await writeFile(emptyConf, 'unqualified-search-registries = []\n');
  const global = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs'];
  const run = async (args: string[], options: { registriesConf?: string } = {}): Promise<PodmanResult> => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CONTAINERS_REGISTRIES_CONF: options.registriesConf ?? emptyConf };
    try {
      const { stdout, stderr } = await execFileAsync('podman', [...global, ...args], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number | string; stdout?: string; stderr?: string; message?: string };
      return { code: typeof e.code === 'number' ? e.code : 127, stdout: e.stdout ?? '', stderr: e.stderr || (e.message ?? '') };
    }
  };
  return {
    dir,
    policy,
    run,
    async writeRegistriesConf(name, content) {
      const path = join(dir, name);
      await writeFile(path, content);
      return path;
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether podman can pull here: it is installed and `podman info` works with an isolated vfs storage. Returns
 * undefined when it can, else the precise reason (podman's own error).
 */
export async function podmanUnavailable(): Promise<string | undefined> {
  let podman: IsolatedPodman | undefined;
  try {
    podman = await isolatedPodman();
    const info = await podman.run(['info', '--format', '{{.Store.GraphDriverName}}']);
    if (info.code === 127 && /ENOENT/.test(info.stderr)) return 'podman is not installed (run scripts/test-deps.sh)';
    if (info.code !== 0) return `podman info fails with an isolated vfs storage: ${info.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    if (info.stdout.trim() !== 'vfs') return `podman info reports storage driver ${JSON.stringify(info.stdout.trim())}, not vfs`;
    return undefined;
  } finally {
    await podman?.cleanup();
  }
}
