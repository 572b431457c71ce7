import { mkdir } from 'node:fs/promises';
import { preloadRegistryHttp, TollgateError } from '@tollgate/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ProxyConfig } from './config/types.js';
import type { Gate } from './gate/types.js';
import { buildApp } from './http/app.js';
import { buildDashboardApp } from './ui/dashboard-app.js';
import { createLogger } from './ops/logger.js';
import { createMetrics } from './ops/metrics.js';
import { ProxyCore } from './serve/proxy-core.js';
import { createBlobStore } from './store/blobs/open-blob-store.js';
import { storePaths } from './store/gc.js';
import type { MetadataStore } from './store/metadata-store.js';
import { blobNamespace, openMetadataStore } from './store/open-metadata-store.js';
import { AuditLog } from './audit/audit-log.js';
import { ClientAuth } from './auth/client-auth.js';
import { createRetention } from './store/create-retention.js';
import { RevisionHousekeeping } from './store/revision-housekeeping.js';
import { createUpstream } from './upstream/create-upstream.js';
import { UpstreamGateway } from './upstream/gateway.js';
import type { Upstream } from './upstream/types.js';

export interface CreateProxyOptions {
  /** Decides what may be served; required (there is no implicit allow). */
  gate: Gate;
  /** A pino logger; default JSON to stdout at the config's level, secrets redacted. */
  logger?: Logger;
  /** Environment for credentials.passwordEnv; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds since the epoch, for verdict and tag lifetimes; default Date.now (tests pass their own). */
  clock?: () => number;
}

export interface Proxy {
  app: FastifyInstance;
  /**
   * Starts listening on config.listen; resolves with the base URL (e.g. http://127.0.0.1:5000) and, when the
   * dashboard is enabled, its URL (under the proxy's, or on its own listener with `ui.listen`).
   */
  listen(): Promise<{ url: string; dashboardUrl?: string }>;
  /** Graceful shutdown: stops accepting, lets in-flight pulls finish, then closes the stores. */
  close(): Promise<void>;
  /** Internals for tests and the CLI: stores, metrics, in-flight downloads. */
  core: ProxyCore;
  /** This replica's gate-revision marks and pruning (started by listen, released by close). */
  revisions: RevisionHousekeeping;
}

/**
 * Creates the pull-through proxy: opens the data directory (removing interrupted downloads), builds the upstream
 * clients, and returns a fastify app ready to listen.
 */
export async function createProxy(config: ProxyConfig, options: CreateProxyOptions): Promise<Proxy> {
  if (options?.gate === undefined || typeof options.gate.evaluate !== 'function') {
    throw new TollgateError('USAGE', 'createProxy needs a gate: configure a policy (or allowAllGate for tests); tollgate does not serve unverified content by default');
  }
  const logger = options.logger ?? createLogger(config.logLevel);
  const paths = storePaths(config.dataDir);
  await mkdir(config.dataDir, { recursive: true });
  const blobs = await createBlobStore(config.store.blobs, paths.blobs);
  const removed = await blobs.open();
  if (removed > 0) logger.info({ removed }, 'removed interrupted downloads from the blob store');
  const meta: MetadataStore = await openMetadataStore(config.store.metadata, paths.meta, blobNamespace(blobs, config.dataDir));
  const metrics = createMetrics(() => blobs.localCopyStats?.());
  const onEvict = (digest: string, size: number) => {
    metrics.evictions.inc();
    logger.info({ digest, size }, 'evicted blob');
  };
  const retention = createRetention(blobs, meta, config.cache.maxBytes, onEvict);
  const upstreams: Upstream[] = [];
  let auth: ClientAuth;
  let audit: AuditLog;
  try {
    await retention.load();
    for (const u of config.upstreams) upstreams.push(createUpstream(u, options.env ?? process.env));
    auth = await ClientAuth.open(config.auth);
    audit = await AuditLog.open(meta, config.audit.file, logger);
  } catch (error) {
    await meta.close();
    throw error;
  }
  const core = new ProxyCore(config, options.gate, upstreams, meta, blobs, retention, metrics, logger, auth, audit, options.clock ?? Date.now);
  const state = { closing: false };
  const app = buildApp(core, logger, state);
  const ui = config.ui;
  const dashboard = ui?.enabled === true && ui.listen !== undefined ? { app: buildDashboardApp(core, logger, ui.path), listen: ui.listen } : undefined;
  let closed: Promise<void> | undefined;
  const revisions = new RevisionHousekeeping(core);

  return {
    app,
    core,
    revisions,
    async listen() {
      // Every gate pulls through the upstreams' HTTP client; loaded before the first client waits on it.
      if (config.upstreams.some((u) => u.url !== undefined)) await preloadRegistryHttp();
      await app.listen({ host: config.listen.host, port: config.listen.port });
      revisions.start((work) => core.track(work));
      const address = app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
      const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
      const url = `${config.tls !== undefined ? 'https' : 'http'}://${host}:${port}`;
      logger.info({ url, upstreams: upstreams.map((u) => ({ name: u.name, location: u.location })), policyRevision: options.gate.revision, auth: config.auth.mode, mode: config.mode, metadata: meta.kind }, 'tollgate proxy listening');
      if (dashboard === undefined) return ui?.enabled === true ? { url, dashboardUrl: `${url}${ui.path}` } : { url };
      await dashboard.app.listen({ host: dashboard.listen.host, port: dashboard.listen.port });
      const uiAddress = dashboard.app.server.address();
      const uiPort = typeof uiAddress === 'object' && uiAddress !== null ? uiAddress.port : dashboard.listen.port;
      const uiHost = dashboard.listen.host.includes(':') ? `[${dashboard.listen.host}]` : dashboard.listen.host;
      const dashboardUrl = `${config.tls !== undefined ? 'https' : 'http'}://${uiHost}:${uiPort}${ui!.path}`;
      logger.info({ url: dashboardUrl }, 'tollgate dashboard listening');
      return { url, dashboardUrl };
    },
    close() {
      closed ??= (async () => {
        state.closing = true;
        revisions.stop();
        await dashboard?.app.close();
        await app.close();
        // Downloads no client waits for any more are abandoned; their temp files are removed.
        for (const fetch of core.blobFetches.values()) fetch.abort();
        // So are the upstream's other reads still in flight (background work, a pull whose client left): `aborted`,
        // not the upstream failing, and the background work they held ends now rather than at the upstream timeout.
        for (const upstream of core.upstreams) if (upstream instanceof UpstreamGateway) upstream.abandonReads();
        await Promise.allSettled([...core.blobFetches.values()].map((f) => f.done));
        await core.idle();
        // This replica's revisions are no longer served by it: a peer's next housekeeping prunes them if unused.
        await revisions.release().catch((error: unknown) => logger.warn({ err: error }, 'removing this replica\'s gate revision marks failed; they lapse by themselves'));
        await Promise.allSettled(upstreams.map((u) => u.close()));
        await audit.close();
        await meta.close();
        await blobs.close();
      })();
      return closed;
    },
  };
}
