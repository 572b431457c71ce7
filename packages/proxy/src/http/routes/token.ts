import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseBasic } from '../../auth/client-auth.js';
import { parseScopes, type AccessEntry } from '../../auth/scope.js';
import { selectUpstream } from '../../routing/select-upstream.js';
import type { ProxyCore } from '../../serve/proxy-core.js';
import { OciError } from '../oci-error.js';

function queryValues(query: unknown, key: string): string[] {
  const value = (query as Record<string, unknown> | undefined)?.[key];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((v): v is string => typeof v === 'string').slice(0, 16);
}

/** Whether `identity` may pull the repository a client calls `name`, by any route it could take (prefix, default or ns). */
function mayPull(core: ProxyCore, identity: string, name: string): boolean {
  const candidates = [undefined, ...core.upstreams.map((u) => u.config.ns).filter((ns): ns is string => ns !== undefined)];
  return candidates.some((ns) => {
    const route = selectUpstream(core.upstreams, name, ns);
    return !('error' in route) && core.auth.allows(identity, route.upstream.name, route.repository);
  });
}

/**
 * `GET /token?service=…&scope=repository:<name>:pull` with Basic credentials (checked against htpasswd): the token
 * endpoint of distribution's token flow. Grants `pull` only (push is never supported), and only on repositories
 * the access rules let the user pull; anything else requested is granted with no actions, as distribution's token
 * servers do.
 */
export function registerTokenRoute(app: FastifyInstance, core: ProxyCore): void {
  app.get('/token', async (request: FastifyRequest, reply: FastifyReply) => {
    request.tollgateKind = 'token';
    const tokens = core.auth.tokens;
    if (tokens === undefined) throw new OciError(404, 'UNSUPPORTED', 'this proxy does not issue tokens (auth.mode is not token)');
    const service = queryValues(request.query, 'service')[0];
    if (service !== undefined && service !== tokens.service) throw new OciError(400, 'UNSUPPORTED', `unknown service; this proxy's token service is ${tokens.service}`);
    const basic = parseBasic(request.headers.authorization);
    if (basic === undefined || !(await core.auth.checkPassword(basic.user, basic.password))) {
      if (basic !== undefined) {
        await core.audit.record({ type: 'access', client: request.ip, identity: basic.user.slice(0, 256), verdict: 'deny', rule: 'authentication', reasons: ['token request with a wrong user name or password'] });
      }
      reply.header('www-authenticate', 'Basic realm="tollgate"');
      throw new OciError(401, 'UNAUTHORIZED', 'authentication required: send the user name and password of the proxy (htpasswd) with Basic auth');
    }
    const access: AccessEntry[] = parseScopes(queryValues(request.query, 'scope'))
      .filter((s) => s.type === 'repository')
      .map((s) => ({ type: 'repository', name: s.name, actions: s.actions.includes('pull') && mayPull(core, basic.user, s.name) ? ['pull'] : [] }));
    const issued = await tokens.issue(basic.user, access);
    core.log.info({ user: basic.user, access: access.map((a) => `${a.name}:${a.actions.join(',')}`) }, 'issued a token');
    return reply.header('cache-control', 'no-store').header('content-type', 'application/json').send(JSON.stringify(issued));
  });
}
