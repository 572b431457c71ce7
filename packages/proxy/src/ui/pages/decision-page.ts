import type { FileChange } from '@tollgate/core';
import type { StoredDiff } from '../diff/stored-diff.js';
import type { DecisionView } from '../decision-view.js';
import { href, html, type SafeHtml } from '../html.js';
import { imageName } from './decisions-page.js';
import { layout, shortDigest, verdictBadge, when, type PageContext } from './layout.js';

/** What the decision page knows of the diff: stored, being computed, or nothing to compare. */
export type DiffState = { state: 'none' } | { state: 'pending' } | { state: 'stored'; diff: StoredDiff };

const passFail = (passed: boolean) => (passed ? html`<span class="badge allow">pass</span>` : html`<span class="badge deny">fail</span>`);

function row(label: string, value: SafeHtml | string | undefined): SafeHtml {
  return value === undefined || value === '' ? html`` : html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
}

function findingsTable(view: DecisionView): SafeHtml {
  const findings = view.evidence?.findings ?? [];
  if (findings.length === 0) {
    return html`<p class="muted">The gate recorded no findings for this decision (a gate without a policy, or an older proxy); its reasons:</p>
<ul class="reasons">${view.reasons.map((r) => html`<li>${r}</li>`)}</ul>`;
  }
  return html`<table class="findings"><thead><tr><th>Result</th><th>Kind</th><th>Finding</th><th>Why</th></tr></thead><tbody>
${findings.map((f) => html`<tr><td>${passFail(f.passed)}${f.indeterminate ? html` <span class="badge indeterminate">undecided</span>` : ''}</td><td>${f.kind}</td><td>${f.name}</td><td>${f.reason}</td></tr>`)}
</tbody></table>${view.evidence?.omitted ? html`<p class="muted">${view.evidence.omitted} more left out (bounded).</p>` : ''}`;
}

function signaturesTable(view: DecisionView): SafeHtml {
  const signatures = view.evidence?.signatures ?? [];
  if (signatures.length === 0) return html`<p class="muted">No signature was asked for or found.</p>`;
  return html`<table class="signatures"><thead><tr><th>Result</th><th>Authority</th><th>Signers (identity or key id)</th><th>Transparency log</th><th>Timestamp</th><th>Manifest</th></tr></thead><tbody>
${signatures.map(
  (s) => html`<tr><td>${passFail(s.passed)}</td><td>${s.authority} <span class="muted">(${s.kind})</span></td>
<td>${s.signers.length > 0 ? html`<ul>${s.signers.map((id) => html`<li><code>${id}</code></li>`)}</ul>` : html`<span class="muted">${s.reasons.join('; ') || 'none verified'}</span>`}</td>
<td>${s.transparencyLog === 'required' ? (s.passed ? 'entry verified' : 'required') : 'not required'}</td>
<td>${s.timestamp === 'required' ? (s.passed ? 'verified' : 'required') : 'optional'}</td>
<td>${shortDigest(s.digest)}</td></tr>`,
)}
</tbody></table>`;
}

function attestationsTable(view: DecisionView): SafeHtml {
  const attestations = view.evidence?.attestations ?? [];
  if (attestations.length === 0) return html`<p class="muted">No attestation was asked for.</p>`;
  const byType = new Map<string, typeof attestations>();
  for (const a of attestations) byType.set(a.predicateType, [...(byType.get(a.predicateType) ?? []), a]);
  return html`<table class="attestations"><thead><tr><th>Predicate type</th><th>Authority</th><th>Verified statements</th><th>Signers</th></tr></thead><tbody>
${[...byType].map(([type, list]) => list.map((a, i) => html`<tr>${i === 0 ? html`<td rowspan="${list.length}"><code>${type}</code></td>` : ''}<td>${a.authority}</td><td>${a.statements}</td><td>${a.signers.join(', ') || a.reasons.join('; ')}</td></tr>`))}
</tbody></table>`;
}

function annotationsTable(view: DecisionView): SafeHtml {
  const entries = Object.entries(view.annotations ?? {});
  if (entries.length === 0) return html``;
  return html`<h2>Annotations</h2><table class="annotations"><thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>
${entries.map(([k, v]) => html`<tr><td><code>${k}</code></td><td>${v}</td></tr>`)}
</tbody></table>`;
}

