import type { FastifyRequest } from 'fastify';
import { parseBasic } from '../auth/client-auth.js';
import type { ProxyCore } from '../serve/proxy-core.js';

/** The realm browsers show when they ask for the proxy's user name and password. */
export const DASHBOARD_CHALLENGE = 'Basic realm="tollgate dashboard", charset="UTF-8"';

export type ViewerOutcome = { viewer: string } | { challenge: true; wrong: boolean; user?: string };

/**
 * Who is looking at the dashboard. Anonymous proxies need no credentials (the viewer is `anonymous`, and the access
 * rules for `anonymous` still apply). With htpasswd or token auth the browser sends the same user name and password
 * the proxy's clients use, by HTTP Basic (in token mode too: a browser cannot run the registry token flow, so the
 * dashboard asks for the credentials the token endpoint would check, against the same htpasswd file).
 */
export async function dashboardViewer(core: ProxyCore, request: FastifyRequest): Promise<ViewerOutcome> {
  if (core.auth.mode === 'anonymous') return { viewer: 'anonymous' };
  const basic = parseBasic(request.headers.authorization);
  if (basic === undefined) return { challenge: true, wrong: false };
  if (!(await core.auth.checkPassword(basic.user, basic.password))) return { challenge: true, wrong: true, user: basic.user.slice(0, 256) };
  return { viewer: basic.user };
}
