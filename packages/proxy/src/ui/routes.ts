import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TollgateError } from '@tollgate/core';
import type { ProxyCore } from '../serve/proxy-core.js';
import { DASHBOARD_CSS } from './assets/dashboard-css.js';
import { DASHBOARD_JS } from './assets/dashboard-js.js';
import { filterQuery, parseDecisionFilter } from './decision-filter.js';
import { readDecision, readDecisions, readTagHistory, visibilityFor, type Visibility } from './decision-reader.js';
import type { DecisionView } from './decision-view.js';
import { DiffRecorder } from './diff/diff-recorder.js';
import { diffKey, type StoredDiff } from './diff/stored-diff.js';
import { readHealth } from './health/health-view.js';
import { RequestHistory } from './health/request-history.js';
import { href, type SafeHtml } from './html.js';
import { decisionPage, type DiffState } from './pages/decision-page.js';
import { decisionsPage } from './pages/decisions-page.js';
import { healthPage } from './pages/health-page.js';
import { messagePage, type PageContext } from './pages/layout.js';
import { tagHistoryPage } from './pages/tag-history-page.js';
import { setSecurityHeaders } from './security-headers.js';
import { DASHBOARD_CHALLENGE, dashboardViewer } from './viewer.js';

interface Viewing {
  context: PageContext;
  visible: Visibility;
  json: boolean;
}

class NotFound extends Error {}

function query(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

function sendHtml(reply: FastifyReply, page: SafeHtml, status = 200): FastifyReply {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').send(page.value);
}

function sendJson(reply: FastifyReply, value: unknown, status = 200): FastifyReply {
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(value));
}

/**
 * The read-only dashboard under `base` (docs/dashboard.md): Decisions, a Decision with what changed, Tag history
 * and Health, each as HTML and as JSON (`/api/…`, or `?format=json` on the page). Every request is authenticated
 * with the proxy's client credentials and sees only decisions on repositories the access rules let the viewer
 * pull. Answers carry a strict CSP (scripts and styles from the dashboard's own files, nothing inline).
 */
