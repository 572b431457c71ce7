/**
 * The example configs and policy under examples/ are loaded here by the loaders tollgate itself uses (the proxy's
 * loadProxyConfig, the webhook's loadWebhookConfig, core's loadPolicyFile, the proxy's loadGate), so a change in
 * what those accept cannot leave an example behind. The Kubernetes ConfigMap's copies and the systemd unit are held
 * to the examples they are made from.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '@tollgate/core';
import { loadGate, loadProxyConfig, loadWebhookConfig } from '../../packages/proxy/src/index.js';
import { CONFIGMAP_FILES, EXAMPLES, KUBERNETES_BASE, KUBERNETES_S3, SYSTEMD_UNIT } from './paths.js';

const example = (name: string) => join(EXAMPLES, name);
const REDIS = 'redis://:s3cret@redis.tollgate.svc:6379/2';

describe('examples/', () => {
  it('policy.yaml loads with the policy loader, and every rule names a registry an example upstream serves', async () => {
    const policy = await loadPolicyFile(example('policy.yaml'));
    expect(policy.rules.map((r) => r.name)).toEqual(['acme-releases', 'docker-official']);
    for (const file of ['proxy-vm.yaml', 'proxy-kubernetes.yaml']) {
      const config = await loadProxyConfig(example(file), { env: { TOLLGATE_PROXY_STORE_METADATA: REDIS } });
      const notices: string[] = [];
      // Without a data directory the gate uses the embedded Sigstore root: nothing leaves the machine.
      const gate = await loadGate(config.gate, config.upstreams, { notice: (line) => notices.push(line) });
      expect(gate?.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(notices, `${file}: policy rules no upstream serves`).toEqual([]);
      gate?.close?.();
    }
  });

  it('proxy-vm.yaml loads: a policy gate beside it, the systemd unit\'s state and log directories', async () => {
    const config = await loadProxyConfig(example('proxy-vm.yaml'), { env: {} });
    expect(config.gate).toMatchObject({ kind: 'policy', policy: example('policy.yaml') });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(config.store.metadata).toEqual({ kind: 'level' });
    expect(config.upstreams.map((u) => [u.name, u.prefix, u.ns])).toEqual([
      ['hub', 'hub', 'docker.io'],
      ['ghcr', 'ghcr', 'ghcr.io'],
    ]);
    const unit = await readFile(SYSTEMD_UNIT, 'utf8');
    expect(unit).toContain('proxy serve --config /etc/tollgate/tollgate.yaml');
    expect(config.dataDir).toBe('/var/lib/tollgate');
    expect(unit).toMatch(/^StateDirectory=tollgate$/m);
    expect(config.audit.file).toMatch(/^\/var\/log\/tollgate\//);
    expect(unit).toMatch(/^LogsDirectory=tollgate$/m);
  });

  it('proxy-kubernetes.yaml loads; its Redis URL comes from TOLLGATE_PROXY_STORE_METADATA (the Secret), not the file', async () => {
    const withSecret = await loadProxyConfig(example('proxy-kubernetes.yaml'), { env: { TOLLGATE_PROXY_STORE_METADATA: REDIS } });
    expect(withSecret.store.metadata).toEqual({ kind: 'redis', url: REDIS });
    expect(withSecret.gate).toMatchObject({ kind: 'policy', policy: example('policy.yaml') });
    expect(withSecret.tls).toEqual({ cert: '/etc/tollgate/proxy-tls/tls.crt', key: '/etc/tollgate/proxy-tls/tls.key' });
    const text = await readFile(example('proxy-kubernetes.yaml'), 'utf8');
    expect(text).not.toMatch(/^\s*(store|metadata):/m);
    // A bad URL in the environment is a config error that does not echo the URL (it carries the password).
    await expect(loadProxyConfig(example('proxy-kubernetes.yaml'), { env: { TOLLGATE_PROXY_STORE_METADATA: 'http://:s3cret@redis' } })).rejects.toThrow(/^proxy config: store\.metadata must be "level" or redis/);
    await expect(loadProxyConfig(example('proxy-kubernetes.yaml'), { env: { TOLLGATE_PROXY_STORE_METADATA: 'http://:s3cret@redis' } })).rejects.not.toThrow(/s3cret/);
  });

  it('proxy-kubernetes-s3.yaml loads: blobs in S3 with local copies, keys and Redis URL from the environment only', async () => {
    const env = { TOLLGATE_PROXY_STORE_METADATA: REDIS };
    const s3 = await loadProxyConfig(example('proxy-kubernetes-s3.yaml'), { env });
    expect(s3.store.blobs).toMatchObject({ kind: 's3', s3: { bucket: 'tollgate-cache', forcePathStyle: true, credentials: { accessKeyIdEnv: 'S3_ACCESS_KEY', secretAccessKeyEnv: 'S3_SECRET_KEY' }, localCacheBytes: 20 * 1024 ** 3 } });
    // Everything else is the filesystem example's: the same listener, TLS, gate and upstreams.
    const plain = await loadProxyConfig(example('proxy-kubernetes.yaml'), { env });
    expect({ ...s3, store: undefined, cache: undefined }).toEqual({ ...plain, store: undefined, cache: undefined });
    // Without the Secret's Redis URL, S3 blobs are refused: replicas that share blobs must share what admits them.
    await expect(loadProxyConfig(example('proxy-kubernetes-s3.yaml'), { env: {} })).rejects.toThrow(/needs store\.metadata: redis/);
    const text = await readFile(example('proxy-kubernetes-s3.yaml'), 'utf8');
    expect(text).not.toMatch(/secretAccessKey:|accessKeyId:|redis:\/\//);
  });

  it('webhook.yaml loads and names proxy-kubernetes.yaml, whose routing can pin images (every upstream has a prefix)', async () => {
    const webhook = await loadWebhookConfig(example('webhook.yaml'));
    expect(webhook).toMatchObject({ proxyConfig: example('proxy-kubernetes.yaml'), proxyHost: 'tollgate.example.com:5000', listen: { host: '0.0.0.0', port: 8443 }, budgetMs: 5000, serveProxy: false });
    expect(webhook.tls).toMatchObject({ cert: '/etc/tollgate/webhook-tls/tls.crt', key: '/etc/tollgate/webhook-tls/tls.key' });
    const proxy = await loadProxyConfig(webhook.proxyConfig, { env: { TOLLGATE_PROXY_STORE_METADATA: REDIS } });
    expect(proxy.upstreams.every((u) => u.prefix !== undefined)).toBe(true);
  });

  it('deploy/kubernetes/base/config/ holds byte-identical copies of the examples the ConfigMap is made from', async () => {
    for (const name of CONFIGMAP_FILES) {
      const [original, copy] = await Promise.all([readFile(example(name), 'utf8'), readFile(join(KUBERNETES_BASE, 'config', name), 'utf8')]);
      expect(copy, `deploy/kubernetes/base/config/${name} differs from examples/${name}: cp examples/${name} deploy/kubernetes/base/config/`).toBe(original);
    }
    const [original, copy] = await Promise.all([readFile(example('proxy-kubernetes-s3.yaml'), 'utf8'), readFile(join(KUBERNETES_S3, 'config', 'proxy-kubernetes-s3.yaml'), 'utf8')]);
    expect(copy, 'deploy/kubernetes/overlays/s3/config/proxy-kubernetes-s3.yaml differs from examples/: copy it again').toBe(original);
  });
});
