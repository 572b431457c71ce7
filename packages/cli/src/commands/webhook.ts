import { Command } from 'commander';
import { TollgateError } from '@tollgate/core';
import type { ProxyConfig } from '@tollgate/proxy';
import { ExitCode } from '../exit-codes.js';
import { writeErr, writeOut } from '../output/write.js';
import { withStatus } from '../run-status.js';

/** fastify, pino and the stores load only when a webhook command runs, not on every CLI start. */
const proxyModule = () => import('@tollgate/proxy');

interface ServeFlags {
  config: string;
  json?: boolean;
}

function serveCommand(): Command {
  return new Command('serve')
    .description('run the Kubernetes admission webhook: pins every pod image to the proxy by digest, refuses what the gate does not admit')
    .requiredOption('-c, --config <file>', 'webhook config file (YAML; see docs/kubernetes.md)')
    .option('--json', 'print {"url": …} on stdout once listening', false)
    .addHelpText(
      'after',
      `
The webhook config (relative paths are relative to it):
  proxyConfig: tollgate.yaml            the proxy config: upstreams, gate, store, mode and audit are taken from it
  proxyHost: tollgate.example.com:5000  the proxy's registry host as nodes pull from it
  listen: :8443                         default 0.0.0.0:8443
  tls: {cert: tls.crt, key: tls.key}    HTTPS (the API server requires it); read again every tls.reloadSeconds (10)
  timeBudgetSeconds: 5                  per review; images not decided by then are refused (fail closed)
  serveProxy: false                     true: also serve the proxy from this process (needed with a level store)

Endpoints: POST /mutate (rewrites images to <proxyHost>/<prefix>/<repository>@sha256:…), POST /validate (refuses
images that are not that, or not admitted), GET /healthz, GET /readyz.

Examples:
  tollgate webhook serve --config webhook.yaml
  tollgate webhook serve --config webhook.yaml --json

SIGTERM or SIGINT stops accepting reviews, lets reviews in progress finish, then exits.
Docs: docs/kubernetes.md`,
    )
    .action(
      withStatus(async (flags: ServeFlags) => {
        const { createLogger, createProxy, loadGate, loadProxyConfig, loadWebhookConfig, startWebhook } = await proxyModule();
        const settings = await loadWebhookConfig(flags.config);
        const loaded = await loadProxyConfig(settings.proxyConfig, { env: process.env });
        // A webhook that serves no pulls keeps no local copies of S3 blobs: its disk is sized for reading manifests
        // and signatures (deploy/kubernetes), not for the proxy replicas' `localCache`.
        const config = withoutLocalCopies(loaded, settings.serveProxy);
        const logger = createLogger(config.logLevel);
        const gate = await loadGate(config.gate, config.upstreams, { dataDir: config.dataDir, notice: (line) => logger.warn({ component: 'trust' }, line) });
        if (gate === undefined) {
          throw new TollgateError('INVALID_CONFIG', `${settings.proxyConfig} configures no gate, so nothing could be admitted safely; configure the proxy's gate (gate: {policy: policy.yaml}) — the webhook decides with it`);
        }
        // The proxy's core, opened as the proxy opens it; it listens for pulls only with serveProxy.
        const proxy = await createProxy(config, { gate, logger });
        let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;
        let proxyUrl: string | undefined;
        try {
          if (settings.serveProxy) proxyUrl = (await proxy.listen()).url;
          webhook = await startWebhook(proxy.core, { proxyHost: settings.proxyHost, listen: settings.listen, tls: settings.tls, budgetMs: settings.budgetMs });
        } catch (error) {
          await proxy.close();
          gate.close?.();
          throw error;
        }
        logger.info({ url: webhook.url, proxyHost: settings.proxyHost, policyRevision: gate.revision, proxy: proxyUrl ?? 'not served here' }, 'tollgate webhook listening');
        if (flags.json) writeOut(JSON.stringify({ url: webhook.url, policyRevision: gate.revision, ...(proxyUrl !== undefined ? { proxyUrl } : {}) }));
        else writeErr(`tollgate webhook listening on ${webhook.url} (gate ${gate.revision}${proxyUrl !== undefined ? `; proxy on ${proxyUrl}` : ''})`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        if (!flags.json) writeErr('shutting down: finishing reviews in progress');
        await webhook.close();
        await proxy.close();
        gate.close?.();
        return ExitCode.Ok;
      }),
    );
}

export function webhookCommand(): Command {
  const command = new Command('webhook')
    .description('the Kubernetes admission webhook that pins pod images to the proxy by digest (serve)')
    .addHelpText('after', '\nExamples:\n  tollgate webhook serve --config webhook.yaml\n\nDocs: docs/kubernetes.md');
  const serve = serveCommand();
  serve.exitOverride();
  command.addCommand(serve);
  command.exitOverride();
  return command;
}

/** The config with `store.blobs.s3.localCache` off, unless this process also serves pulls. */
export function withoutLocalCopies(config: ProxyConfig, serveProxy: boolean): ProxyConfig {
  const blobs = config.store.blobs;
  if (serveProxy || blobs.kind !== 's3' || blobs.s3.localCacheBytes === 0) return config;
  return { ...config, store: { ...config.store, blobs: { kind: 's3', s3: { ...blobs.s3, localCacheBytes: 0 } } } };
}
