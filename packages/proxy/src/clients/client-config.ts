import { TollgateError } from '@tollgate/core';
import type { ProxyAddress } from './proxy-address.js';

/**
 * The node configuration that sends a client's pulls of a registry to the tollgate proxy and nowhere else — the
 * forms that cannot fall back to the registry when the proxy refuses an image (observed behaviour: docs/proxy.md,
 * "Client set-up"; the containerd and podman forms are run by test/proxy/containerd.test.ts and podman.test.ts).
 */
export type ClientKind = 'containerd' | 'podman' | 'docker';
export const CLIENT_KINDS: readonly ClientKind[] = ['containerd', 'podman', 'docker'];

export interface ClientConfigFile {
  /** Where the file goes on the node. */
  path: string;
  content: string;
}

export interface ClientConfig {
  client: ClientKind;
  /** Files to install (none for Docker with an HTTPS proxy: Docker cannot be forced). */
  files: ClientConfigFile[];
  /** What the user must know about this client, one sentence each (also written into the files as comments). */
  caveats: string[];
  /** How to name images so they are pulled through the proxy, for clients that cannot be forced. */
  pullAs?: string[];
}

export interface ClientConfigRequest {
  proxy: ProxyAddress;
  /** Registry hosts whose pulls go to the proxy (docker.io by default). */
  registries: string[];
  /** The proxy's path prefix for each registry's upstream (podman, docker); absent: the default upstream. */
  prefixes: Map<string, string>;
}

function comment(lines: string[]): string {
  return lines.map((l) => (l === '' ? '#' : `# ${l}`)).join('\n');
}

/** Wraps a caveat into `# - …` lines of at most ~116 characters. */
function bullet(text: string): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '-';
  for (const word of words) {
    if (line.length + word.length + 1 > 114) {
      lines.push(line);
      line = ' ';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

const toml = (value: string) => JSON.stringify(value);

function containerd(request: ClientConfigRequest): ClientConfig {
  if (request.prefixes.size > 0) {
    throw new TollgateError('USAGE', 'containerd names the registry in ?ns=<registry> on every request to the proxy, which routes on it: give the upstream `ns: <registry>` in the proxy config instead of --upstream-prefix');
  }
  const { proxy } = request;
  const caveats = [
    'Keep both: `server` is the proxy AND the proxy has a [host] table. containerd 1.6 rejects a hosts.toml with only `server = …` ("invalid host tree", containerd#10027, fixed in 1.7) and then ignores the file: every pull goes straight to the registry.',
    'Never the mirror form, `server` = the registry with the proxy as a [host]: containerd takes any status >= 400 from a host (the proxy\'s 403 for a denied image) as "try the next one" and pulls the denied image from the registry.',
    'A refused pull shows only `403 Forbidden` in containerd; the reason is in `tollgate audit --verdict deny`.',
    'The CRI plugin reads this directory only with config_path = "/etc/containerd/certs.d" under [plugins."io.containerd.grpc.v1.cri".registry] (containerd 2.x: [plugins."io.containerd.cri.v1.images".registry]); `ctr` needs --hosts-dir /etc/containerd/certs.d.',
    ...(proxy.plainHttp ? ['Plain HTTP: for testing only; serve the proxy over HTTPS (tls: in its config) for nodes.'] : []),
  ];
  const files = request.registries.map((registry) => {
    const path = `/etc/containerd/certs.d/${registry}/hosts.toml`;
    const header = comment([
      `${path}: written by \`tollgate proxy client-config containerd\`.`,
      `Every pull of ${registry}/… goes to the tollgate proxy and nowhere else: a denied image fails the pull. containerd`,
      `adds ?ns=${registry} to each request, so the proxy needs an upstream with \`ns: ${registry}\`.`,
      '',
      ...caveats.flatMap(bullet),
    ]);
    const ca = proxy.plainHttp ? [] : [`  # ca = "/etc/containerd/certs.d/${registry}/tollgate-ca.crt"   # when the proxy's certificate is not from a public CA`];
    const content = [header, `server = ${toml(proxy.url)}`, '', `[host.${toml(proxy.url)}]`, '  capabilities = ["pull", "resolve"]', ...ca, ''].join('\n');
    return { path, content };
  });
  return { client: 'containerd', files, caveats };
}

function locationFor(request: ClientConfigRequest, registry: string): string {
  const prefix = request.prefixes.get(registry);
  return prefix !== undefined ? `${request.proxy.host}/${prefix}` : request.proxy.host;
}

function podman(request: ClientConfigRequest): ClientConfig {
  const { proxy } = request;
  const caveats = [
    'A `location` rewrite, not [[registry.mirror]]: podman and CRI-O try a mirror first and, when it refuses (the proxy\'s 403 for a denied image), pull from the original location, exit 0 and print nothing about it.',
    'skopeo, buildah and CRI-O read the same files; restart CRI-O after changing them.',
    ...(request.registries.some((r) => !request.prefixes.has(r)) ? ['Without --upstream-prefix the location is the proxy itself, which serves only its default upstream: that upstream must serve this registry.'] : []),
    ...(proxy.plainHttp ? ['Plain HTTP (insecure = true): for testing only; serve the proxy over HTTPS (tls: in its config) for nodes.'] : []),
  ];
  const path = '/etc/containers/registries.conf.d/50-tollgate.conf';
  const header = comment([
    `${path}: written by \`tollgate proxy client-config podman\` (or append it to /etc/containers/registries.conf).`,
    `Pulls of ${request.registries.join(', ')} go to the tollgate proxy and nowhere else: a denied image fails the pull with the proxy's reason.`,
    '',
    ...caveats.flatMap(bullet),
  ]);
  const tables = request.registries.map((registry) => ['[[registry]]', `prefix = ${toml(registry)}`, `location = ${toml(locationFor(request, registry))}`, `insecure = ${proxy.plainHttp}`].join('\n'));
  return { client: 'podman', files: [{ path, content: `${header}\n${tables.join('\n\n')}\n` }], caveats };
}

function docker(request: ClientConfigRequest): ClientConfig {
  const { proxy } = request;
  const pullAs = request.registries.map((registry) => `${locationFor(request, registry)}/${registry === 'docker.io' ? 'library/nginx:1.27' : '<repository>:<tag>'}`);
  const caveats = [
    'dockerd cannot be made to pull only through tollgate by configuration: `registry-mirrors` (Docker Hub only) is a mirror, and when the proxy refuses an image dockerd pulls it from Docker Hub instead.',
    'Pull by the proxy\'s own name, so there is no registry to fall back to; in Kubernetes the admission webhook rewrites every pod\'s images to such names (docs/kubernetes.md). Block the registries themselves at the network to stop the walk-around.',
    ...(proxy.plainHttp ? ['Plain HTTP: list the proxy in insecure-registries (below); for testing only.'] : []),
  ];
  const files = proxy.plainHttp ? [{ path: '/etc/docker/daemon.json', content: `${JSON.stringify({ 'insecure-registries': [proxy.host] }, null, 2)}\n` }] : [];
  return { client: 'docker', files, caveats, pullAs };
}

export function clientConfig(client: ClientKind, request: ClientConfigRequest): ClientConfig {
  if (request.registries.length === 0) throw new TollgateError('USAGE', 'name at least one --registry');
  for (const registry of request.prefixes.keys()) {
    if (!request.registries.includes(registry)) throw new TollgateError('USAGE', `--upstream-prefix is given for ${registry}, which is not a --registry`);
  }
  switch (client) {
    case 'containerd':
      return containerd(request);
    case 'podman':
      return podman(request);
    case 'docker':
      return docker(request);
  }
}
