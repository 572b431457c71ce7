import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter } from '@tollgate/core';
import { runCli } from '../../../../test/support/cli.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../../../../test/support/registry.js';
import { HEADER } from './support.js';

// Runs the BUILT CLI: `pnpm exec tsc -b packages/core packages/cli` first.
let dir: string;
let registry: RunningRegistry;
let data: string;

const POLICY = `${HEADER}rules:
  - name: app
    images: ["127.0.0.1:*/org/*"]
    checks: {nonRootUser: true}
  - name: signed
    images: ["127.0.0.1:*/signed/*"]
    authorities: [{name: release, keyless: {issuer: "https://issuer.example", subject: "release@example.com"}}]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-policy-cli-'));
  data = join(dir, 'data');
  const writer = await OciLayoutWriter.create(join(dir, 'layout'));
  await buildImage(writer, { tag: 'user', layers: [{ files: [{ path: 'a', content: 'a' }, { path: 'etc/passwd', content: 'app:x:1000:1000::/app:/bin/sh\n' }] }], config: { config: { User: 'app' } } });
  await buildImage(writer, { tag: 'root', layers: [{ files: [{ path: 'b', content: 'b' }] }], config: { config: {} } });
  registry = await startRegistry();
  await pushOciLayout(join(dir, 'layout'), 'user', registry.host, 'org/app:user');
  await pushOciLayout(join(dir, 'layout'), 'root', registry.host, 'org/app:root');
  await pushOciLayout(join(dir, 'layout'), 'user', registry.host, 'signed/app:1');
  await writeFile(join(dir, 'policy.yaml'), POLICY);
  await writeFile(join(dir, 'unknown.yaml'), `${POLICY}    unknownKey: 1\n`);
  await writeFile(join(dir, 'broken.yaml'), `${HEADER}rules: [\n`);
  await writeFile(join(dir, 'keys.yaml'), `${HEADER}rules:\n  - name: a\n    images: [x]\n    authorities: [{name: k, key: {file: missing.pub}}]\n  - name: b\n    images: [x]\n    authorities: [{name: k, keyless: {issuer: i, subjectRegexp: ".*@example.com"}}]\n`);
});
afterAll(async () => {
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

const check = (image: string, policy: string, ...extra: string[]) => runCli(['policy', 'check', image, '--policy', join(dir, policy), '--data', data, ...extra]);

describe('tollgate policy check', () => {
  it('exits 0 and prints the reasons when the image is allowed', async () => {
    const result = await check(`${registry.host}/org/app:user`, 'policy.yaml');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/pass {2}check {7}app\/checks\.nonRootUser: the image runs as "app"/);
    expect(result.stdout).toMatch(/^ALLOW: allowed by rule "app"/m);
  });

  it('exits 1 when denied, with --json carrying the verdict and the revision', async () => {
    const result = await check(`${registry.host}/org/app:root`, 'policy.yaml', '--json');
    expect(result.code).toBe(1);
    const verdict = JSON.parse(result.stdout);
    expect(verdict.decision).toBe('deny');
    expect(verdict.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(verdict.findings.map((f: { name: string; passed: boolean }) => [f.name, f.passed])).toContainEqual(['app/checks.nonRootUser', false]);
  });

  it('denies rules that need signatures when the image has none, saying so', async () => {
    const result = await check(`${registry.host}/signed/app:1`, 'policy.yaml');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}authority {3}signed\/authorities\/release: no signatures are attached to sha256:[0-9a-f]{64}/);
  });

  it('denies an image no rule matches (default deny)', async () => {
    const result = await check(`oci:${join(dir, 'layout')}:user`, 'policy.yaml', '--name', 'quay.io/x/y');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/no rule matches quay\.io\/x\/y; the policy default is deny/);
  });

  it('exits 2 and allows nothing for a policy that fails to parse, has unknown keys, or is missing', async () => {
    for (const policy of ['broken.yaml', 'unknown.yaml', 'nope.yaml']) {
      const result = await check(`${registry.host}/org/app:user`, policy);
      expect(result.code, policy).toBe(2);
      expect(result.stdout, policy).toBe('');
      expect(result.stderr, policy).toMatch(/policy|cannot read/);
    }
    expect((await check(`${registry.host}/org/app:user`, 'unknown.yaml')).stderr).toMatch(/\$\.rules\[1\]\.unknownKey: unknown key/);
  });

  it('exits 2 for an oci: source without --name', async () => {
    const result = await check(`oci:${join(dir, 'layout')}:user`, 'policy.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--name/);
  });
});

describe('tollgate policy lint', () => {
  it('exits 0 for a valid policy', async () => {
    const result = await runCli(['policy', 'lint', join(dir, 'policy.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/OK: .* is a valid policy \(revision sha256:[0-9a-f]{64}\)/);
  });

  it('exits 1 and lists unknown keys, unreadable keys and unanchored-looking identities', async () => {
    const unknown = await runCli(['policy', 'lint', join(dir, 'unknown.yaml'), '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).errors).toEqual([{ path: '$.rules[1].unknownKey', message: 'unknown key "unknownKey"' }]);
    const keys = await runCli(['policy', 'lint', join(dir, 'keys.yaml')]);
    expect(keys.code).toBe(1);
    expect(keys.stdout).toMatch(/error {3}\$\.rules\[0\]\.authorities\[0\]\.key\.file: cannot read the public key/);
    expect(keys.stdout).toMatch(/warning \$\.rules\[1\]\.authorities\[0\]\.keyless\.subjectRegexp: .*any prefix/);
    const broken = await runCli(['policy', 'lint', join(dir, 'broken.yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/error {3}line \d+:\d+/);
  });

  it('--proxy-config warns of rules that match no registry of the proxy\'s upstreams', async () => {
    const config = (upstream: string) => `dataDir: ${join(dir, 'proxy-data')}\nupstreams:\n  - {name: hub, url: "https://mirror.example.com", default: true${upstream}}\n`;
    await writeFile(join(dir, 'proxy-mirror.yaml'), config(''));
    await writeFile(join(dir, 'proxy-hub.yaml'), config(', ns: docker.io'));
    await writeFile(join(dir, 'hub-policy.yaml'), `${HEADER}rules:\n  - name: hub\n    images: ["docker.io/**"]\n    checks: {nonRootUser: true}\n  - name: mirror\n    images: ["mirror.example.com/**"]\n    checks: {nonRootUser: true}\n`);
    const mirror = await runCli(['policy', 'lint', join(dir, 'hub-policy.yaml'), '--proxy-config', join(dir, 'proxy-mirror.yaml'), '--json']);
    expect(mirror.code, mirror.stderr).toBe(0);
    expect(JSON.parse(mirror.stdout).warnings).toEqual([
      { path: '$.rules[0]', message: 'rule "hub" matches no registry of the proxy\'s upstreams (mirror.example.com): it never applies there; fix its images or set upstreams[].registry' },
    ]);
    const hub = await runCli(['policy', 'lint', join(dir, 'hub-policy.yaml'), '--proxy-config', join(dir, 'proxy-hub.yaml')]);
    expect(hub.code).toBe(0);
    expect(hub.stdout).toMatch(/warning \$\.rules\[1\]: rule "mirror" matches no registry of the proxy's upstreams \(docker\.io\)/);
    expect(hub.stdout).not.toMatch(/rule "hub" matches no registry/);
    const missing = await runCli(['policy', 'lint', join(dir, 'hub-policy.yaml'), '--proxy-config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    await writeFile(join(dir, 'proxy-bad.yaml'), config(', registry: myreg'));
    const bad = await runCli(['policy', 'lint', join(dir, 'hub-policy.yaml'), '--proxy-config', join(dir, 'proxy-bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/upstreams\[0\]\.registry/);
  });

  it('exits 2 when the file cannot be read', async () => {
    const result = await runCli(['policy', 'lint', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(2);
  });
});
