import type { OutgoingHttpHeaders } from 'node:http';
import { isTollgateError, MediaType } from '@tollgate/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditStoreOutage } from '../../audit/outage-audit.js';
import { ChallengeError } from '../../auth/client-auth.js';
import { parseV2Path, type V2Target } from '../../routing/parse-path.js';
import { selectUpstream, type UpstreamRoute } from '../../routing/select-upstream.js';
import type { ProxyCore } from '../../serve/proxy-core.js';
import { checkReference, resolveManifest } from '../../serve/resolve-manifest.js';
import { admittedBlob, openBlob, redirectTarget, sendOpened } from '../../serve/serve-blob.js';
import { sendFileRange } from '../../serve/send-file.js';
import { accessSubject } from '../access-subject.js';
import { OciError, toOciError, type Subject } from '../oci-error.js';
import { parseRange } from '../range.js';

const MAX_TAGS_PAGE = 10_000;
/** RFC 7234's "Response is Stale": the upstream is unavailable and this is the last listing it gave. */
const STALE_WARNING = '110 tollgate "Response is Stale"';

function firstQuery(query: unknown, key: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[key];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

function subjectOf(target: V2Target): Subject {
  switch (target.kind) {
    case 'manifest':
      return 'manifest';
    case 'blob':
      return 'blob';
    case 'tags':
      return 'tags';
    case 'referrers':
      return 'referrers';
    default:
      return 'other';
  }
}

function route(core: ProxyCore, name: string, ns: string | undefined, reply: FastifyReply): UpstreamRoute {
  const result = selectUpstream(core.upstreams, name, ns);
  if ('error' in result) {
    if (result.error === 'unknown-ns') {
      core.metrics.denied.inc({ reason: 'ns' });
      throw new OciError(403, 'DENIED', result.message, { ns: ns?.slice(0, 100) });
    }
    throw new OciError(404, 'NAME_UNKNOWN', result.message);
  }
  if (ns !== undefined) reply.header('oci-namespace', ns);
  const identity = reply.request.tollgateIdentity ?? 'anonymous';
  if (!core.auth.allows(identity, result.upstream.name, result.repository)) {
    core.metrics.authFailures.inc({ reason: 'access' });
    core.metrics.denied.inc({ reason: 'access' });
    void core.audit.record({ type: 'access', client: reply.request.ip, identity, upstream: result.upstream.name, repository: result.repository, verdict: 'deny', rule: 'access', reasons: [`${identity} may not pull ${result.upstream.name}/${result.repository}`] });
    throw new OciError(403, 'DENIED', 'requested access to the resource is denied', { reason: `${identity.slice(0, 256)} may not pull this repository (auth.access)` });
  }
  return result;
}

async function manifest(core: ProxyCore, request: FastifyRequest, reply: FastifyReply, target: Extract<V2Target, { kind: 'manifest' }>, ns?: string) {
  checkReference(target.reference);
  const r = route(core, target.name, ns, reply);
  const m = await resolveManifest(core, r, target.reference, { client: request.ip, identity: request.tollgateIdentity ?? 'anonymous' });
  reply.header('content-type', m.mediaType).header('docker-content-digest', m.digest).header('content-length', m.bytes.byteLength);
  if (m.verdict.decision === 'warn') reply.header('x-tollgate-warning', m.verdict.reasons.join('; ').replace(/[^\x20-\x7e]/g, '?').slice(0, 500));
  return reply.send(request.method === 'HEAD' ? undefined : Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
}

async function blob(core: ProxyCore, request: FastifyRequest, reply: FastifyReply, target: Extract<V2Target, { kind: 'blob' }>, ns?: string) {
  const r = route(core, target.name, ns, reply);
  const { digest, size } = await admittedBlob(core, r, target.digest, { client: request.ip, identity: request.tollgateIdentity ?? 'anonymous' });
  reply.header('docker-content-digest', digest).header('content-type', 'application/octet-stream').header('accept-ranges', 'bytes');
  if (request.method === 'HEAD') return reply.header('content-length', size).send();
  const elsewhere = await redirectTarget(core, digest, size);
  // 307 keeps the method; the client follows it with its Range header, and checks the digest as with any registry.
  if (elsewhere !== undefined) return reply.code(307).header('location', elsewhere).header('cache-control', 'no-store').send();
  const range = parseRange(request.headers.range, size);
  const opened = await openBlob(core, r, digest, size, range);
  if (range !== undefined) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', range.end - range.start + 1);
  } else {
    reply.header('content-length', size);
  }
  // Written to the raw response (reused buffers from a file, corked batches from a download in flight) rather than
  // through a Readable: at GB/s the stream machinery cost more than the copying. fastify's onResponse hooks still run.
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  // A download can still fail before its first byte: the status line goes out now, so the client sees a 200 cut
  // short (as with any stream) rather than a connection closed without an answer.
  if (opened.kind !== 'file') reply.raw.flushHeaders();
  const sent = opened.kind === 'file' ? await sendFileRange(reply.raw, opened.handle, opened.start, opened.end) : await sendOpened(core, opened, reply.raw);
  core.metrics.servedBytes.inc(sent);
  return reply;
}

async function tags(core: ProxyCore, request: FastifyRequest, reply: FastifyReply, target: Extract<V2Target, { kind: 'tags' }>, ns?: string) {
  const r = route(core, target.name, ns, reply);
  const nText = firstQuery(request.query, 'n');
  const last = firstQuery(request.query, 'last');
  let n: number | undefined;
  if (nText !== undefined && nText !== '') {
    if (!/^\d{1,9}$/.test(nText)) throw new OciError(400, 'UNSUPPORTED', 'n must be a non-negative integer');
    n = Math.min(Number(nText), MAX_TAGS_PAGE);
  }
  if (last !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(last)) throw new OciError(400, 'UNSUPPORTED', 'last must be a tag');
  let page: { tags: string[]; more: boolean } = { tags: [], more: false };
  if (n !== 0) {
    const query = JSON.stringify([n ?? null, last ?? null]);
    const listed = await core.listing(r.upstream, 'tags', r.repository, query, () => r.upstream.listTags(r.repository, { ...(n !== undefined ? { n } : {}), ...(last !== undefined ? { last } : {}) }));
    page = listed.value;
    if (listed.stale) reply.header('warning', STALE_WARNING);
  }
  if (page.more && page.tags.length > 0) {
    const query = new URLSearchParams({ ...(n !== undefined ? { n: String(n) } : {}), last: page.tags[page.tags.length - 1]!, ...(ns !== undefined ? { ns } : {}) });
    reply.header('link', `</v2/${target.name}/tags/list?${query.toString()}>; rel="next"`);
  }
  return reply.header('content-type', 'application/json').send(Buffer.from(JSON.stringify({ name: target.name, tags: page.tags })));
}

async function referrers(core: ProxyCore, request: FastifyRequest, reply: FastifyReply, target: Extract<V2Target, { kind: 'referrers' }>, ns?: string) {
  const { digest } = checkReference(target.digest);
  if (digest === undefined) throw new OciError(400, 'DIGEST_INVALID', 'the referrers API takes a digest');
  const r = route(core, target.name, ns, reply);
  const artifactType = firstQuery(request.query, 'artifactType');
  const listed = await core.listing(r.upstream, 'referrers', r.repository, JSON.stringify([digest, artifactType ?? null]), () => r.upstream.referrers(r.repository, digest, artifactType));
  const index = listed.value;
  if (listed.stale) reply.header('warning', STALE_WARNING);
  if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
  const body = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index.manifests };
  return reply.header('content-type', MediaType.OciIndex).send(Buffer.from(JSON.stringify(body)));
}

