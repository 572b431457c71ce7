import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';

// The test helper itself: which host the registry's absolute upload Location names decides whether a push goes
// through the proxy (tollgate follows an upload Location on the registry's own host only).
let registry: RunningRegistry;
let rewriting: FaultProxy;
let preserving: FaultProxy;

beforeAll(async () => {
  registry = await startRegistry();
  [rewriting, preserving] = await Promise.all([startFaultProxy(registry.url), startFaultProxy(registry.url, { preserveHost: true })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([rewriting?.stop(), preserving?.stop()]);
  await registry?.stop();
});

async function uploadLocation(proxy: FaultProxy): Promise<URL> {
  const response = await fetch(`${proxy.url}/v2/helper/app/blobs/uploads/`, { method: 'POST' });
  expect(response.status).toBe(202);
  return new URL(response.headers.get('location')!, proxy.url);
}

describe('startFaultProxy', () => {
  it('by default sends the upstream Host: the upload Location names the registry', async () => {
    expect((await uploadLocation(rewriting)).host).toBe(registry.host);
  });

  it('with preserveHost sends the client’s: the upload Location names the proxy, and the upload is counted there', async () => {
    const location = await uploadLocation(preserving);
    expect(location.host).toBe(preserving.host);
    const before = preserving.count((r) => r.method === 'DELETE');
    expect((await fetch(location, { method: 'DELETE' })).status).toBe(204);
    expect(preserving.count((r) => r.method === 'DELETE')).toBe(before + 1);
  });
});
