import { Argument, Command } from 'commander';
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
    .option('--json', 'print {"url": …, "dashboardUrl"?: …} on stdout once listening', false)
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
        const { url, dashboardUrl } = await proxy.listen();
        if (flags.json) writeOut(JSON.stringify({ url, policyRevision: gate.revision, ...(dashboardUrl !== undefined ? { dashboardUrl } : {}) }));
        else writeErr(`tollgate proxy listening on ${url} (gate ${gate.revision})${dashboardUrl !== undefined ? `; dashboard on ${dashboardUrl}` : ''}`);
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

interface ClientConfigFlags {
  proxy: string;
  registry?: string[];
  upstreamPrefix?: string;
  json?: boolean;
}

/** `# text` wrapped to lines of at most ~116 characters. */
function wrapComment(text: string): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > 116 && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function clientConfigCommand(): Command {
  return new Command('client-config')
    .description('print the node configuration that sends a client\'s pulls to the proxy and nowhere else (no fallback to the registry)')
    .addArgument(new Argument('<client>', 'the client on the node').choices(['containerd', 'podman', 'docker']))
    .requiredOption('--proxy <url>', 'the proxy as nodes reach it, e.g. https://tollgate.example.com:5000')
    .option('--registry <host[=prefix]>', 'a registry whose pulls go to the proxy, optionally with the proxy\'s path prefix for its upstream (repeatable; default docker.io)', collect)
    .option('--upstream-prefix <prefix>', 'the proxy\'s path prefix for the one --registry (podman, docker; containerd routes on ?ns= instead)')
    .option('--json', 'print {client, files: [{path, content}], caveats, pullAs?}', false)
    .addHelpText(
      'after',
      `
containerd  /etc/containerd/certs.d/<registry>/hosts.toml with server = the proxy AND a [host] table for it
            (containerd 1.6 ignores a file without the [host] table; the mirror form falls back on any status >= 400).
            The proxy needs an upstream with ns: <registry>.
podman      a registries.conf.d drop-in that rewrites the registry's location to the proxy (a [[registry.mirror]]
            falls back to the registry when the proxy refuses).
docker      cannot be forced: registry-mirrors falls back too. Prints the caveat and how to pull by the proxy's name.

Exit codes: 0 printed, 2 a usage error (a bad URL, registry or prefix).

Examples:
  tollgate proxy client-config containerd --proxy https://tollgate.example.com:5000 --registry docker.io > hosts.toml
  tollgate proxy client-config podman --proxy https://tollgate.example.com:5000 --registry docker.io=hub --registry ghcr.io=ghcr
  tollgate proxy client-config docker --proxy https://tollgate.example.com:5000 --upstream-prefix hub

Docs: docs/proxy.md ("Client set-up")`,
    )
    .action(
      withStatus(async (client: 'containerd' | 'podman' | 'docker', flags: ClientConfigFlags) => {
        const proxy = await proxyModule();
        const address = proxy.parseProxyAddress(flags.proxy);
        const registries: string[] = [];
        const prefixes = new Map<string, string>();
        for (const given of flags.registry ?? ['docker.io']) {
          const [host, prefix] = given.split('=', 2) as [string, string | undefined];
          const registry = proxy.parseRegistryHost(host);
          if (registries.includes(registry)) throw new TollgateError('USAGE', `--registry ${registry} is given twice`);
          registries.push(registry);
          if (prefix !== undefined) prefixes.set(registry, proxy.parseUpstreamPrefix(prefix));
        }
        if (flags.upstreamPrefix !== undefined) {
          if (registries.length !== 1 || prefixes.size > 0) throw new TollgateError('USAGE', '--upstream-prefix goes with exactly one --registry; for several, write --registry <host>=<prefix>');
          prefixes.set(registries[0]!, proxy.parseUpstreamPrefix(flags.upstreamPrefix));
        }
        const config = proxy.clientConfig(client, { proxy: address, registries, prefixes });
        if (flags.json) {
          writeJson(config);
          return ExitCode.Ok;
        }
        if (client === 'docker') {
          const lines = config.caveats.flatMap((c) => wrapComment(c));
          lines.push('#', '# Pull through the proxy by its name, e.g.:', ...(config.pullAs ?? []).map((name) => `#   docker pull ${name}`));
          writeOut(lines.join('\n'));
        }
        for (const file of config.files) {
          if (client === 'docker') writeOut(`# ${file.path}:`);
          writeOut(file.content);
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
    .description('the pull-through registry proxy that serves only admitted images (serve, gc, client-config)')
    .addHelpText('after', '\nExamples:\n  tollgate proxy serve --config tollgate.yaml\n  tollgate proxy gc --config tollgate.yaml\n  tollgate proxy client-config containerd --proxy https://tollgate.example.com:5000\n\nDocs: docs/proxy.md');
  for (const sub of [serveCommand(), gcCommand(), clientConfigCommand()]) {
    sub.exitOverride();
    command.addCommand(sub);
  }
  command.exitOverride();
  return command;
}
