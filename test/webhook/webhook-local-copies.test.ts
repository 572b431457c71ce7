/**
 * `tollgate webhook serve` opens the proxy's stores from the proxy's own config; a webhook that serves no pulls must
 * not keep the replicas' local copies of S3 blobs on its small disk (deploy/kubernetes gives it a 1 Gi emptyDir).
 */
import { describe, expect, it } from 'vitest';
import { normalizeProxyConfig } from '../../packages/proxy/src/index.js';
import { withoutLocalCopies } from '../../packages/cli/src/commands/webhook.js';

const base = { dataDir: '/var/lib/tollgate', gate: 'allow-all', upstreams: [{ name: 'hub', url: 'https://registry-1.docker.io', default: true }] };
const s3 = (localCache?: string) =>
  normalizeProxyConfig({ ...base, store: { metadata: 'redis://redis:6379/0', blobs: { s3: { bucket: 'tollgate-cache', ...(localCache !== undefined ? { localCache } : {}) } } } }, { env: {} });

describe('the webhook and store.blobs.s3.localCache', () => {
  it('a webhook that serves no pulls keeps no local copies; everything else in the config is unchanged', () => {
    const config = s3('20GiB');
    const webhook = withoutLocalCopies(config, false);
    expect(webhook.store.blobs).toMatchObject({ kind: 's3', s3: { localCacheBytes: 0, bucket: 'tollgate-cache' } });
    expect({ ...webhook, store: undefined }).toEqual({ ...config, store: undefined });
    // The loaded config itself is not changed.
    expect(config.store.blobs).toMatchObject({ s3: { localCacheBytes: 20 * 1024 ** 3 } });
  });

  it('with serveProxy it serves pulls like a replica and keeps them; without S3 or copies there is nothing to change', () => {
    const config = s3('20GiB');
    expect(withoutLocalCopies(config, true)).toBe(config);
    const noCopies = s3();
    expect(withoutLocalCopies(noCopies, false)).toBe(noCopies);
    const filesystem = normalizeProxyConfig(base, { env: {} });
    expect(withoutLocalCopies(filesystem, false)).toBe(filesystem);
  });
});
