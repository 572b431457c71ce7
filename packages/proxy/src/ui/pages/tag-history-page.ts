import type { TagHistory } from '../decision-reader.js';
import { href, html, type SafeHtml } from '../html.js';
import { layout, shortDigest, verdictBadge, when, type PageContext } from './layout.js';

/** Each digest a tag pointed at, newest first: when the proxy saw it there, and the verdict at that time. */
export function tagHistoryPage(context: PageContext, history: TagHistory): SafeHtml {
  const { upstream, repository, tag } = history;
  const current = history.current;
  const body = html`<p>Tag <code class="image">${upstream}/${repository}:${tag}</code>${
    current !== undefined
      ? html` resolves now to ${shortDigest(current.digest)} (asked of the upstream ${when(current.resolvedAt)})${current.accepted !== undefined ? html`; pinned: it stays accepted at ${shortDigest(current.accepted)} until the new digest is verified` : ''}.`
      : html`: the proxy holds no current resolution.`
  }</p>
<table class="history" id="tag-history"><thead><tr><th>Digest</th><th>Verdict then</th><th>First seen</th><th>Last seen</th><th>Decisions</th><th>Moved from</th></tr></thead><tbody>
${history.entries.map(
  (e) => html`<tr><td><code class="digest">${e.digest}</code></td><td><a href="${href(context.base, ['decisions', e.decision])}">${verdictBadge(e.verdict)}</a></td><td>${when(e.firstSeen)}</td><td>${when(e.lastSeen)}</td><td>${e.decisions}</td><td>${shortDigest(e.movedFrom)}</td></tr>`,
)}
</tbody></table>
${history.entries.length === 0 ? html`<p class="muted">No decision on this tag that you may see.</p>` : ''}
${history.truncated ? html`<p class="note">Only the newest audit events were read; older history is not shown.</p>` : ''}
<p><a href="${href(context.base, ['decisions'], { upstream, repository })}">Decisions on ${upstream}/${repository}</a></p>`;
  return layout(context, `Tag history: ${repository}:${tag}`, 'other', href(context.base, ['api', 'tags'], { upstream, repository, tag }), body);
}
