/**
 * `tollgate audit` (the built CLI) over a real proxy's trail: read from the JSON-lines audit.file while the running
 * proxy holds the level store, and from the store itself once it stopped; filters by verdict, image glob and time.
 * Run `pnpm build` first (npm test does).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let app: PushedImage;
let evil: PushedImage;
let configFile: string;
let auditFile: string;

interface Event {
  type: string;
  verdict?: string;
  repository?: string;
  digest?: string;
  identity?: string;
  rule?: string;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-audit-cli-'));
  registry = await startRegistry();
  app = await pushRawImage(registry.host, 'team/app', '1', [1024]);
  evil = await pushRawImage(registry.host, 'team/evil', '1', [1024]);
  auditFile = join(work, 'audit.jsonl');
  const dataDir = join(work, 'data');
  proxy = await startProxy({ gate: allowListGate({ 'lab/team/app': [app.digest] }), upstreams: [{ name: 'lab', url: registry.url, default: true }], dataDir, extra: { audit: { file: auditFile } } });
  configFile = join(work, 'tollgate.yaml');
  await writeFile(configFile, `dataDir: ./data\naudit:\n  file: ./audit.jsonl\ngate: allow-all\nupstreams:\n  - name: lab\n    url: ${registry.url}\n    default: true\n`);
  for (const name of ['team/app', 'team/evil']) {
    await fetchAll(`${proxy.url}/v2/${name}/manifests/1`, { headers: { accept: MANIFEST_ACCEPT } });
  }
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

it('writes one JSON line per decision to audit.file', async () => {
  const lines = (await readFile(auditFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Event);
  expect(lines.filter((e) => e.type === 'verdict').map((e) => [e.repository, e.verdict])).toEqual([
    ['team/app', 'allow'],
    ['team/evil', 'deny'],
  ]);
});

it('reads the audit.file while the running proxy holds the level store', async () => {
  const result = await runCli(['audit', '--config', configFile, '--verdict', 'deny', '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const events = JSON.parse(result.stdout) as Event[];
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: 'verdict', verdict: 'deny', repository: 'team/evil', digest: evil.digest, identity: 'anonymous', rule: 'digest-pin' });
  const locked = await runCli(['audit', '--data', join(work, 'data')]);
  expect(locked.code).toBe(2);
  expect(locked.stderr).toMatch(/audit\.file|stop the proxy/);
});

it('reads the store of a stopped proxy, filtered by image glob, verdict and time; prints a table', async () => {
  await proxy.close();
  const all = await runCli(['audit', '--data', join(work, 'data'), '--json']);
  expect(all.code).toBe(0);
  const events = JSON.parse(all.stdout) as Event[];
  expect(events.filter((e) => e.type === 'verdict').map((e) => e.repository)).toEqual(['team/app', 'team/evil']);
  const image = JSON.parse((await runCli(['audit', '--data', join(work, 'data'), '--image', 'lab/team/app', '--json'])).stdout) as Event[];
  expect(image.map((e) => e.digest)).toEqual([app.digest]);
  const short = JSON.parse((await runCli(['audit', '--data', join(work, 'data'), '--image', 'team/*', '--verdict', 'allow', '--since', '1h', '--json'])).stdout) as Event[];
  expect(short.map((e) => e.repository)).toEqual(['team/app']);
  const soon = await runCli(['audit', '--data', join(work, 'data'), '--since', new Date(Date.now() + 3_600_000).toISOString()]);
  expect(soon.code).toBe(0);
  expect(soon.stdout).toContain('no audit events match');
  const before = JSON.parse((await runCli(['audit', '--data', join(work, 'data'), '--until', '1h', '--json'])).stdout) as Event[];
  expect(before).toEqual([]);
  const table = await runCli(['audit', '--data', join(work, 'data')]);
  expect(table.code).toBe(0);
  expect(table.stdout.split('\n')[0]).toMatch(/^TIME\s+VERDICT\s+IMAGE@DIGEST\s+RULE\s+REASON$/);
  expect(table.stdout).toMatch(/deny\s+lab\/team\/evil@sha256:[0-9a-f]{12} \(anonymous\)\s+digest-pin\s+no digests are allowed/);
});

it('refuses bad input with exit 2 and a message saying what to write', async () => {
  const since = await runCli(['audit', '--data', join(work, 'data'), '--since', 'yesterday']);
  expect(since.code).toBe(2);
  expect(since.stderr).toContain('--since');
  // A year typed wrong is an error, not an empty answer.
  const future = await runCli(['audit', '--data', join(work, 'data'), '--since', '2999-01-01T00:00:00Z']);
  expect(future.code).toBe(2);
  expect(future.stderr).toContain('--since "2999-01-01T00:00:00Z" is more than a day in the future');
  const none = await runCli(['audit']);
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/--data|--config/);
  const missing = await runCli(['audit', '--data', join(work, 'nowhere')]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('no proxy metadata');
  const verdict = await runCli(['audit', '--data', join(work, 'data'), '--verdict', 'maybe']);
  expect(verdict.code).toBe(2);
  const help = await runCli(['audit', '--help']);
  expect(help.stdout).toContain('Examples:');
});
