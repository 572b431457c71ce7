/**
 * deploy/: every YAML under deploy/kubernetes parses strictly (the `yaml` package the proxy uses, duplicate keys
 * refused), and the kustomize base — as written, and as `kubectl kustomize` renders it when kubectl is here — pins
 * images by digest (or the documented placeholder), probes /readyz and /healthz, runs non-root on a read-only root
 * with no capabilities, has replicas, PodDisruptionBudgets and Services, registers both webhooks with failurePolicy
 * Fail, sideEffects None, v1 reviews, a timeout above the webhook's budget and kube-system plus its own namespace
 * excluded; the ConfigMap carries the examples byte for byte; the paths the example configs name are where the
 * Deployments mount things. The Dockerfile is multi-stage, ends non-root with the uid the manifests run as, and
 * keeps the build's tools out of the final stage.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadWebhookConfig, loadProxyConfig } from '../../packages/proxy/src/index.js';
import { REPO_ROOT } from '../support/shared.js';
import { skipWhen } from '../support/skip.js';
import { imageProblems, ofKind, webhookNamespace, webhookProblems, workloadProblems, type Doc } from './manifest-checks.js';
import { CONFIGMAP_FILES, DOCKERFILE, EXAMPLES, KUBERNETES_BASE, KUBERNETES_S3, PLACEHOLDER_DIGEST, SYSTEMD_UNIT } from './paths.js';

const execFileAsync = promisify(execFile);

function parseYaml(text: string, where: string): Doc[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true, strict: true, prettyErrors: false });
  if (!Array.isArray(docs)) throw new Error(`${where}: not YAML documents`);
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message.split('\n')[0]));
  if (errors.length > 0) throw new Error(`${where}: ${errors.join('; ')}`);
  return docs.map((d) => d.toJS({ maxAliasCount: 0 }) as Doc).filter((d) => d !== null);
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

async function kustomization(): Promise<Doc> {
  return parseYaml(await readFile(join(KUBERNETES_BASE, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0]!;
}

/** The base's resources as written, each with the kustomization's namespace applied where it has none. */
async function rawResources(): Promise<Doc[]> {
  const k = await kustomization();
  const docs: Doc[] = [];
  for (const file of k.resources as string[]) docs.push(...parseYaml(await readFile(join(KUBERNETES_BASE, file), 'utf8'), file));
  return docs;
}

/** What kustomize's `images:` makes of a container's image name. */
function imageResolver(k: Doc): (image: string) => string {
  return (image) => {
    const entry = (k.images ?? []).find((i: Doc) => i.name === image);
    if (entry === undefined) return image;
    return `${entry.newName ?? image}${entry.digest !== undefined ? `@${entry.digest}` : entry.newTag !== undefined ? `:${entry.newTag}` : ''}`;
  };
}

async function budgetMs(): Promise<number> {
  return (await loadWebhookConfig(join(EXAMPLES, 'webhook.yaml'))).budgetMs;
}

/** `kubectl kustomize` here, or why not. */
async function kubectlMissing(): Promise<string | undefined> {
  try {
    await execFileAsync('kubectl', ['version', '--client'], { timeout: 30_000 });
    return undefined;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    return e.code === 'ENOENT' ? 'kubectl is not installed (scripts/test-deps.sh tries Debian\'s kubernetes-client)' : `kubectl does not run: ${(e.stderr || e.message).trim().split('\n')[0]}`;
  }
}
const noKubectl = await kubectlMissing();
const noSystemdAnalyze = await execFileAsync('systemd-analyze', ['--version'], { timeout: 30_000 }).then(
  () => undefined,
  () => 'systemd-analyze is not installed (it comes with systemd)',
);

function deploymentWith(docs: readonly Doc[], command: string): Doc {
  const d = ofKind(docs, 'Deployment').find((x) => (x.spec.template.spec.containers ?? []).some((c: Doc) => c.args?.[0] === command));
  if (d === undefined) throw new Error(`no Deployment runs tollgate ${command}`);
  return d;
}

/** The directory a path is mounted from in a Deployment's first container, and the volume behind it. */
function volumeAt(deployment: Doc, path: string): Doc | undefined {
  const container = deployment.spec.template.spec.containers[0];
  const mount = (container.volumeMounts ?? []).find((m: Doc) => path.startsWith(`${m.mountPath}/`));
  return mount === undefined ? undefined : deployment.spec.template.spec.volumes.find((v: Doc) => v.name === mount.name);
}

