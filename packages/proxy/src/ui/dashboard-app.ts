import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ProxyCore } from '../serve/proxy-core.js';
import { registerDashboard } from './routes.js';

/**
 * The dashboard on a listener of its own (`ui.listen`): the same routes, authentication and headers as under the
 * proxy's listener, nothing else (no /v2). Uses the proxy's TLS certificate when it has one.
 */
export function buildDashboardApp(core: ProxyCore, logger: Logger, base: string): FastifyInstance {
  const tls = core.config.tls;
  const app = Fastify({
    loggerInstance: logger,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    ...(tls !== undefined ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
  }) as unknown as FastifyInstance;
  app.decorateRequest('tollgateKind', undefined);
  app.decorateRequest('tollgateIdentity', undefined);
  app.get('/', async (request, reply) => reply.redirect(`${base}/decisions`));
  registerDashboard(app, core, base);
  return app;
}
