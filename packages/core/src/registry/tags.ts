import { TAG } from '../reference/grammar.js';
import { pullScope } from './auth/scope.js';
import { registryError, type RequestContext } from './errors.js';
import { nextLink } from './http/link-header.js';
import { failure } from './http/raw-request.js';
import { contentLength, readBounded, discardBody } from './http/read-bounded.js';
import type { RegistryHttp } from './http/registry-http.js';
import { checkRepository } from './names.js';

/** A tags page is read only this far. */
export const MAX_TAGS_BODY = 1024 * 1024;
/** listAllTags follows at most this many pages. */
export const MAX_TAG_PAGES = 1000;

export interface ListTagsOptions {
  n?: number;
  last?: string;
  /** A `next` value from a previous page (the Link header target); overrides n and last. */
  next?: string;
  /** Stops the request and its body (a caller that gave up). */
  signal?: AbortSignal;
}

export interface TagsPage {
  tags: string[];
  /** Where the next page is (a same-host path with query), when the registry says there is one. */
  next?: string;
}

export async function listTags(http: RegistryHttp, repository: string, options: ListTagsOptions = {}): Promise<TagsPage> {
  const context: RequestContext = { registry: http.registry, repository, action: 'listing tags of' };
  checkRepository(repository, context);
  const base = await http.base(context);
  let target: URL;
  if (options.next !== undefined) {
    target = sameHostLink(http, options.next, base, repository, context);
  } else {
    target = new URL(`/v2/${repository}/tags/list`, base);
    if (options.n !== undefined) {
      if (!Number.isSafeInteger(options.n) || options.n <= 0) throw registryError('USAGE', context, 'n must be a positive integer');
      target.searchParams.set('n', String(options.n));
    }
    if (options.last !== undefined) target.searchParams.set('last', options.last);
  }
  const response = await http.send({ method: 'GET', target, headers: { accept: 'application/json' }, scope: pullScope(repository), context, ...(options.signal ? { signal: options.signal } : {}) });
  if (response.status !== 200) throw await failure(response, context);
  const tooLarge = () => registryError('SIZE_LIMIT', context, 'the tag list page is larger than 1 MiB; ask for smaller pages (n)');
  const declared = contentLength(response.headers['content-length']);
  if (declared !== undefined && declared > MAX_TAGS_BODY) {
    discardBody(response.body);
    throw tooLarge();
  }
  const bytes = await readBounded(response.body, MAX_TAGS_BODY, tooLarge);
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw registryError('REGISTRY_ERROR', context, 'the tag list is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw registryError('REGISTRY_ERROR', context, 'the tag list is not a JSON object');
  const raw = (doc as { tags?: unknown }).tags;
  if (raw !== null && raw !== undefined && !Array.isArray(raw)) throw registryError('REGISTRY_ERROR', context, 'the tag list "tags" is not an array');
  const tags: string[] = [];
  let skipped = 0;
  for (const tag of raw ?? []) {
    if (typeof tag === 'string' && TAG.test(tag)) tags.push(tag);
    else skipped++;
  }
  if (skipped > 0) http.settings.debug(`ignored ${skipped} invalid tag name(s) in the tag list of ${http.registry}/${repository}`);
  const page: TagsPage = { tags };
  const link = nextLink(response.headers.link);
  if (link !== undefined) {
    try {
      const url = sameHostLink(http, link, response.url, repository, context);
      page.next = `${url.pathname}${url.search}`;
    } catch {
      http.settings.debug(`ignored a tag list Link header of ${http.registry}/${repository} that leaves the registry`);
    }
  }
  return page;
}

function sameHostLink(http: RegistryHttp, link: string, base: URL, repository: string, context: RequestContext): URL {
  let url: URL;
  try {
    url = new URL(link, base);
  } catch {
    throw registryError('REGISTRY_ERROR', context, 'the tag list next link is not a URL');
  }
  if (!http.isRegistryHost(url) || url.protocol !== base.protocol || url.pathname !== `/v2/${repository}/tags/list`) {
    throw registryError('REGISTRY_ERROR', context, 'the tag list next link points outside this repository on this registry');
  }
  return url;
}

/** Every tag, page by page, stopping at `limit` tags (default 100 000) and 1000 pages. */
export async function listAllTags(http: RegistryHttp, repository: string, options: { limit?: number; pageSize?: number; signal?: AbortSignal } = {}): Promise<string[]> {
  const limit = options.limit ?? 100_000;
  const signal = options.signal ? { signal: options.signal } : {};
  const all: string[] = [];
  let next: string | undefined;
  for (let page = 0; page < MAX_TAG_PAGES; page++) {
    const result = await listTags(http, repository, { ...(next !== undefined ? { next } : options.pageSize !== undefined ? { n: options.pageSize } : {}), ...signal });
    for (const tag of result.tags) {
      if (all.length >= limit) return all;
      all.push(tag);
    }
    if (result.next === undefined || result.next === next) return all;
    next = result.next;
  }
  return all;
}
