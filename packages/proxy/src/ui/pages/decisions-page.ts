import { PAGE_SIZE, VERDICTS, type DecisionFilter } from '../decision-filter.js';
import type { DecisionPage } from '../decision-reader.js';
import type { DecisionView } from '../decision-view.js';
import { href, html, type SafeHtml } from '../html.js';
import { layout, shortDigest, verdictBadge, when, type PageContext } from './layout.js';

export function imageName(view: { upstream: string; repository: string; tag?: string }): string {
  return `${view.upstream}/${view.repository}${view.tag !== undefined ? `:${view.tag}` : ''}`;
}

/** One row of the decisions table (the live update builds the same cells in dashboard.js). */
export function decisionRow(context: PageContext, view: DecisionView): SafeHtml {
  return html`<tr data-id="${view.id}" data-verdict="${view.verdict}">
<td>${when(view.at)}</td>
<td>${verdictBadge(view.verdict)}</td>
<td><a class="image" href="${href(context.base, ['decisions', view.id])}">${imageName(view)}</a></td>
<td>${shortDigest(view.digest)}</td>
<td class="user">${view.user ?? ''}</td>
<td>${view.rule ?? ''}</td>
<td class="reason">${view.reasons[0] ?? ''}</td>
</tr>`;
}

function input(name: string, label: string, value: string | undefined, placeholder: string): SafeHtml {
  return html`<label>${label} <input name="${name}" value="${value ?? ''}" placeholder="${placeholder}" autocomplete="off"></label>`;
}

/** The Decisions page: filters, counts per verdict, one page of decisions, newest first, updated live. */
export function decisionsPage(context: PageContext, query: Record<string, string>, filter: DecisionFilter, page: DecisionPage): SafeHtml {
  const base = context.base;
  const withQuery = (extra: Record<string, string | number | undefined>) => ({ ...query, ...extra });
  const counts = html`<ul class="counts" data-counts>
${VERDICTS.map((v) => html`<li><a href="${href(base, ['decisions'], withQuery({ verdict: v, page: undefined }))}" class="badge ${v}">${v}</a> <b data-count="${v}">${page.counts[v] ?? 0}</b></li>`)}
<li><a href="${href(base, ['decisions'], withQuery({ verdict: undefined, page: undefined }))}">all</a></li>
</ul>`;
  const form = html`<form class="filters" method="get" action="${href(base, ['decisions'])}">
<label>Verdict <select name="verdict"><option value="">any</option>${VERDICTS.map((v) => html`<option value="${v}"${filter.verdict === v ? html` selected` : ''}>${v}</option>`)}</select></label>
${input('upstream', 'Upstream', query.upstream, 'name')}
${input('repository', 'Repository', query.repository, 'glob, e.g. lab/team/**')}
${input('rule', 'Rule', query.rule, 'rule name')}
${input('user', 'User', query.user, 'user name')}
${input('since', 'Since', query.since, '2h or 2026-12-01T10:00:00Z')}
${input('until', 'Until', query.until, '1h or 2026-12-01T12:00:00Z')}
<button type="submit">Filter</button>
</form>`;
  const liveUrl = href(base, ['api', 'decisions'], query);
  const rows = page.decisions.map((d) => decisionRow(context, d));
  const pager = html`<nav class="pager">
${page.page > 0 ? html`<a rel="prev" href="${href(base, ['decisions'], withQuery({ page: page.page - 1 }))}">newer</a>` : ''}
<span>page ${page.page + 1}</span>
${page.hasMore ? html`<a rel="next" href="${href(base, ['decisions'], withQuery({ page: page.page + 1 }))}">older</a>` : ''}
</nav>`;
  const live = page.page === 0 ? html` data-live="${liveUrl}" data-newest="${page.newestAt ?? 0}" data-base="${base}"` : '';
  return layout(
    context,
    'Decisions',
    'decisions',
    liveUrl,
    html`${form}
${counts}
${page.truncated ? html`<p class="note">Only the newest ${'50,000'} audit events were read; narrow the time range to reach older decisions.</p>` : ''}
<table class="decisions">
<thead><tr><th>Time (UTC)</th><th>Verdict</th><th>Image</th><th>Digest</th><th>User</th><th>Rule</th><th>Reason</th></tr></thead>
<tbody id="decision-rows"${live}>
${rows}
</tbody>
</table>
${page.decisions.length === 0 ? html`<p class="muted" id="no-decisions">No decisions match${page.page > 0 ? ' on this page' : ''}.</p>` : ''}
<p class="muted live-status" id="live-status">${page.page === 0 ? 'Live: new decisions appear here as they are made.' : `Showing ${PAGE_SIZE} per page; live updates on the first page.`}</p>
${pager}`,
  );
}
