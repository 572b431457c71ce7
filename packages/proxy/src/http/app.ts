import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ProxyCore } from '../serve/proxy-core.js';
import { OciError, toOciError } from './oci-error.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerTokenRoute } from './routes/token.js';
import { registerV2Routes } from './routes/v2.js';
import { ChallengeError } from '../auth/client-auth.js';
import { registerDashboard } from '../ui/routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    tollgateKind?: string;
    /** The authenticated user name (or `anonymous`). */
    tollgateIdentity?: string;
  }
}

/** The fastify app: distribution pull API, ops endpoints, OCI error bodies and request metrics. */
export function buildApp(core: ProxyCore, logger: Logger, state: { closing: boolean }): FastifyInstance {
  const tls = core.config.tls;
  const app = Fastify({
    loggerInstance: logger,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 2048 },
    ...(tls !== undefined ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
  }) as unknown as FastifyInstance;
  app.decorateRequest('tollgateKind', undefined);
  app.decorateRequest('tollgateIdentity', undefined);

  app.setErrorHandler(async (error, request, reply) => {
    const oci = error instanceof OciError ? error : toOciError(error, 'other');
    if (oci.status >= 500) request.log.error({ err: error }, 'request failed');
    // Headers set for a body that never came (a blob whose download failed first) must not describe the error.
    for (const name of ['content-length', 'docker-content-digest', 'content-range', 'accept-ranges', 'content-type']) {
      reply.removeHeader(name);
      reply.raw.removeHeader(name);
    }
    const contentRange = (oci as OciError & { contentRange?: string }).contentRange;
    if (contentRange !== undefined) reply.header('content-range', contentRange);
    if (oci.status === 429) reply.header('retry-after', '10');
    if (oci instanceof ChallengeError) reply.header('www-authenticate', oci.challenge);
    reply.code(oci.status).header('content-type', 'application/json');
    return reply.send(request.method === 'HEAD' ? undefined : JSON.stringify(oci.body()));
  });

  app.setNotFoundHandler(async (request, reply) => {
    return reply.code(404).header('content-type', 'application/json').send(JSON.stringify(new OciError(404, 'NAME_UNKNOWN', 'no such endpoint').body()));
  });

  app.addHook('onResponse', async (request, reply) => {
    // While shutting down, a connection whose last pull just finished is closed instead of kept alive.
    if (state.closing) request.raw.socket?.end();
    const kind = request.tollgateKind ?? 'other';
    core.metrics.requests.inc({ kind, method: request.method, status: String(reply.statusCode) });
    core.metrics.requestSeconds.observe({ kind }, reply.elapsedTime / 1000);
  });

  registerOpsRoutes(app, core, state);
  registerV2Routes(app, core);
  registerTokenRoute(app, core);
  // The read-only dashboard, when enabled without a listener of its own (ui/dashboard-app.ts has that case).
  const ui = core.config.ui;
  if (ui?.enabled === true && ui.listen === undefined) registerDashboard(app, core, ui.path);
  return app;
}
