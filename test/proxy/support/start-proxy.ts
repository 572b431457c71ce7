/** Starts a tollgate proxy in this process on a random loopback port, with a temp data directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createProxy, normalizeProxyConfig, type Gate, type Proxy, type ProxyConfig } from '../../../packages/proxy/src/index.js';

export interface RunningProxy {
  url: string;
  host: string;
  dataDir: string;
  config: ProxyConfig;
  proxy: Proxy;
  /** Closes the proxy (keeps the data directory). */
  close(): Promise<void>;
  /** Closes the proxy and removes its data directory. */
  stop(): Promise<void>;
}

export interface StartProxyOptions {
  gate: Gate;
  upstreams: Record<string, unknown>[];
  cache?: Record<string, unknown>;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** More top-level config keys (auth, audit, mode, pinTags, store, tls …). */
  extra?: Record<string, unknown>;
  /** The proxy's clock (ms since the epoch), for lifetimes: a test moves it instead of waiting. */
  clock?: () => number;
}

export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tollgate-proxy-')));
  let proxy: Proxy;
  let url: string;
  try {
    const config = normalizeProxyConfig({ listen: '127.0.0.1:0', dataDir, logLevel: 'silent', upstreams: options.upstreams, ...(options.cache ? { cache: options.cache } : {}), ...(options.extra ?? {}) }, { env: {} });
    proxy = await createProxy(config, { gate: options.gate, logger: createLogger((process.env.TOLLGATE_TEST_LOG ?? 'silent') as 'silent'), env: options.env ?? {}, ...(options.clock ? { clock: options.clock } : {}) });
    ({ url } = await proxy.listen());
  } catch (error) {
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const config = proxy.core.config;
  return {
    url,
    host: url.replace(/^https?:\/\//, ''),
    dataDir,
    config,
    proxy,
    close: () => proxy.close(),
    async stop() {
      await proxy.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
