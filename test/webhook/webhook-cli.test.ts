/**
 * The built `tollgate webhook serve`: help, strict config errors, and the two ways to run it — its own process
 * sharing a Redis metadata store with a proxy (what one decides the other reuses, one audit trail), or the proxy
 * served from the webhook's process (a level store allows one process). Run `pnpm build` first (npm test does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { pushRawImage, type PushedImage } from '../proxy/support/raw-image.js';
import { startRedis, type RunningRedis } from '../proxy/support/redis.js';
import { startProxy } from '../proxy/support/start-proxy.js';
import { makeCert, type TestCert } from './support/certs.js';
import { admit, pod, POD, review } from './support/review.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));
let work: string;
let registry: RunningRegistry;
let redis: RunningRedis;
let cert: TestCert;
let app: PushedImage;
let bad: PushedImage;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-webhook-cli-'));
  registry = await startRegistry();
  redis = await startRedis();
  app = await pushRawImage(registry.host, 'team/app', '1');
  bad = await pushRawImage(registry.host, 'team/bad', '1');
  cert = await makeCert(work, 'webhook');
});

afterAll(async () => {
  await redis?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function writeConfigs(name: string, proxyYaml: string, webhookYaml: string): Promise<string> {
  await writeFile(join(work, `${name}-proxy.yaml`), proxyYaml);
  const file = join(work, `${name}-webhook.yaml`);
  await writeFile(file, `proxyConfig: ${name}-proxy.yaml\ntls:\n  cert: webhook.crt\n  key: webhook.key\n${webhookYaml}`);
  return file;
}

const gateYaml = () => `gate:\n  allowDigests:\n    lab/team/app: ["${app.digest}"]\n`;
const upstreamYaml = () => `upstreams:\n  - name: lab\n    url: ${registry.url}\n    prefix: lab\n`;

/** Starts `tollgate webhook serve --json` and waits for its {"url"} line (log lines are JSON with a level). */
async function serve(config: string): Promise<{ child: ChildProcess; url: string; proxyUrl?: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'webhook', 'serve', '--config', config, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<{ url: string; proxyUrl?: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const doc = JSON.parse(line) as { url?: string; proxyUrl?: string; level?: number };
      if (doc.level === undefined && doc.url !== undefined) resolve(doc as { url: string });
    });
    child.once('exit', () => reject(new Error(`webhook serve exited early: ${stderr}`)));
  });
  return { child, exited, ...ready };
}

it('webhook --help and webhook serve --help describe the command and its config', async () => {
  const top = await runCli(['webhook', '--help']);
  expect(top.code).toBe(0);
  expect(top.stdout).toContain('serve');
  const help = await runCli(['webhook', 'serve', '--help']);
  expect(help.code).toBe(0);
  for (const word of ['--config', 'proxyConfig', 'proxyHost', 'timeBudgetSeconds', 'serveProxy', 'POST /mutate', 'docs/kubernetes.md']) expect(help.stdout).toContain(word);
});