describe('deploy/kubernetes', () => {
  it('every YAML file parses strictly (no duplicate keys, no aliases)', async () => {
    const files = await yamlFiles(join(REPO_ROOT, 'deploy/kubernetes'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) parseYaml(await readFile(file, 'utf8'), relative(REPO_ROOT, file));
  });

  it('the base as written: digests, probes, non-root, replicas, PDBs, Services, both webhooks fail closed with exclusions', async () => {
    const k = await kustomization();
    const docs = await rawResources();
    expect(k.namespace).toBe('tollgate');
    expect(imageProblems(docs, imageResolver(k))).toEqual([]);
    expect(imageResolver(k)('tollgate')).toBe(`registry.example.com/tollgate/tollgate@${PLACEHOLDER_DIGEST}`);
    expect(workloadProblems(docs)).toEqual([]);
    expect(webhookProblems(docs, { namespace: webhookNamespace(docs, k.namespace), budgetMs: await budgetMs() })).toEqual([]);
  });

  it('the checks are not vacuous: each broken copy of the base is caught', async () => {
    const k = await kustomization();
    const budget = await budgetMs();
    const broken = (edit: (docs: Doc[]) => void) => {
      const docs = structuredClone(docsAsWritten);
      edit(docs);
      return [...imageProblems(docs, imageResolver(k)), ...workloadProblems(docs), ...webhookProblems(docs, { namespace: 'tollgate', budgetMs: budget })];
    };
    const docsAsWritten = await rawResources();
    const proxy = (docs: Doc[]) => deploymentWith(docs, 'proxy');
    const mutating = (docs: Doc[]) => ofKind(docs, 'MutatingWebhookConfiguration')[0]!.webhooks[0];
    expect(broken(() => undefined)).toEqual([]);
    expect(broken((d) => (proxy(d).spec.template.spec.containers[0].image = 'nginx:latest'))).toEqual(['tollgate-proxy/proxy: image nginx:latest is not pinned by digest']);
    expect(broken((d) => (proxy(d).spec.replicas = 1))).toEqual(['tollgate-proxy: replicas 1 (at least 2)']);
    expect(broken((d) => delete proxy(d).spec.template.spec.containers[0].readinessProbe)).toEqual(['tollgate-proxy/proxy: readinessProbe is not an httpGet of /readyz']);
    expect(broken((d) => (proxy(d).spec.template.spec.containers[0].securityContext.capabilities.drop = ['NET_RAW']))).toEqual(['tollgate-proxy/proxy: securityContext.capabilities.drop does not include ALL']);
    expect(broken((d) => (proxy(d).spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false))).toEqual(['tollgate-proxy/proxy: securityContext.readOnlyRootFilesystem is not true']);
    expect(broken((d) => d.splice(d.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'tollgate-proxy'), 1))).toEqual(['tollgate-proxy: no PodDisruptionBudget selects its pods']);
    expect(broken((d) => (mutating(d).failurePolicy = 'Ignore'))).toEqual(['MutatingWebhookConfiguration mutate.tollgate.dev: failurePolicy Ignore (must be Fail: no answer, no pod)']);
    expect(broken((d) => (mutating(d).namespaceSelector.matchExpressions[0].values = ['kube-system']))).toEqual(['MutatingWebhookConfiguration mutate.tollgate.dev: namespaceSelector does not exclude tollgate']);
    expect(broken((d) => (mutating(d).timeoutSeconds = 5))).toEqual(['MutatingWebhookConfiguration mutate.tollgate.dev: timeoutSeconds 5 must exceed the webhook\'s budget (5000 ms) and be at most 30']);
    expect(broken((d) => (mutating(d).sideEffects = 'Some'))).toHaveLength(1);
  });

  it('the ConfigMap is generated from the examples\' copies, mounted where the Deployments read their configs', async () => {
    const k = await kustomization();
    const generator = (k.configMapGenerator as Doc[]).find((g) => g.name === 'tollgate-config')!;
    expect(generator.files).toEqual(CONFIGMAP_FILES.map((f) => `config/${f}`));
    const docs = await rawResources();
    for (const [command, file] of [['proxy', 'proxy-kubernetes.yaml'], ['webhook', 'webhook.yaml']] as const) {
      const d = deploymentWith(docs, command);
      const args = d.spec.template.spec.containers[0].args as string[];
      const config = args[args.indexOf('--config') + 1]!;
      expect(config).toBe(`/etc/tollgate/config/${file}`);
      expect(volumeAt(d, config)?.configMap?.name).toBe('tollgate-config');
      // The Redis URL only from the Secret.
      const env = d.spec.template.spec.containers[0].env as Doc[];
      expect(env.find((e) => e.name === 'TOLLGATE_PROXY_STORE_METADATA')?.valueFrom?.secretKeyRef).toEqual({ name: 'tollgate-redis', key: 'url' });
    }
  });

  it('the TLS files the example configs name are mounted from Secrets in the Deployments that read them', async () => {
    const docs = await rawResources();
    const proxy = await loadProxyConfig(join(EXAMPLES, 'proxy-kubernetes.yaml'), { env: {} });
    const webhook = await loadWebhookConfig(join(EXAMPLES, 'webhook.yaml'));
    const paths: [string, string][] = [
      ['proxy', proxy.tls!.cert],
      ['proxy', proxy.tls!.key],
      // The webhook opens the proxy's core, which reads the proxy's certificate too.
      ['webhook', proxy.tls!.cert],
      ['webhook', webhook.tls.cert],
      ['webhook', webhook.tls.key],
    ];
    for (const [command, path] of paths) expect(volumeAt(deploymentWith(docs, command), path)?.secret?.secretName, `${command}: ${path}`).toMatch(/^tollgate-(proxy|webhook)-tls$/);
    expect(volumeAt(deploymentWith(docs, 'proxy'), `${proxy.dataDir}/x`)?.emptyDir, 'the data directory is a volume').toBeDefined();
  });

  it('kubectl kustomize renders the base, and the rendered objects pass the same checks', skipWhen(noKubectl), async () => {
    const { stdout } = await execFileAsync('kubectl', ['kustomize', KUBERNETES_BASE], { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    const docs = parseYaml(stdout, 'kubectl kustomize output');
    expect(imageProblems(docs)).toEqual([]);
    expect(workloadProblems(docs)).toEqual([]);
    expect(webhookProblems(docs, { namespace: webhookNamespace(docs, undefined), budgetMs: await budgetMs() })).toEqual([]);
    for (const d of docs) if (d.kind !== 'Namespace' && !d.kind.endsWith('WebhookConfiguration')) expect(d.metadata.namespace, `${d.kind} ${d.metadata.name}`).toBe('tollgate');
    // The generated ConfigMap holds the examples byte for byte, and both Deployments mount it by its hashed name.
    const [configMap] = ofKind(docs, 'ConfigMap');
    expect(configMap!.metadata.name).toMatch(/^tollgate-config-[a-z0-9]{10}$/);
    for (const file of CONFIGMAP_FILES) expect(configMap!.data[file], file).toBe(await readFile(join(EXAMPLES, file), 'utf8'));
    for (const d of ofKind(docs, 'Deployment')) expect(d.spec.template.spec.volumes.find((v: Doc) => v.name === 'config').configMap.name).toBe(configMap!.metadata.name);
  });
});

/** A Kubernetes quantity such as `24Gi` or `500M` in bytes. */
function quantityBytes(value: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (match === null) throw new Error(`not a quantity: ${value}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

describe('deploy/kubernetes/overlays/s3', () => {
  it('kubectl kustomize renders it: the base\'s checks hold, the proxy config is the S3 example, both Deployments get the keys from a Secret and the proxy disk fits localCache', skipWhen(noKubectl), async () => {
    const { stdout } = await execFileAsync('kubectl', ['kustomize', KUBERNETES_S3], { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    const docs = parseYaml(stdout, 'kubectl kustomize output');
    expect(imageProblems(docs)).toEqual([]);
    expect(workloadProblems(docs)).toEqual([]);
    expect(webhookProblems(docs, { namespace: webhookNamespace(docs, undefined), budgetMs: await budgetMs() })).toEqual([]);
    const [configMap] = ofKind(docs, 'ConfigMap');
    expect(configMap!.data['proxy-kubernetes.yaml']).toBe(await readFile(join(EXAMPLES, 'proxy-kubernetes-s3.yaml'), 'utf8'));
    for (const file of ['webhook.yaml', 'policy.yaml']) expect(configMap!.data[file], file).toBe(await readFile(join(EXAMPLES, file), 'utf8'));
    const proxyConfig = await loadProxyConfig(join(EXAMPLES, 'proxy-kubernetes-s3.yaml'), { env: { TOLLGATE_PROXY_STORE_METADATA: 'redis://redis:6379/0' } });
    if (proxyConfig.store.blobs.kind !== 's3') throw new Error('the S3 example has no S3 store');
    const s3 = proxyConfig.store.blobs.s3;
    const credentials = s3.credentials as { accessKeyIdEnv: string; secretAccessKeyEnv: string };
    for (const command of ['proxy', 'webhook']) {
      const d = deploymentWith(docs, command);
      expect(d.spec.template.spec.volumes.find((v: Doc) => v.name === 'config').configMap.name).toBe(configMap!.metadata.name);
      const env = d.spec.template.spec.containers[0].env as Doc[];
      for (const [name, key] of [[credentials.accessKeyIdEnv, 'access-key'], [credentials.secretAccessKeyEnv, 'secret-key']]) {
        expect(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef, `${command}: ${name}`).toEqual({ name: 'tollgate-s3', key });
      }
      expect(env.find((e) => e.name === 'TOLLGATE_PROXY_STORE_METADATA')?.valueFrom?.secretKeyRef).toEqual({ name: 'tollgate-redis', key: 'url' });
    }
    const proxy = deploymentWith(docs, 'proxy');
    const data = volumeAt(proxy, `${proxyConfig.dataDir}/x`)!;
    expect(quantityBytes(data.emptyDir.sizeLimit)).toBeGreaterThan(s3.localCacheBytes);
    const resources = proxy.spec.template.spec.containers[0].resources;
    expect(quantityBytes(resources.limits['ephemeral-storage'])).toBeGreaterThanOrEqual(quantityBytes(data.emptyDir.sizeLimit));
    expect(resources.limits.memory).toBe('1Gi');
  });
});

describe('deploy/systemd/tollgate-proxy.service', () => {
  it('is hardened: NoNewPrivileges, ProtectSystem=strict, a dynamic user, state and logs directories', async () => {
    const unit = await readFile(SYSTEMD_UNIT, 'utf8');
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'DynamicUser=yes', 'StateDirectory=tollgate', 'LogsDirectory=tollgate', 'CapabilityBoundingSet=', 'RestrictSUIDSGID=yes']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).not.toMatch(/^User=root$/m);
  });

  it('systemd-analyze verify finds nothing wrong with it', skipWhen(noSystemdAnalyze), async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-unit-'));
    try {
      // verify reads the unit by its file name; a copy keeps it from looking at the machine's own units.
      await copyFile(SYSTEMD_UNIT, join(dir, 'tollgate-proxy.service'));
      const result = await execFileAsync('systemd-analyze', ['verify', '--man=no', join(dir, 'tollgate-proxy.service')], { timeout: 60_000 }).then(
        ({ stderr }) => ({ code: 0, stderr }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code ?? 1, stderr: error.stderr ?? '' }),
      );
      // The one thing it may say off a real install: /usr/bin/node is not there.
      const complaints = result.stderr.split('\n').filter((l) => l.trim() !== '' && !/\/usr\/bin\/node/.test(l));
      expect(complaints).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Dockerfile', () => {
  it('is multi-stage; the final stage runs as the uid the manifests use, with no build tools', async () => {
    const text = await readFile(DOCKERFILE, 'utf8');
    const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
    const stages = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const final = lines.slice(stages[stages.length - 1]![1]).join('\n');
    expect(final).toMatch(/^USER 10001:10001$/m);
    expect(final).not.toMatch(/\b(pnpm|npm install|tsc|apt-get install|gcc|g\+\+|make)\b/);
    expect(final).toMatch(/^COPY --from=build \/out \/opt\/tollgate$/m);
    expect(final).toMatch(/^ENTRYPOINT \["node", "\/opt\/tollgate\/packages\/cli\/bin\/tollgate\.js"\]$/m);
    for (const d of ofKind(await rawResources(), 'Deployment')) expect(d.spec.template.spec.securityContext.runAsUser).toBe(10001);
  });
});