async function authenticate(core: ProxyCore, request: FastifyRequest, name: string | undefined, ns: string | undefined) {
  try {
    return await core.auth.authenticate(request, name);
  } catch (error) {
    if (error instanceof ChallengeError && error.audit !== undefined) {
      core.metrics.authFailures.inc({ reason: error.audit.reason.startsWith('token scope') ? 'scope' : core.auth.mode === 'token' ? 'token' : 'credentials' });
      await core.audit.record({ type: 'access', client: request.ip, identity: error.audit.identity, verdict: 'deny', rule: 'authentication', reasons: [error.audit.reason], ...(name !== undefined ? accessSubject(core.upstreams, name, ns) : {}) });
    }
    throw error;
  }
}

/** The OCI distribution pull API under /v2/. Push and delete answer UNSUPPORTED. */
export function registerV2Routes(app: FastifyInstance, core: ProxyCore): void {
  // Set on arrival, not in onSend: blobs from the cache are written past fastify's send (see sendFileRange).
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/v2')) reply.header('docker-distribution-api-version', 'registry/2.0');
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    const target = parseV2Path(path);
    request.tollgateKind = target.kind;
    const ns = firstQuery(request.query, 'ns');
    try {
      const client = await authenticate(core, request, 'name' in target && target.kind !== 'invalid-name' ? target.name : undefined, ns);
      request.tollgateIdentity = client.identity;
      switch (target.kind) {
        case 'ping':
          return reply.header('content-type', 'application/json').send('{}');
        case 'manifest':
          return await manifest(core, request, reply, target, ns);
        case 'blob':
          return await blob(core, request, reply, target, ns);
        case 'tags':
          return await tags(core, request, reply, target, ns);
        case 'referrers':
          return await referrers(core, request, reply, target, ns);
        case 'upload':
          throw new OciError(405, 'UNSUPPORTED', 'tollgate is a pull-through proxy; push to the upstream registry instead');
        case 'invalid-name':
          throw new OciError(400, 'NAME_INVALID', 'invalid repository name');
        default:
          throw new OciError(404, 'NAME_UNKNOWN', 'no such endpoint in the distribution pull API');
      }
    } catch (error) {
      if (isTollgateError(error, 'STORE_UNAVAILABLE')) auditStoreOutage(core, request, target, error);
      throw toOciError(error, subjectOf(target));
    }
  };

  for (const url of ['/v2', '/v2/', '/v2/*']) {
    app.route({ method: ['GET', 'HEAD'], url, handler });
    app.route({
      method: ['POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      onRequest: async (request, reply) => {
        request.tollgateKind = 'push';
        const error = new OciError(405, 'UNSUPPORTED', 'tollgate is a pull-through proxy: push and delete are not supported; push to the upstream registry');
        await reply.code(405).header('content-type', 'application/json').send(error.body());
        return reply;
      },
      handler: async () => undefined,
    });
  }
}
