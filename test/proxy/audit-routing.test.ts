/**
 * `tollgate audit --image` finds events by `<upstream>/<repository>` however the client asked:
 * - an `access` event for a refused login names the upstream and the repository the request routes to — by
 *   containerd's `?ns=` (the client's path is `team/app`) or by prefix — with the client's path beside them, so two
 *   upstreams serving the same repository stay apart;
 * - an `admission` event (the webhook's decision over several images) matches by each image it routed (`targets`),
 *   the images as the object named them, and what they were pinned to; `tollgate audit` shows it as the object and
 *   its images, with the webhook that decided.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowListGate, queryAuditFile, startWebhook, type AuditRecord, type WebhookServer } from '../../packages/proxy/src/index.js';
import { runCli } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { makeCert } from '../webhook/support/certs.js';
import { admit, pod, POD, review } from '../webhook/support/review.js';
import { pushRawImage, type PushedImage } from './support/raw-image.js';
import { startProxy, type RunningProxy } from './support/start-proxy.js';

const execFileAsync = promisify(execFile);

let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let webhook: WebhookServer;
let app: PushedImage;
let auditFile: string;
let configFile: string;
/** The webhook's certificate, which the test's HTTPS client trusts. */
let ca: Buffer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-audit-routing-'));
  registry = await startRegistry();
  app = await pushRawImage(registry.host, 'team/app', '1', [1024]);
  await pushRawImage(registry.host, 'team/bad', '1', [1024]);
  const htpasswd = join(work, 'htpasswd');
  await execFileAsync('htpasswd', ['-Bbc', htpasswd, 'alice', 'right']);
  auditFile = join(work, 'audit.jsonl');
  // Two upstreams serving the same repository path: `a` reached by ?ns=a.example:5000 or prefix a, `b` likewise.
  const upstreams = [
    { name: 'a', url: registry.url, ns: 'a.example:5000', prefix: 'a' },
    { name: 'b', url: registry.url, ns: 'b.example:5000', prefix: 'b' },
  ];
  proxy = await startProxy({ gate: allowListGate({ 'a/team/app': [app.digest] }), upstreams, extra: { auth: { mode: 'htpasswd', htpasswd }, audit: { file: auditFile } } });
  configFile = join(work, 'tollgate.yaml');
  // `tollgate audit --config` on the running proxy: its level store is held, so the audit file is read.
  await writeFile(configFile, JSON.stringify({ dataDir: proxy.dataDir, audit: { file: auditFile }, upstreams }));
  const cert = await makeCert(work, 'webhook');
  webhook = await startWebhook(proxy.proxy.core, { proxyHost: proxy.host, listen: { host: '127.0.0.1', port: 0 }, tls: { cert: cert.cert, key: cert.key } });
  ca = cert.pem;
});

afterAll(async () => {
  await webhook?.close();
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const wrongPassword = { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` };

describe('access events', () => {
  it('a refused login routed by ?ns= names the upstream and repository, with the client\'s path and ns beside them', async () => {
    const byNs = await fetch(`${proxy.url}/v2/team/app/manifests/1?ns=a.example:5000`, { headers: wrongPassword });
    expect(byNs.status).toBe(401);
    const byPrefix = await fetch(`${proxy.url}/v2/b/team/app/manifests/1`, { headers: wrongPassword });
    expect(byPrefix.status).toBe(401);
    const access = (await queryAuditFile(auditFile, {})).filter((e) => e.type === 'access');
    expect(access).toEqual([
      expect.objectContaining({ rule: 'authentication', identity: 'alice', upstream: 'a', repository: 'team/app', path: 'team/app', ns: 'a.example:5000' }),
      expect.objectContaining({ rule: 'authentication', identity: 'alice', upstream: 'b', repository: 'team/app', path: 'b/team/app' }),
    ]);
    expect((await queryAuditFile(auditFile, { image: 'a/team/app' })).map((e) => e.upstream)).toEqual(['a']);
    expect((await queryAuditFile(auditFile, { image: 'b/team/app' })).map((e) => e.upstream)).toEqual(['b']);
    expect(await queryAuditFile(auditFile, { image: 'team/app' })).toHaveLength(2);
  });

  it('a path that routes nowhere (an unknown ns) keeps only the client\'s path', async () => {
    const response = await fetch(`${proxy.url}/v2/team/app/manifests/1?ns=c.example:5000`, { headers: wrongPassword });
    expect(response.status).toBe(401);
    const [last] = (await queryAuditFile(auditFile, {})).slice(-1) as AuditRecord[];
    expect(last).toMatchObject({ type: 'access', path: 'team/app', ns: 'c.example:5000' });
    expect(last!.upstream).toBeUndefined();
    expect(last!.repository).toBeUndefined();
  });
});

describe('admission events', () => {
  it('tollgate audit --image finds a review by each image it routed, as named, and as pinned; the table shows the object', async () => {
    const object = pod({ containers: [{ name: 'app', image: `${proxy.host}/a/team/app:1` }], initContainers: [{ name: 'setup', image: `${proxy.host}/b/team/bad:1` }] }, { name: 'shop-web', namespace: 'shop' });
    const answer = await admit(`${webhook.url}/mutate`, ca, review({ kind: POD, object, namespace: 'shop', name: 'shop-web', username: 'deployer@example.com' }));
    expect(answer.allowed).toBe(false);
    const find = async (image: string) => (await queryAuditFile(auditFile, { image })).filter((e) => e.type === 'admission');
    const [event] = await find('a/team/app');
    expect(event).toMatchObject({ webhook: 'mutate', namespace: 'shop', name: 'shop-web', verdict: 'deny' });
    expect(event!.targets).toEqual([
      { image: `${proxy.host}/a/team/app:1`, upstream: 'a', repository: 'team/app', digest: app.digest },
      { image: `${proxy.host}/b/team/bad:1`, upstream: 'b', repository: 'team/bad' },
    ]);
    expect(await find('b/team/bad')).toHaveLength(1);
    expect(await find(`a/team/app@${app.digest}`)).toHaveLength(1);
    expect(await find(`${proxy.host}/b/team/bad:1`)).toHaveLength(1);
    expect(await find('a/team/bad')).toHaveLength(0);

    const table = await runCli(['audit', '--config', configFile, '--image', 'b/team/bad']);
    expect(table.code, table.stderr).toBe(0);
    const row = table.stdout.split('\n').find((line) => line.includes('admission:deny'))!;
    expect(row).toContain(`Pod shop/shop-web: a/team/app@${app.digest.slice(0, 19)}, b/team/bad (deployer@example.com)`);
    expect(row).toMatch(/ mutate +image /);
  });
});
