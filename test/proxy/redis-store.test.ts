/**
 * Two proxies (separate data directories, one machine standing in for two) share a real redis-server as their
 * metadata store: what one resolved and decided, the other reuses; both write one audit trail, read by
 * `tollgate audit --config` while they run; and no key they leave behind can grow without bound.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allowListGate } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { fetchAll, MANIFEST_ACCEPT } from './support/images.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

let work: string;
let redis: RunningRedis;
let registry: RunningRegistry;
let counting: FaultProxy;
let a: RunningProxy;
let b: RunningProxy;
let image: PushedImage;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-proxy-redis-'));
  redis = await startRedis();
  registry = await startRegistry();
  counting = await startFaultProxy(registry.url);
  image = await pushRawImage(registry.host, 'team/app', '1', [64 * 1024]);
  const options = { gate: allowListGate({ 'lab/team/app': [image.digest] }), upstreams: [{ name: 'lab', url: counting.url, default: true }], extra: { store: { metadata: redis.url(2) } } };
  a = await startProxy(options);
  b = await startProxy(options);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await counting?.stop();
  await registry?.stop();
  await redis?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

it('a tag resolved and a verdict reached by one proxy are reused by the other', async () => {
  const first = await fetchAll(`${a.url}/v2/team/app/manifests/1`, { headers: { accept: MANIFEST_ACCEPT } });
  expect(first.status).toBe(200);
  const manifestsBefore = counting.count((r) => r.path.includes('/manifests/'));
  const second = await fetchAll(`${b.url}/v2/team/app/manifests/1`, { headers: { accept: MANIFEST_ACCEPT } });
  expect(second.status).toBe(200);
  expect(second.body.equals(image.manifest)).toBe(true);
  expect(counting.count((r) => r.path.includes('/manifests/'))).toBe(manifestsBefore);
  const blob = await fetchAll(`${b.url}/v2/team/app/blobs/${image.layers[0]!.digest}`);
  expect(blob.body.equals(image.layers[0]!.bytes)).toBe(true);
  expect(a.proxy.core.meta.kind).toBe('redis');
});

it('both write one audit trail, readable with tollgate audit while they run', async () => {
  const config = join(work, 'tollgate.yaml');
  await writeFile(config, `dataDir: ${a.dataDir}\nstore:\n  metadata: ${redis.url(2)}\ngate: allow-all\nupstreams:\n  - name: lab\n    url: ${registry.url}\n    default: true\n`);
  const result = await runCli(['audit', '--config', config, '--verdict', 'allow', '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const events = JSON.parse(result.stdout) as { repository: string; cached: boolean }[];
  expect(events.map((e) => [e.repository, e.cached])).toEqual([
    ['team/app', false],
    ['team/app', true],
  ]);
});

/**
 * The key families that have no TTL because something prunes them (the table at the top of
 * redis-metadata-store.ts says what). A new key without a TTL must be added there and here, with its pruning.
 */
const PRUNED_KEYS = new Set(['tollgate:tag', 'tollgate:revisions', 'tollgate:health', 'tollgate:audit']);
const PRUNED_PREFIXES = ['tollgate:verdict:', 'tollgate:admission:', 'tollgate:parent:'];
const DAY_MS = 86_400_000;

it('leaves every key with a TTL or in a family that is pruned', async () => {
  const tags = await fetchAll(`${a.url}/v2/team/app/tags/list`);
  expect(tags.status).toBe(200);
  const keys = (await redis.cli(2, '--scan', '--pattern', '*')).split('\n').filter((k) => k !== '');
  const unbounded: string[] = [];
  const ttls = new Map<string, number>();
  for (const key of keys) {
    const ttl = Number(await redis.cli(2, 'PTTL', key));
    ttls.set(key, ttl);
    if (ttl > 0) continue;
    if (PRUNED_KEYS.has(key) || PRUNED_PREFIXES.some((p) => key.startsWith(p))) continue;
    unbounded.push(key);
  }
  expect(unbounded).toEqual([]);
  // Every family a pull writes is here (the check above is not vacuous), and nothing outside tollgate:.
  const family = (key: string) => key.split(':', 2).join(':');
  expect(new Set(keys.map(family))).toEqual(new Set(['tollgate:tag', 'tollgate:manifest', 'tollgate:verdict', 'tollgate:admission', 'tollgate:blob', 'tollgate:listing', 'tollgate:audit', 'tollgate:revisions', 'tollgate:health']));
  for (const [key, ttl] of ttls) {
    if (key.startsWith('tollgate:manifest:') || key.startsWith('tollgate:listing:')) expect(ttl).toBeGreaterThan(29 * DAY_MS);
    if (key.startsWith('tollgate:blob:')) expect(ttl).toBeGreaterThan(89 * DAY_MS);
  }
});
