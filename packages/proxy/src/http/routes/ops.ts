import type { FastifyInstance } from 'fastify';
import type { ProxyCore } from '../../serve/proxy-core.js';

/** /healthz (the process answers), /readyz (accepting pulls, not shutting down), /metrics (Prometheus). */
export function registerOpsRoutes(app: FastifyInstance, core: ProxyCore, state: { closing: boolean }): void {
  app.get('/healthz', async (request, reply) => {
    request.tollgateKind = 'ops';
    return reply.send({ status: 'ok' });
  });
  app.get('/readyz', async (request, reply) => {
    request.tollgateKind = 'ops';
    const upstreams = core.upstreamHealth();
    if (state.closing) return reply.code(503).send({ status: 'shutting-down', upstreams });
    return reply.send({ status: 'ready', upstreams });
  });
  app.get('/metrics', async (request, reply) => {
    request.tollgateKind = 'ops';
    core.metrics.cacheBytes.set(core.retention.totalBytes);
    core.metrics.cacheBlobs.set(core.retention.count);
    return reply.header('content-type', core.metrics.registry.contentType).send(await core.metrics.registry.metrics());
  });
}
