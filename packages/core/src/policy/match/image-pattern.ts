import { DOCKER_HUB, DOCKER_HUB_ALIASES } from '../../reference/docker-hub.js';

/** Host labels and ports, with `*` (one label, or one port) and `**` (one or more labels) as wildcards. */
const HOST_PATTERN = /^(?:\*\*|\*|[a-z0-9*](?:[a-z0-9*_-]*[a-z0-9*])?)(?:\.(?:\*\*|[a-z0-9*](?:[a-z0-9*_-]*[a-z0-9*])?))*(?::(?:[0-9]+|\*))?$/;
/** Repository path components: lowercase letters and digits joined by `.`, `_`, `__`, `-`, with `*` anywhere, or `**` alone. */
const REPO_COMPONENT = /^(?:\*\*|[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*)$/;

/**
 * An `images` pattern, split into a host part and a repository part that are matched separately, each against the
 * normalised reference, so a host can only ever match a host: `*.trusted.io/org/*` cannot match
 * `evil.io/x.trusted.io/org/app`.
 */
export interface ImagePattern {
  /** The pattern as written. */
  source: string;
  /** Normalised `host/repository` pattern, e.g. `docker.io/library/nginx`; `**` for every image. */
  normalized: string;
  host: string;
  repository: string;
  /** True for the pattern `**` alone: any host, any repository. */
  any: boolean;
  /** Specificity, compared component by component (see compareSpecificity). */
  specificity: Specificity;
  matches(registry: string, repository: string): boolean;
  /** Whether the host part matches `registry` (some repository there could match). */
  matchesRegistry(registry: string): boolean;
}

/** [exact (1) or not (0), literal characters, minus wildcard weight]; bigger is more specific. */
export type Specificity = readonly [number, number, number];

export interface PatternParseResult {
  pattern?: ImagePattern;
  error?: string;
}

/**
 * Parses an `images` pattern. The first path component is the registry host when it contains `.` or `:` or is
 * `localhost` (Docker's rule); otherwise the pattern is on Docker Hub, and a one-component pattern lives under
 * `library/`. So `nginx`, `library/nginx` and `docker.io/library/nginx` are the same pattern, as they are the same
 * image. Wildcards: in the host, `*` matches within one DNS label (or the port) and `**` one or more whole labels;
 * in the repository, `*` matches within one path component and a `**` component any number of components
 * (including none). Patterns name repositories: a tag or digest is refused. The pattern `**` matches every image.
 */
export function parseImagePattern(source: string): PatternParseResult {
  if (typeof source !== 'string' || source.length === 0 || source.length > 512) return { error: 'a pattern is 1 to 512 characters' };
  if (source === '**') {
    return { pattern: { source, normalized: '**', host: '**', repository: '**', any: true, specificity: [0, 0, -1000], matches: () => true, matchesRegistry: () => true } };
  }
  if (/\*\*\*/.test(source)) return { error: '"***" is not a wildcard; use "*" within a component or "**" alone' };
  if (source.includes('@')) return { error: 'patterns name repositories, not digests; remove the "@…" part' };
  if (/[A-Z]/.test(source.split('/').slice(1).join('/'))) return { error: 'repository names are lowercase' };
  const parts = source.split('/');
  let host = DOCKER_HUB;
  let repoParts = parts;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost')) {
    host = first.toLowerCase();
    repoParts = parts.slice(1);
    if (DOCKER_HUB_ALIASES.has(host)) host = DOCKER_HUB;
    if (!HOST_PATTERN.test(host)) return { error: `the host ${JSON.stringify(first)} is not a host[:port] pattern (labels of letters, digits and "-", "*" within a label, "**" for any labels)` };
  } else if (first.includes(':')) {
    return { error: 'patterns name repositories, not tags; remove the ":…" part' };
  }
  if (repoParts.length === 0 || repoParts.some((p) => p === '')) return { error: 'the repository part has an empty component; check for "//" or a trailing "/"' };
  if (repoParts[repoParts.length - 1]!.includes(':')) return { error: 'patterns name repositories, not tags; remove the ":…" part' };
  for (const part of repoParts) {
    if (!REPO_COMPONENT.test(part) || (part !== '**' && part.includes('**'))) {
      return { error: `the repository component ${JSON.stringify(part.slice(0, 60))} is invalid: lowercase letters, digits, ".", "_", "-", "*" within a component, or "**" alone` };
    }
  }
  if (host === DOCKER_HUB && repoParts.length === 1 && repoParts[0] !== '**') repoParts = ['library', ...repoParts];
  const repository = repoParts.join('/');
  const hostRegex = new RegExp(`^${host.split('.').map(hostLabelRegex).join('\\.')}$`);
  const repoRegex = new RegExp(`^${repositoryRegex(repoParts)}$`);
  const literal = (host + repository).replace(/\*/g, '').length + 1; // +1 for the "/" between them
  const singles = (host + '/' + repository).replace(/\*\*/g, '').split('*').length - 1;
  const doubles = (host + '/' + repository).split('**').length - 1;
  const exact = singles === 0 && doubles === 0 ? 1 : 0;
  return {
    pattern: {
      source,
      normalized: `${host}/${repository}`,
      host,
      repository,
      any: false,
      specificity: [exact, literal, -(singles + 10 * doubles)],
      matches: (registry, repo) => hostRegex.test(registry.toLowerCase()) && repoRegex.test(`${repo}/`),
      matchesRegistry: (registry) => hostRegex.test(registry.toLowerCase()),
    },
  };
}

/** Compares two specificities: positive when `a` is more specific. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function hostLabelRegex(label: string): string {
  if (label === '**') return '[a-z0-9_-]+(?:\\.[a-z0-9_-]+)*';
  const colon = label.indexOf(':');
  const name = colon < 0 ? label : label.slice(0, colon);
  const port = colon < 0 ? undefined : label.slice(colon + 1);
  const nameRegex = name.split('*').map(escape).join('[a-z0-9_-]*');
  if (port === undefined) return nameRegex;
  return `${nameRegex}:${port === '*' ? '[0-9]+' : escape(port)}`;
}

/** A regex over the repository with a "/" after every component, so `**` is simply "any whole components". */
function repositoryRegex(parts: readonly string[]): string {
  return parts.map((part) => (part === '**' ? '(?:[^/]+/)*' : `${part.split('*').map(escape).join('[^/]*')}/`)).join('');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