function changeCells(change: FileChange): SafeHtml {
  const describe = (state: FileChange['before']) => (state === undefined ? '' : `${state.type} ${state.mode} ${state.uid}:${state.gid}${state.type === 'file' ? ` ${state.size} B` : ''}${state.linkTarget !== undefined ? ` → ${state.linkTarget}` : ''}`);
  return html`<td><span class="change ${change.kind}">${change.kind}</span></td><td><code class="path">${change.path}</code></td>
<td>${change.flags.map((f) => html`<span class="flag">${f}</span> `)}</td><td>${change.changes.join(', ')}</td><td>${describe(change.before)}</td><td>${describe(change.after)}</td>`;
}

export function diffSection(context: PageContext, view: DecisionView, diff: DiffState): SafeHtml {
  const move = view.tagMove;
  if (move === undefined || diff.state === 'none') return html`<p class="muted">The tag did not move at this decision: nothing to compare.</p>`;
  const header = html`<p>Tag <code>${move.tag}</code> moved from ${shortDigest(move.from)} to ${shortDigest(move.to)}.</p>`;
  if (diff.state === 'pending') {
    return html`${header}<p class="note" id="diff-pending" data-poll="${href(context.base, ['api', 'decisions', view.id])}">The file-level diff is being computed in the background (bounded); this part fills in by itself.</p>`;
  }
  const stored = diff.diff;
  if (stored.status !== 'done') return html`${header}<p class="note">No diff: ${stored.reason}</p>`;
  const s = stored.summary;
  return html`${header}
<p class="summary">${s.files.added} added, ${s.files.removed} removed, ${s.files.modified} modified files; ${s.flagged} flagged; ${s.config} config changes; layers: ${s.layers.shared} shared, ${s.layers.added} added, ${s.layers.removed} removed.</p>
<table class="diff" id="diff-table"><thead><tr><th>Change</th><th>Path</th><th>Flags</th><th>What</th><th>Before</th><th>After</th></tr></thead><tbody>
${stored.files.map((c) => html`<tr${c.flags.length > 0 ? html` class="flagged"` : ''}>${changeCells(c)}</tr>`)}
</tbody></table>
${stored.omittedFiles > 0 ? html`<p class="muted">${stored.omittedFiles} more file changes left out (the dashboard keeps ${stored.files.length}); run tollgate diff for all.</p>` : ''}
${stored.config.length > 0 ? html`<h3>Config</h3><table class="config"><thead><tr><th>Field</th><th>Before</th><th>After</th><th>Flags</th></tr></thead><tbody>${stored.config.map((c) => html`<tr><td><code>${c.field}</code></td><td><code>${JSON.stringify(c.before) ?? ''}</code></td><td><code>${JSON.stringify(c.after) ?? ''}</code></td><td>${c.flags.join(', ')}</td></tr>`)}</tbody></table>` : ''}
<p class="muted">Computed ${when(stored.computedAt)} from the cached file indexes (${stored.layersFromCache} layers from the cache, ${stored.bytesRead} bytes read).</p>`;
}

/** One decision: the image, who asked, the rule, every finding, signatures, attestations, what changed. */
export function decisionPage(context: PageContext, view: DecisionView, diff: DiffState): SafeHtml {
  const tagLink = view.tag !== undefined ? html`<a href="${href(context.base, ['tags'], { upstream: view.upstream, repository: view.repository, tag: view.tag })}">${view.tag}</a> <span class="muted">(history)</span>` : undefined;
  const body = html`<table class="facts"><tbody>
${row('Verdict', verdictBadge(view.verdict))}
${row('Time', when(view.at))}
${row('Image', html`<code class="image">${imageName(view)}</code>`)}
${row('Digest', view.digest !== undefined ? html`<code>${view.digest}</code>` : undefined)}
${row('Tag', tagLink)}
${row('User', view.user)}
${row('Client', view.client)}
${row('Rule', view.rule)}
${row('Mode', view.mode)}
${row('Policy revision', view.policyRevision !== undefined ? html`<code>${view.policyRevision}</code>` : undefined)}
${row('From the verdict cache', view.cached === undefined ? undefined : view.cached ? 'yes' : 'no')}
</tbody></table>
<h2>Reasons</h2>
<ul class="reasons">${view.reasons.map((r) => html`<li class="reason">${r}</li>`)}</ul>
<h2>Findings</h2>
${findingsTable(view)}
<h2>Signatures</h2>
${signaturesTable(view)}
<h2>Attestations</h2>
${attestationsTable(view)}
${annotationsTable(view)}
<section id="what-changed">
<h2>What changed</h2>
${diffSection(context, view, diff)}
</section>`;
  return layout(context, `Decision: ${view.verdict} ${imageName(view)}`, 'other', href(context.base, ['api', 'decisions', view.id]), body);
}