it.each([
  ['an unknown key', 'proxyHost: 127.0.0.1:5000\ntls:\n  cert: a\n  key: b\n  reloadSecond: 5\n', /webhook config: tls\.reloadSecond is not a known setting; allowed here: cert, key, reloadSeconds/],
  ['no proxyHost', 'tls:\n  cert: a\n  key: b\n', /webhook config: proxyHost is required/],
  ['a proxyHost that is not a host', 'proxyHost: tollgate\ntls:\n  cert: a\n  key: b\n', /webhook config: proxyHost must be the proxy's registry host/],
  ['a budget past the API server', 'proxyHost: 127.0.0.1:5000\ntimeBudgetSeconds: 40\ntls:\n  cert: a\n  key: b\n', /timeBudgetSeconds must be a number of seconds from 0\.05 to 29/],
  ['a duplicate key', 'proxyHost: 127.0.0.1:5000\nproxyHost: 127.0.0.1:5001\ntls:\n  cert: a\n  key: b\n', /webhook config is not valid YAML/],
])('serve refuses a config with %s in one line (exit 2)', async (_what, yaml, message) => {
  const file = join(work, 'bad-webhook.yaml');
  await writeFile(file, `proxyConfig: nowhere.yaml\n${yaml}`);
  const result = await runCli(['webhook', 'serve', '--config', file]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
});

it('serve refuses a proxy config without a gate', async () => {
  const config = await writeConfigs('nogate', `dataDir: ./data-nogate\n${upstreamYaml()}`, 'proxyHost: 127.0.0.1:5000\nlisten: 127.0.0.1:0\n');
  const result = await runCli(['webhook', 'serve', '--config', config]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/configures no gate/);
});

it('in its own process, sharing a Redis store with the proxy: the proxy serves the pinned image from the verdict the webhook made, and both write one audit trail', async () => {
  const store = `store:\n  metadata: ${redis.url(3)}\n`;
  const proxy = await startProxy({ gate: allowListGate({ 'lab/team/app': [app.digest] }), upstreams: [{ name: 'lab', url: registry.url, prefix: 'lab' }], extra: { store: { metadata: redis.url(3) } } });
  try {
    const config = await writeConfigs('redis', `dataDir: ./data-redis\nlogLevel: silent\n${store}${gateYaml()}${upstreamYaml()}`, `proxyHost: ${proxy.host}\nlisten: 127.0.0.1:0\n`);
    const webhook = await serve(config);
    try {
      const admitted = review({ kind: POD, object: pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:1` }] }) });
      const answer = await admit(`${webhook.url}/mutate`, cert.pem, admitted);
      expect({ allowed: answer.allowed, message: answer.status?.message }).toEqual({ allowed: true, message: undefined });
      expect(answer.ops.map((op) => op.value)).toEqual([`${proxy.host}/lab/team/app@${app.digest}`]);
      const denied = await admit(`${webhook.url}/mutate`, cert.pem, review({ kind: POD, object: pod({ containers: [{ name: 'app', image: `${registry.host}/team/bad:1` }] }) }));
      expect(denied.allowed).toBe(false);
      // The node's pull: the proxy finds the webhook's verdict in the shared store and does not evaluate again.
      const pulled = await fetch(`${proxy.url}/v2/lab/team/app/manifests/${app.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(pulled.status).toBe(200);
      await pulled.arrayBuffer();
      const events = await proxy.proxy.core.meta.listAudit(100);
      const pull = events.find((e) => e.type === 'verdict' && e.digest === app.digest && e.identity === 'anonymous');
      expect(pull).toMatchObject({ verdict: 'allow', cached: true });
      expect(events.find((e) => e.type === 'admission' && e.uid === admitted.uid)).toMatchObject({ verdict: 'allow', user: 'alice@example.com' });
    } finally {
      webhook.child.kill('SIGTERM');
      expect(await webhook.exited).toBe(0);
    }
  } finally {
    await proxy.stop();
  }
});

it('with serveProxy, one process serves the webhook and the proxy (a level store)', async () => {
  // proxyHost is what nodes use; here the proxy picks its port, so the test names a host it does not pull from.
  const config = await writeConfigs('level', `dataDir: ./data-level\nlogLevel: silent\nlisten: 127.0.0.1:0\n${gateYaml()}${upstreamYaml()}`, 'proxyHost: tollgate.test:5000\nlisten: 127.0.0.1:0\nserveProxy: true\n');
  const webhook = await serve(config);
  try {
    expect(webhook.proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const answer = await admit(`${webhook.url}/mutate`, cert.pem, review({ kind: POD, object: pod({ containers: [{ name: 'app', image: `${registry.host}/team/app:1` }] }) }));
    expect({ allowed: answer.allowed, message: answer.status?.message }).toEqual({ allowed: true, message: undefined });
    expect(answer.ops.map((op) => op.value)).toEqual([`tollgate.test:5000/lab/team/app@${app.digest}`]);
    const pulled = await fetch(`${webhook.proxyUrl}/v2/lab/team/app/manifests/${app.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(app.manifest)).toBe(true);
    const refused = await fetch(`${webhook.proxyUrl}/v2/lab/team/bad/manifests/${bad.digest}`);
    expect(refused.status).toBe(403);
  } finally {
    webhook.child.kill('SIGTERM');
    expect(await webhook.exited).toBe(0);
  }
});
