/**
 * The dashboard's HTTP face without a browser: client authentication (htpasswd Basic; token mode asks for the same
 * credentials), access rules applied to every view in HTML and JSON, security headers on every answer, strict
 * `ui` config, the filters, and the dashboard on a listener of its own — against a real docker-registry with
 * pulls made through the proxy.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllGate, allowListGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { freePort, startRegistry, type RunningRegistry } from '../support/registry.js';
import { fetchAll, MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { pushRawImage, type PushedImage } from '../proxy/support/raw-image.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';

const execFileAsync = promisify(execFile);
const ALICE = 'alice-secret-1';
const BOB = 'bob-secret-2';

let work: string;
let registry: RunningRegistry;
let app: PushedImage;
let secret: PushedImage;
let basic: RunningProxy;
let token: RunningProxy;
let own: RunningProxy;
let ownDashboard: string;

const auth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const access = [
  { repositories: ['lab/team/app'], users: ['alice', 'bob'] },
  { repositories: ['lab/team/secret'], users: ['alice'] },
];

async function pull(proxy: RunningProxy, name: string, reference: string, headers: Record<string, string>) {
  return fetchAll(`${proxy.url}/v2/${name}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT, ...headers } });
}

async function getJson(url: string, headers: Record<string, string>) {
  const response = await fetchAll(url, { headers });
  return { status: response.status, headers: response.headers, json: JSON.parse(response.body.toString()) as Record<string, unknown> };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tollgate-ui-access-'));
  const htpasswd = join(work, 'htpasswd');
  await execFileAsync('htpasswd', ['-Bbc', htpasswd, 'alice', ALICE]);
  await execFileAsync('htpasswd', ['-Bb', htpasswd, 'bob', BOB]);
  registry = await startRegistry();
  app = await pushRawImage(registry.host, 'team/app', '1', [1024]);
  secret = await pushRawImage(registry.host, 'team/secret', '1', [1024]);
  const gate = allowListGate({ 'lab/team/app': [app.digest] });
  const upstreams = [{ name: 'lab', url: registry.url, default: true }];
  basic = await startProxy({ gate, upstreams, extra: { auth: { mode: 'htpasswd', htpasswd, access }, ui: { enabled: true } } });
  token = await startProxy({ gate, upstreams, extra: { auth: { mode: 'token', htpasswd, access }, ui: { enabled: true, path: '/dash' } } });
  const port = await freePort();
  own = await startProxy({ gate, upstreams, extra: { ui: { enabled: true, listen: `127.0.0.1:${port}` } } });
  ownDashboard = `http://127.0.0.1:${port}/ui`;
  // alice pulls both (team/secret is denied: not pinned); bob pulls team/app.
  expect((await pull(basic, 'team/app', '1', auth('alice', ALICE))).status).toBe(200);
  expect((await pull(basic, 'team/secret', '1', auth('alice', ALICE))).status).toBe(403);
  expect((await pull(basic, 'team/app', '1', auth('bob', BOB))).status).toBe(200);
});

afterAll(async () => {
  await basic?.stop();
  await token?.stop();
  await own?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ui config', () => {
  const base = { dataDir: '/tmp/x', upstreams: [{ name: 'lab', url: 'http://127.0.0.1:5000', default: true }] };
  it('defaults to /ui on the proxy listener and refuses unknown keys, bad paths and the proxy own endpoints', () => {
    expect(normalizeProxyConfig(base, { env: {} }).ui).toBeUndefined();
    expect(normalizeProxyConfig({ ...base, ui: { enabled: true } }, { env: {} }).ui).toEqual({ enabled: true, path: '/ui' });
    expect(normalizeProxyConfig({ ...base, ui: { path: '/ops/dash', listen: ':8081' } }, { env: {} }).ui).toEqual({ enabled: true, path: '/ops/dash', listen: { host: '0.0.0.0', port: 8081 } });
    expect(() => normalizeProxyConfig({ ...base, ui: { enable: true } }, { env: {} })).toThrow(/ui\.enable is not a known setting/);
    expect(() => normalizeProxyConfig({ ...base, ui: { path: 'ui' } }, { env: {} })).toThrow(/ui\.path must be an absolute URL path/);
    expect(() => normalizeProxyConfig({ ...base, ui: { path: '/ui/' } }, { env: {} })).toThrow(/ui\.path/);
    expect(() => normalizeProxyConfig({ ...base, ui: { path: '/v2/ui' } }, { env: {} })).toThrow(/ui\.path must not be under/);
    expect(() => normalizeProxyConfig({ ...base, ui: { enabled: 'yes' } }, { env: {} })).toThrow(/ui\.enabled must be true or false/);
    expect(() => normalizeProxyConfig({ ...base, ui: { listen: 'nope' } }, { env: {} })).toThrow(/ui\.listen must be host:port/);
  });
});

describe('authentication', () => {
  it('asks a browser for the proxy credentials by Basic (htpasswd and token mode alike) and refuses wrong ones', async () => {
    for (const [proxy, path] of [
      [basic, '/ui/decisions'],
      [token, '/dash/decisions'],
    ] as const) {
      const anonymous = await fetchAll(`${proxy.url}${path}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="tollgate dashboard", charset="UTF-8"');
      expect(anonymous.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect((await fetchAll(`${proxy.url}${path}`, { headers: auth('alice', 'wrong') })).status).toBe(401);
      const ok = await fetchAll(`${proxy.url}${path}`, { headers: auth('alice', ALICE) });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('text/html; charset=utf-8');
    }
    const refused = (await basic.proxy.core.meta.listAudit(50)).find((e) => e.type === 'access' && e.identity === 'alice' && e.rule === 'authentication');
    expect(refused?.reasons).toEqual(['dashboard login with a wrong user name or password']);
    expect(JSON.stringify(refused)).not.toContain('wrong"');
  });

  it('sends strict headers on pages, JSON, scripts and errors; the script and style are files, nothing inline', async () => {
    for (const path of ['/ui/decisions', '/ui/api/decisions', '/ui/health', '/ui/assets/dashboard.js', '/ui/assets/dashboard.css', '/ui/decisions/123-0123456789ab', '/ui/nope']) {
      const response = await fetchAll(`${basic.url}${path}`, { headers: auth('alice', ALICE) });
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    const page = (await fetchAll(`${basic.url}/ui/decisions`, { headers: auth('alice', ALICE) })).body.toString();
    expect(page).not.toMatch(/<script>|<style>|\son[a-z]+=/i);
    expect(page).toContain('<script src="/ui/assets/dashboard.js" defer></script>');
  });
});

describe('access rules', () => {
  it('shows a user only decisions on repositories they may pull, in JSON and in HTML', async () => {
    const aliceView = await getJson(`${basic.url}/ui/api/decisions`, auth('alice', ALICE));
    const aliceRepos = (aliceView.json.decisions as { repository: string }[]).map((d) => d.repository);
    expect(new Set(aliceRepos)).toEqual(new Set(['team/app', 'team/secret']));
    const bobView = await getJson(`${basic.url}/ui/api/decisions`, auth('bob', BOB));
    const bobDecisions = bobView.json.decisions as { id: string; repository: string }[];
    expect(bobDecisions.length).toBeGreaterThan(0);
    expect(bobDecisions.every((d) => d.repository === 'team/app')).toBe(true);
    expect(bobView.json.counts).toMatchObject({ deny: 0 });
    const bobHtml = (await fetchAll(`${basic.url}/ui/decisions?format=json`, { headers: auth('bob', BOB) })).body.toString();
    expect(bobHtml).not.toContain('team/secret');
    const bobPage = (await fetchAll(`${basic.url}/ui/decisions`, { headers: auth('bob', BOB) })).body.toString();
    expect(bobPage).toContain('team/app');
    expect(bobPage).not.toContain('team/secret');
    // Even by id or by name, the secret repository's decisions and history do not exist for bob.
    const secretDecision = (aliceView.json.decisions as { id: string; repository: string }[]).find((d) => d.repository === 'team/secret')!;
    expect((await getJson(`${basic.url}/ui/api/decisions/${secretDecision.id}`, auth('alice', ALICE))).json).toMatchObject({ repository: 'team/secret', digest: secret.digest, verdict: 'deny', user: 'alice' });
    expect((await fetchAll(`${basic.url}/ui/api/decisions/${secretDecision.id}`, { headers: auth('bob', BOB) })).status).toBe(404);
    expect((await fetchAll(`${basic.url}/ui/decisions/${secretDecision.id}`, { headers: auth('bob', BOB) })).status).toBe(404);
    expect((await fetchAll(`${basic.url}/ui/api/tags?upstream=lab&repository=team/secret&tag=1`, { headers: auth('bob', BOB) })).status).toBe(404);
    const history = await getJson(`${basic.url}/ui/api/tags?upstream=lab&repository=team/app&tag=1`, auth('bob', BOB));
    expect(history.json).toMatchObject({ tag: '1', entries: [{ digest: app.digest, verdict: 'allow', decisions: 2 }], current: { digest: app.digest } });
  });
});

describe('filters', () => {
  it('filters by verdict, repository glob, user and time, counts per verdict, and refuses what it cannot read', async () => {
    const denied = await getJson(`${basic.url}/ui/api/decisions?verdict=deny`, auth('alice', ALICE));
    expect((denied.json.decisions as { verdict: string }[]).map((d) => d.verdict)).toEqual(['deny']);
    expect(denied.json.counts).toMatchObject({ allow: 2, deny: 1, warn: 0, indeterminate: 0 });
    const byGlob = await getJson(`${basic.url}/ui/api/decisions?repository=${encodeURIComponent('lab/team/s*')}`, auth('alice', ALICE));
    expect((byGlob.json.decisions as { repository: string }[]).map((d) => d.repository)).toEqual(['team/secret']);
    const byUser = await getJson(`${basic.url}/ui/api/decisions?user=bob`, auth('alice', ALICE));
    expect((byUser.json.decisions as { user: string }[]).map((d) => d.user)).toEqual(['bob']);
    const future = await getJson(`${basic.url}/ui/api/decisions?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, auth('alice', ALICE));
    expect(future.json.decisions).toEqual([]);
    // A year typed wrong, or a window the wrong way round, is refused rather than shown empty.
    const farFuture = await getJson(`${basic.url}/ui/api/decisions?since=2999-01-01T00:00:00Z`, auth('alice', ALICE));
    expect(farFuture.status).toBe(400);
    expect(farFuture.json.error).toMatch(/the since filter is more than a day in the future/);
    const swapped = await getJson(`${basic.url}/ui/api/decisions?since=1h&until=2h`, auth('alice', ALICE));
    expect(swapped.status).toBe(400);
    expect(swapped.json.error).toMatch(/the since filter \(.*\) is later than the until filter/);
    const old = await getJson(`${basic.url}/ui/api/decisions?until=2000-01-01T00:00:00Z`, auth('alice', ALICE));
    expect(old.json.decisions).toEqual([]);
    const bad = await getJson(`${basic.url}/ui/api/decisions?verdict=maybe`, auth('alice', ALICE));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/verdict filter must be one of allow, deny, warn, indeterminate/);
    const badHtml = await fetchAll(`${basic.url}/ui/decisions?since=yesterday`, { headers: auth('alice', ALICE) });
    expect(badHtml.status).toBe(400);
    expect(badHtml.body.toString()).toContain('the since filter is neither a duration');
  });
});

describe('a listener of its own', () => {
  it('serves the dashboard there (anonymous proxy: the viewer is anonymous) and not on the proxy listener', async () => {
    expect(ownDashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui$/);
    expect(ownDashboard).not.toContain(own.url);
    const page = await fetchAll(`${ownDashboard}/health`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('data-viewer>anonymous<');
    expect(page.body.toString()).toContain('<svg class="chart"');
    expect((await fetchAll(`${own.url}/ui/health`)).status).toBe(404);
    const health = await getJson(`${ownDashboard}/api/health`, {});
    expect(health.json).toMatchObject({ upstreams: [{ name: 'lab' }], cache: { maxBytes: expect.any(Number) }, integrityFailures: { total: 0 } });
  });
});

describe('what changed, when it cannot be computed', () => {
  it('records why beside the decision (a layer that is not a tar), and the decision says so in JSON', async () => {
    const moving = await startProxy({ gate: allowAllGate, upstreams: [{ name: 'lab', url: registry.url, default: true }], cache: { tagTtlSeconds: 0 }, extra: { pinTags: true, ui: { enabled: true } } });
    try {
      const first = await pushRawImage(registry.host, 'team/moving', 'v1', [512]);
      expect((await pull(moving, 'team/moving', 'v1', {})).status).toBe(200);
      const second = await pushRawImage(registry.host, 'team/moving', 'v1', [512]);
      expect((await pull(moving, 'team/moving', 'v1', {})).status).toBe(403);
      const list = await getJson(`${moving.url}/ui/api/decisions?verdict=deny`, {});
      const denied = (list.json.decisions as { id: string; tagMove?: unknown }[])[0]!;
      expect(denied.tagMove).toEqual({ tag: 'v1', from: first.digest, to: second.digest });
      let decision: Record<string, unknown> = {};
      await expect
        .poll(async () => {
          decision = (await getJson(`${moving.url}/ui/api/decisions/${denied.id}`, {})).json;
          return (decision.diff as { state: string }).state;
        }, { timeout: 20_000 })
        .toBe('stored');
      expect(decision.diff).toMatchObject({ state: 'stored', diff: { status: 'failed', from: first.digest, to: second.digest, reason: expect.stringMatching(/^the diff could not be computed: /) } });
      const page = (await fetchAll(`${moving.url}/ui/decisions/${denied.id}`)).body.toString();
      expect(page).toContain('No diff: the diff could not be computed');
    } finally {
      await moving.stop();
    }
  });
});
