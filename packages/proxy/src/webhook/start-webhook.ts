import { preloadRegistryHttp, TollgateError } from '@tollgate/core';
import { normalizeRegistryName } from '../config/registry-name.js';
import type { ProxyCore } from '../serve/proxy-core.js';
import { startWebhookServer, type WebhookServer } from './server.js';

export interface StartWebhookOptions {
  /** The proxy's registry host as nodes pull from it, e.g. `tollgate.example.com:5000`. */
  proxyHost: string;
  listen: { host: string; port: number };
  tls: { cert: string; key: string; reloadMs?: number };
  /** Time per review before undecided images are refused; default 5 s. */
  budgetMs?: number;
}

/**
 * Starts the admission webhook on a proxy's core (`createProxy(…).core`): it resolves and evaluates through the
 * same upstreams, gate, verdict cache and audit trail as the proxy, whether or not that proxy also listens.
 */
export async function startWebhook(core: ProxyCore, options: StartWebhookOptions): Promise<WebhookServer> {
  const proxyHost = normalizeRegistryName(options.proxyHost);
  if (proxyHost === undefined) throw new TollgateError('USAGE', `proxyHost ${JSON.stringify(options.proxyHost.slice(0, 100))} is not a registry host; give the proxy's host:port as nodes pull from it`);
  // The gate reads through the upstreams' HTTP client; loaded before the first review waits on it.
  if (core.config.upstreams.some((u) => u.url !== undefined)) await preloadRegistryHttp();
  return startWebhookServer({
    listen: options.listen,
    tls: { cert: options.tls.cert, key: options.tls.key, reloadMs: options.tls.reloadMs ?? 10_000 },
    context: { core, proxyHost, budgetMs: options.budgetMs ?? 5000 },
  });
}
