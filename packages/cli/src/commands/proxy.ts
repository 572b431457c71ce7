import { Command } from 'commander';
import { TollgateError } from '@tollgate/core';
import type { ProxyConfig } from '@tollgate/proxy';

/** fastify, pino and prom-client load only when a proxy command runs, not on every CLI start. */
const proxyModule = () => import('@tollgate/proxy');
import { ExitCode } from '../exit-codes.js';
import { formatBytes, table, writeErr, writeJson, writeOut } from '../output/write.js';
import { withStatus } from '../run-status.js';

interface ServeFlags {
  config: string;
  listen?: string;
  data?: string;
  json?: boolean;
}

interface GcFlags {
  config: string;
  data?: string;
  maxBytes?: string;
  json?: boolean;
}

async function configFrom(flags: { config: string; listen?: string; data?: string }): Promise<ProxyConfig> {
  // Flags win over the environment, which wins over the file.
  const env = { ...process.env };
  if (flags.listen !== undefined) env.TOLLGATE_PROXY_LISTEN = flags.listen;
  if (flags.data !== undefined) env.TOLLGATE_PROXY_DATA_DIR = flags.data;
  return (await proxyModule()).loadProxyConfig(flags.config, { env });
}

function serveCommand(): Command {
  return new Command('serve')
    .description('run the pull-through registry proxy: serves only images the configured gate admits')
    .requiredOption('-c, --config <file>', 'proxy config file (YAML; see docs/proxy.md)')
    .option('--listen <host:port>', 'address to listen on (overrides listen: and TOLLGATE_PROXY_LISTEN)')
    .option('--data <dir>', 'data directory for the cache (overrides dataDir: and TOLLGATE_PROXY_DATA_DIR)')
    .option('--json', 'print {"url": …} on stdout once listening', false)
    .addHelpText(
      'after',
      `
The config must name a gate:
  gate: {policy: policy.yaml}                                       enforce an admission policy (docs/policy.md); the
                                                                    Sigstore root via TUF, cached under the data dir
  gate: {policy: policy.yaml, trustedRoot: trusted_root.json}       … with a trusted root file instead
  gate: {policy: policy.yaml, tuf: {mirror: <url>, offline: true}}  … with another TUF mirror, or no network
  gate: {allowDigests: {"<upstream>/<repository>": [sha256:…]}}   admit only pinned digests
  gate: allow-all                                                   no verification, testing only
Without a gate the proxy refuses to start (fail closed).

Examples:
  tollgate proxy serve --config tollgate.yaml
  tollgate proxy serve --config tollgate.yaml --listen 127.0.0.1:5000 --data /var/lib/tollgate
  skopeo copy --src-tls-verify=false docker://127.0.0.1:5000/library/alpine:3 oci:alpine:3

SIGTERM or SIGINT stops accepting requests, lets pulls in progress finish, then exits.`,
    )
    .action(
      withStatus(async (flags: ServeFlags) => {
        const config = await configFrom(flags);
        const { createLogger, createProxy, loadGate } = await proxyModule();
        // One JSON log for the gate's notices (TUF fallback and refreshes) and the proxy's own lines.
        const logger = createLogger(config.logLevel);
        const gate = await loadGate(config.gate, config.upstreams, { dataDir: config.dataDir, notice: (line) => logger.warn({ component: 'trust' }, line) });
        if (gate === undefined) {
          throw new TollgateError(
            'INVALID_CONFIG',
            `${flags.config} configures no gate, so nothing could be admitted safely; configure a policy (gate: {policy: policy.yaml}), pinned digests (gate: {allowDigests: …}) or, for testing only, gate: allow-all`,
          );
        }
        const proxy = await createProxy(config, { gate, logger });
        const { url } = await proxy.listen();
        if (flags.json) writeOut(JSON.stringify({ url, policyRevision: gate.revision }));
        else writeErr(`tollgate proxy listening on ${url} (gate ${gate.revision})`);
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        if (!flags.json) writeErr('shutting down: finishing pulls in progress');
        await proxy.close();
        gate.close?.();
        return ExitCode.Ok;
      }),
    );
}

function gcCommand(): Command {
  return new Command('gc')
    .description('garbage-collect the proxy\'s cache: interrupted downloads, LRU blobs over the size bound, month-old tag resolutions')
    .requiredOption('-c, --config <file>', 'proxy config file (YAML; see docs/proxy.md)')
    .option('--data <dir>', 'data directory (overrides dataDir:)')
    .option('--max-bytes <size>', 'evict down to this size instead of cache.maxBytes (e.g. 5GiB, 0 empties the cache)')
    .option('--json', 'print the report as JSON', false)
    .addHelpText('after', '\nWith level metadata (the default) the proxy must be stopped: the store allows one process. With Redis metadata\n(store.metadata: redis://…) gc runs while replicas serve: eviction takes the replicas\' shared lock, and their\ndownloads in flight are left alone.\n\nExamples:\n  tollgate proxy gc --config tollgate.yaml\n  tollgate proxy gc --config tollgate.yaml --max-bytes 2GiB --json')
    .action(
      withStatus(async (flags: GcFlags) => {
        const config = await configFrom(flags);
        let maxBytes: number | undefined;
        if (flags.maxBytes !== undefined) {
          const parsed = await loadMaxBytes(flags.maxBytes);
          maxBytes = parsed;
        }
        const report = await (await proxyModule()).collectGarbage(config, maxBytes !== undefined ? { maxBytes } : {});
        if (flags.json) writeJson(report);
        else {
          writeOut(
            table([
              ['temp files removed', String(report.tempFilesRemoved)],
              ['blobs evicted', `${report.blobsEvicted} (${formatBytes(report.bytesFreed)})`],
              ['blobs kept', `${report.blobsKept} (${formatBytes(report.bytesKept)})`],
              ['tag resolutions pruned', String(report.tagsPruned)],
            ]),
          );
        }
        return ExitCode.Ok;
      }),
    );
}

async function loadMaxBytes(value: string): Promise<number> {
  if (/^\s*0\s*$/.test(value)) return 0;
  const { normalizeProxyConfig } = await proxyModule();
  // Reuse the config's size grammar (512MiB, 10GB, bytes).
  const parsed = normalizeProxyConfig({ dataDir: '/', upstreams: [{ name: 'x', oci: '/', default: true }], cache: { maxBytes: value } }, { env: {} });
  return parsed.cache.maxBytes;
}

export function proxyCommand(): Command {
  const command = new Command('proxy')
    .description('the pull-through registry proxy that serves only admitted images (serve, gc)')
    .addHelpText('after', '\nExamples:\n  tollgate proxy serve --config tollgate.yaml\n  tollgate proxy gc --config tollgate.yaml\n\nDocs: docs/proxy.md');
  for (const sub of [serveCommand(), gcCommand()]) {
    sub.exitOverride();
    command.addCommand(sub);
  }
  command.exitOverride();
  return command;
}
