/**
 * `tollgate proxy client-config` as users run it (the built CLI): what each client gets, in text and --json, and a
 * one-line refusal (exit 2) for anything it cannot write safely. The containerd and podman outputs are pulled with
 * by test/proxy/containerd.test.ts and podman.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseToml } from './support/toml-lite.js';
import { runCli } from '../support/cli.js';

const PROXY = 'https://tollgate.example.com:5000';

describe('tollgate proxy client-config', () => {
  it('--help names the clients, the fall-back caveats and the exit codes', async () => {
    const result = await runCli(['proxy', 'client-config', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('containerd 1.6 ignores a file without the [host] table');
    expect(result.stdout).toContain('docker      cannot be forced');
    expect(result.stdout).toContain('Exit codes: 0 printed, 2 a usage error');
  });

  it('containerd: one hosts.toml per registry (Docker Hub aliases folded), server and [host] both the proxy', async () => {
    const result = await runCli(['proxy', 'client-config', 'containerd', '--proxy', PROXY, '--registry', 'index.docker.io', '--registry', 'ghcr.io', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(result.stdout) as { client: string; files: { path: string; content: string }[]; caveats: string[] };
    expect(config.client).toBe('containerd');
    expect(config.files.map((f) => f.path)).toEqual(['/etc/containerd/certs.d/docker.io/hosts.toml', '/etc/containerd/certs.d/ghcr.io/hosts.toml']);
    for (const file of config.files) {
      expect(parseToml(file.content)).toEqual({ server: PROXY, [`host."${PROXY}"`]: { capabilities: ['pull', 'resolve'] } });
    }
    expect(config.caveats.join(' ')).toMatch(/containerd#10027/);
    expect(config.caveats.join(' ')).toMatch(/403 Forbidden/);
  });

  it('podman: a location remap per registry with its upstream prefix; insecure only for plain HTTP', async () => {
    const result = await runCli(['proxy', 'client-config', 'podman', '--proxy', PROXY, '--registry', 'docker.io=hub', '--registry', 'ghcr.io=ghcr']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('[[registry]]\nprefix = "docker.io"\nlocation = "tollgate.example.com:5000/hub"\ninsecure = false\n\n[[registry]]\nprefix = "ghcr.io"\nlocation = "tollgate.example.com:5000/ghcr"\ninsecure = false\n');
    expect(result.stdout).not.toContain('[[registry.mirror]]\n');
    const plain = await runCli(['proxy', 'client-config', 'podman', '--proxy', 'http://127.0.0.1:5000', '--upstream-prefix', 'hub']);
    expect(plain.stdout).toContain('prefix = "docker.io"\nlocation = "127.0.0.1:5000/hub"\ninsecure = true\n');
  });

  it('docker: no file that could force it, the caveat, and the proxy name to pull by', async () => {
    const result = await runCli(['proxy', 'client-config', 'docker', '--proxy', PROXY, '--upstream-prefix', 'hub', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(result.stdout) as { files: unknown[]; caveats: string[]; pullAs: string[] };
    expect(config.files).toEqual([]);
    expect(config.caveats[0]).toMatch(/registry-mirrors.*is a mirror, and when the proxy refuses an image dockerd pulls it from Docker Hub/);
    expect(config.pullAs).toEqual(['tollgate.example.com:5000/hub/library/nginx:1.27']);
    const text = await runCli(['proxy', 'client-config', 'docker', '--proxy', PROXY]);
    expect(text.stdout).toContain('#   docker pull tollgate.example.com:5000/library/nginx:1.27');
    expect(text.stdout).not.toContain('registry-mirrors":');
  });

  it('refuses what it cannot write safely, in one line, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['containerd', '--proxy', 'ftp://x'], /--proxy must be an https:\/\/ \(or, for testing, http:\/\/\) URL/],
      [['containerd', '--proxy', 'https://u:p@proxy:5000'], /--proxy must be scheme:\/\/host\[:port\] only/],
      [['containerd', '--proxy', 'https://proxy:5000/v2'], /no credentials, path/],
      [['podman', '--proxy', PROXY, '--registry', 'notahost'], /--registry "notahost" is not a registry host/],
      [['podman', '--proxy', PROXY, '--registry', 'docker.io=Bad Prefix'], /is not a path prefix/],
      [['podman', '--proxy', PROXY, '--registry', 'docker.io', '--registry', 'ghcr.io', '--upstream-prefix', 'hub'], /--upstream-prefix goes with exactly one --registry/],
      [['podman', '--proxy', PROXY, '--registry', 'docker.io', '--registry', 'index.docker.io'], /--registry docker.io is given twice/],
      [['containerd', '--proxy', PROXY, '--upstream-prefix', 'hub'], /give the upstream `ns: <registry>`/],
      [['rkt', '--proxy', PROXY], /Allowed choices are containerd, podman, docker/],
      [['containerd'], /required option '--proxy <url>'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['proxy', 'client-config', ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });
});
