/**
 * The tollgate image built from deploy/Dockerfile (scripts/build-image.sh: a few minutes, so not part of the suite;
 * set TOLLGATE_IMAGE=localhost/tollgate:dev to run this file against it): it runs as uid 10001 with none of the
 * build's tools, package managers or dev dependencies; and, run as the proxy with its own config on a read-only
 * root, it serves its own image — pushed to a real docker-registry — to `tollgate validate`, which reads every blob
 * through it and checks the whole chain, while an image its gate does not admit is refused.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { freePort, skopeoInspectDigest, startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { pushTestImage } from '../proxy/support/images.js';

const execFileAsync = promisify(execFile);
const IMAGE = process.env.TOLLGATE_IMAGE;
// As scripts/build-image.sh runs podman on this machine kind (crun refuses its hybrid cgroups).
const PODMAN = ['--cgroup-manager', 'cgroupfs'];
const RUN = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

async function podman(args: string[], timeout = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('podman', [...PODMAN, ...args], { timeout, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 127, stdout: e.stdout ?? '', stderr: e.stderr || e.message };
  }
}

async function missing(): Promise<string | undefined> {
  if (IMAGE === undefined) return 'no tollgate image named: build one with scripts/build-image.sh (minutes, not part of the suite) and set TOLLGATE_IMAGE=localhost/tollgate:dev';
  if (process.getuid?.() !== 0) return 'running the image needs root podman here';
  const exists = await podman(['image', 'exists', IMAGE]);
  return exists.code === 0 ? undefined : `TOLLGATE_IMAGE=${IMAGE} is not in podman's storage (scripts/build-image.sh builds it)`;
}
const unavailable = await missing();

describe('the tollgate image', skipWhen(unavailable), () => {
  let work: string;
  let registry: RunningRegistry;
  let container: string | undefined;
  let proxyHost: string;
  let digest: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-image-'));
    registry = await startRegistry();
    // The image itself, into the registry the containerised proxy fronts.
    const pushed = await podman(['push', '--tls-verify=false', IMAGE!, `${registry.host}/tollgate/tollgate:dev`], 600_000);
    expect(pushed.code, pushed.stderr).toBe(0);
    await pushTestImage(registry.host, 'team/other:1', { 'etc/other': 'not admitted\n' });
    digest = await skopeoInspectDigest(`${registry.host}/tollgate/tollgate:dev`);
    const port = await freePort();
    proxyHost = `127.0.0.1:${port}`;
    await writeFile(
      join(work, 'tollgate.yaml'),
      JSON.stringify({ listen: proxyHost, dataDir: '/var/lib/tollgate', logLevel: 'warn', gate: { allowDigests: { 'lab/tollgate/tollgate': [digest] } }, upstreams: [{ name: 'lab', url: registry.url, prefix: 'lab' }] }),
    );
    // The service user (10001) reads the config directory and owns the data directory.
    await chmod(work, 0o755);
    const data = join(work, 'data');
    await execFileAsync('mkdir', [data]);
    await chown(data, 10001, 10001);
    container = `tollgate-image-test-${port}`;
    const started = await podman(['run', ...RUN, '-d', '--name', container, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '-v', `${work}:/etc/tollgate/config:ro`, '-v', `${data}:/var/lib/tollgate`, IMAGE!, 'proxy', 'serve', '--config', '/etc/tollgate/config/tollgate.yaml']);
    expect(started.code, started.stderr).toBe(0);
    // Ready when /readyz answers (the container logs say why if it never does).
    const deadline = Date.now() + 60_000;
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const ready = await fetch(`http://${proxyHost}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      const running = (await podman(['inspect', '--format', '{{.State.Running}}', container])).stdout.trim();
      if (running !== 'true' || Date.now() > deadline) throw new Error(`the containerised proxy is not ready (running: ${running}): ${(await podman(['logs', container])).stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }, 900_000);

  afterAll(async () => {
    if (container !== undefined) await podman(['rm', '-f', '-t', '10', container]);
    await registry?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('runs as uid 10001 with no compiler, package manager or dev dependency inside', async () => {
    const inspect = await podman(['image', 'inspect', '--format', '{{.Config.User}}', IMAGE!]);
    expect(inspect.stdout.trim()).toBe('10001:10001');
    const look = await podman(['run', ...RUN, '--rm', '--network', 'none', '--read-only', '--entrypoint', '/bin/sh', IMAGE!, '-c', 'id -u; for t in gcc g++ cc make python3 pnpm npm npx corepack yarn tsc; do command -v $t; done; ls /opt/tollgate/node_modules/.pnpm | grep -E "^(typescript|vitest|esbuild|vite|tsx|fast-check)@" ; true']);
    expect(look.code, look.stderr).toBe(0);
    expect(look.stdout.trim()).toBe('10001');
  });

  it('as the proxy, with its own config on a read-only root: serves its own image to tollgate validate, refuses another', async () => {
    const validated = await runCli(['validate', '--json', `${proxyHost}/lab/tollgate/tollgate:dev`], { env: { HOME: work } });
    expect(validated.code, validated.stderr).toBe(0);
    const report = JSON.parse(validated.stdout) as { manifestDigest: string; ok?: boolean; layers: { ok: boolean }[] };
    expect(report.manifestDigest).toBe(digest);
    expect(report.layers.length).toBeGreaterThan(0);
    expect(report.layers.every((l) => l.ok)).toBe(true);
    const refused = await fetch(`http://${proxyHost}/v2/lab/team/other/manifests/1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('DENIED');
  });
});
