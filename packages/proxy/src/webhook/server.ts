import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseAdmissionReview, ReviewError, ReviewRefusal, type AdmissionRequest } from './admission-review.js';
import { recordUnreadable, type WebhookMode } from './admission-audit.js';
import { reviewRequest, type WebhookContext } from './review.js';
import { reviewResponse } from './review-response.js';
import { readTlsPair, watchTlsPair, type TlsFiles } from './tls-reload.js';

/**
 * The largest AdmissionReview read. An UPDATE review carries the object and the old object, each up to etcd's
 * default 1.5 MiB request limit (larger as JSON than as stored protobuf); past this it is not a review of a pod.
 */
export const MAX_REVIEW_BYTES = 6 * 1024 * 1024;

/** How long close() lets reviews in flight finish (the API server's longest timeout is 30 s). */
const CLOSE_GRACE_MS = 30_000;

/** Kept back from the API server's own timeout, so that the answer arrives before it gives up. */
const TIMEOUT_MARGIN_MS = 500;

export interface WebhookServerOptions {
  listen: { host: string; port: number };
  tls: TlsFiles & { reloadMs: number };
  context: WebhookContext;
}

export interface WebhookServer {
  /** https://host:port */
  url: string;
  /** `tls-reloaded`, `tls-reload-failed` (for tests and operators embedding the server). */
  events: EventEmitter;
  close(): Promise<void>;
}

class TooLarge extends Error {}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REVIEW_BYTES) return Promise.reject(new TooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REVIEW_BYTES) {
        chunks.length = 0;
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The API server appends `?timeout=10s` (a Go duration) to the webhook URL: the budget must end before it. */
function budgetFor(url: URL, configured: number): number {
  const match = /^(\d{1,6}(?:\.\d{1,3})?)(ms|s|m)$/.exec(url.searchParams.get('timeout') ?? '');
  if (match === null) return configured;
  const ms = Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 's' ? 1000 : 60_000);
  return Math.max(100, Math.min(configured, ms - TIMEOUT_MARGIN_MS));
}

async function handleReview(options: WebhookServerOptions, mode: WebhookMode, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { context } = options;
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof TooLarge) {
      res.setHeader('connection', 'close');
      send(res, 413, `the AdmissionReview is over ${MAX_REVIEW_BYTES / 1024 / 1024} MiB; tollgate does not read it (refused)\n`);
      req.resume();
      return;
    }
    throw error;
  }
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (error) {
    if (error instanceof ReviewError) {
      // Not a review the API server sent: nothing to audit, a line in the log for whoever is probing.
      context.core.log.warn({ component: 'webhook', webhook: mode, client: req.socket.remoteAddress, reason: error.message }, 'webhook: not an AdmissionReview; answered 400');
      send(res, 400, `${error.message}\n`);
      return;
    }
    if (error instanceof ReviewRefusal) {
      await recordUnreadable(context.core.audit, mode, error.uid, error.message);
      send(res, 200, JSON.stringify(reviewResponse(error.uid, { allowed: false, code: 400, message: `tollgate refused the request: ${error.message}` })), 'application/json');
      return;
    }
    throw error;
  }
  try {
    const result = await reviewRequest({ ...context, budgetMs: budgetFor(url, context.budgetMs) }, mode, request);
    send(res, 200, JSON.stringify(reviewResponse(request.uid, result)), 'application/json');
  } catch (error) {
    // Fail closed with an answer the API server shows, whatever its failurePolicy.
    context.core.log.error({ component: 'webhook', err: error, uid: request.uid }, 'webhook review failed; refusing');
    send(res, 200, JSON.stringify(reviewResponse(request.uid, { allowed: false, code: 500, message: 'tollgate could not review this object (an internal error; see the webhook log); refused (fail closed)' })), 'application/json');
  }
}

/**
 * The webhook's HTTPS server: POST /mutate and /validate take an AdmissionReview and answer one with the same uid;
 * GET /healthz and /readyz for probes. Anything it cannot read is refused with a message — HTTP 400 (or 413) when
 * there is no uid to answer, allowed: false when there is — never allowed.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const pair = await readTlsPair(options.tls);
  const events = new EventEmitter();
  let closing = false;
  const server: Server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://webhook.invalid');
    const mode: WebhookMode | undefined = url.pathname === '/mutate' ? 'mutate' : url.pathname === '/validate' ? 'validate' : undefined;
    if (mode !== undefined) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        send(res, 405, `${url.pathname} takes POST with an AdmissionReview\n`);
        return;
      }
      handleReview(options, mode, url, req, res).catch((error: unknown) => {
        options.context.core.log.error({ component: 'webhook', err: error }, 'webhook request failed');
        send(res, 500, 'tollgate webhook: internal error; see its log\n');
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, 'ok\n');
    if (req.method === 'GET' && url.pathname === '/readyz') return closing ? send(res, 503, 'shutting down\n') : send(res, 200, 'ok\n');
    send(res, 404, 'tollgate webhook: POST /mutate or /validate (AdmissionReview v1); GET /healthz, /readyz\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const log = options.context.core.log;
  const stopWatching = watchTlsPair(options.tls, pair, options.tls.reloadMs, (next) => server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' }), events, log);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.listen.port;
  const host = options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host;
  let closed: Promise<void> | undefined;
  return {
    url: `https://${host}:${port}`,
    events,
    close() {
      closed ??= (async () => {
        closing = true;
        stopWatching();
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        // Reviews in flight finish (their budget bounds them); a connection still open after that is cut.
        server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
          timer.unref();
        });
        await Promise.race([done, grace]);
        clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        await done;
      })();
      return closed;
    },
  };
}