export function registerDashboard(app: FastifyInstance, core: ProxyCore, base: string): void {
  app.register(
    async (ui) => {
      const history = new RequestHistory(core.metrics, core.now);
      const diffs = new DiffRecorder(core);
      const unsubscribe = core.audit.onRecord(diffs.onEvent);
      ui.addHook('onClose', async () => {
        unsubscribe();
        history.stop();
        await diffs.close();
      });
      ui.addHook('onRequest', async (request, reply) => {
        request.tollgateKind = 'ui';
        setSecurityHeaders(reply);
      });
      ui.setNotFoundHandler(async (request, reply) => sendJson(reply, { error: 'no such dashboard page' }, 404));
      ui.setErrorHandler(async (error, request, reply) => {
        setSecurityHeaders(reply);
        const usage = error instanceof TollgateError && error.code === 'USAGE';
        const status = usage ? 400 : error instanceof NotFound ? 404 : 500;
        if (status === 500) request.log.error({ err: error }, 'dashboard request failed');
        const message = status === 500 ? 'the dashboard could not read the proxy store; see the proxy log' : (error as Error).message;
        const viewing = (request as FastifyRequest & { viewing?: Viewing }).viewing;
        if (viewing === undefined || viewing.json) return sendJson(reply, { error: message }, status);
        return sendHtml(reply, messagePage(viewing.context, status === 404 ? 'Not found' : status === 400 ? 'Cannot show that' : 'Error', message), status);
      });

      ui.get('/assets/dashboard.css', async (request, reply) => reply.header('content-type', 'text/css; charset=utf-8').send(DASHBOARD_CSS));
      ui.get('/assets/dashboard.js', async (request, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').send(DASHBOARD_JS));

      /** Authenticates and decides HTML or JSON; answers the challenge itself (returns undefined then). */
      async function viewing(request: FastifyRequest, reply: FastifyReply, api: boolean): Promise<Viewing | undefined> {
        const outcome = await dashboardViewer(core, request);
        if ('challenge' in outcome) {
          if (outcome.wrong) {
            core.metrics.authFailures.inc({ reason: 'credentials' });
            await core.audit.record({ type: 'access', client: request.ip, identity: outcome.user ?? 'unknown', verdict: 'deny', rule: 'authentication', reasons: ['dashboard login with a wrong user name or password'] });
          }
          reply.header('www-authenticate', DASHBOARD_CHALLENGE);
          void sendJson(reply, { error: 'authentication required: the proxy user name and password' }, 401);
          return undefined;
        }
        const found: Viewing = { context: { base, viewer: outcome.viewer }, visible: visibilityFor(core, outcome.viewer), json: api || query(request).format === 'json' };
        (request as FastifyRequest & { viewing?: Viewing }).viewing = found;
        return found;
      }

      ui.get('/', async (request, reply) => reply.redirect(href(base, ['decisions'])));

      const decisions = (api: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
        const v = await viewing(request, reply, api);
        if (v === undefined) return reply;
        const filter = parseDecisionFilter(request.query, core.now());
        const page = await readDecisions(core, v.visible, filter);
        if (v.json) return sendJson(reply, page);
        return sendHtml(reply, decisionsPage(v.context, filterQuery(request.query), filter, page));
      };
      ui.get('/decisions', decisions(false));
      ui.get('/api/decisions', decisions(true));

      async function diffState(view: DecisionView): Promise<DiffState> {
        const move = view.tagMove;
        if (move === undefined) return { state: 'none' };
        const stored = await core.meta.getListing('image-diff', view.upstream, view.repository, diffKey(move.from, move.to));
        if (stored !== undefined) return { state: 'stored', diff: stored.value as StoredDiff };
        // Not computed yet (or by a proxy without the dashboard): computed now, in the background.
        diffs.onEvent({ type: 'verdict', at: view.at, upstream: view.upstream, repository: view.repository, tagMove: move });
        return { state: 'pending' };
      }

      const decision = (api: boolean) => async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
        const v = await viewing(request, reply, api);
        if (v === undefined) return reply;
        const view = await readDecision(core, v.visible, request.params.id);
        if (view === undefined) throw new NotFound('no such decision (or not one you may see)');
        const diff = await diffState(view);
        if (v.json) return sendJson(reply, { ...view, diff });
        return sendHtml(reply, decisionPage(v.context, view, diff));
      };
      ui.get('/decisions/:id', decision(false));
      ui.get('/api/decisions/:id', decision(true));

      const tags = (api: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
        const v = await viewing(request, reply, api);
        if (v === undefined) return reply;
        const q = query(request);
        const [upstream, repository, tag] = (['upstream', 'repository', 'tag'] as const).map((key) => (typeof q[key] === 'string' && q[key] !== '' && (q[key] as string).length <= 256 ? (q[key] as string) : undefined));
        if (upstream === undefined || repository === undefined || tag === undefined) throw new TollgateError('USAGE', 'tag history needs upstream, repository and tag');
        const found = await readTagHistory(core, v.visible, upstream, repository, tag);
        if (found === undefined) throw new NotFound('no such tag (or not one you may see)');
        if (v.json) return sendJson(reply, found);
        return sendHtml(reply, tagHistoryPage(v.context, found));
      };
      ui.get('/tags', tags(false));
      ui.get('/api/tags', tags(true));

      const health = (api: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
        const v = await viewing(request, reply, api);
        if (v === undefined) return reply;
        const found = await readHealth(core, history);
        if (v.json) return sendJson(reply, found);
        return sendHtml(reply, healthPage(v.context, found));
      };
      ui.get('/health', health(false));
      ui.get('/api/health', health(true));
    },
    { prefix: base },
  );
}
