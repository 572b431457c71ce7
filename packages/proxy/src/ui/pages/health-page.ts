import type { HealthView } from '../health/health-view.js';
import { requestsChart } from '../health/svg-chart.js';
import { href, html, type SafeHtml } from '../html.js';
import { layout, when, type PageContext } from './layout.js';

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Upstreams up or down, the cache, integrity failures and requests over time (this replica's metrics). */
export function healthPage(context: PageContext, health: HealthView): SafeHtml {
  const state = (up: boolean | undefined) => (up === undefined ? html`<span class="badge unknown">not asked yet</span>` : up ? html`<span class="badge allow">up</span>` : html`<span class="badge deny">down</span>`);
  const body = html`<h2>Upstreams</h2>
<table class="upstreams" id="upstreams"><thead><tr><th>Upstream</th><th>Location</th><th>State</th><th>Since</th><th>Last error</th></tr></thead><tbody>
${health.upstreams.map((u) => html`<tr><td>${u.name}</td><td><code>${u.location}</code></td><td>${state(u.up)}</td><td>${u.since !== undefined ? when(u.since) : ''}</td><td>${u.error ?? ''}</td></tr>`)}
</tbody></table>
<h2>Cache</h2>
<table class="facts" id="cache"><tbody>
<tr><th scope="row">Size</th><td>${bytes(health.cache.bytes)} in ${health.cache.blobs} blobs (bound ${bytes(health.cache.maxBytes)})</td></tr>
<tr><th scope="row">Hit rate</th><td>${health.cache.hitRate !== undefined ? `${(health.cache.hitRate * 100).toFixed(1)} %` : '—'} (${health.cache.hits} hits, ${health.cache.misses} misses since start)</td></tr>
<tr><th scope="row">Integrity failures</th><td id="integrity-failures">${health.integrityFailures.total}${Object.entries(health.integrityFailures.byUpstream).map(([name, n]) => ` · ${name}: ${n}`)}</td></tr>
<tr><th scope="row">Gate decisions</th><td>${Object.entries(health.decisions).map(([d, n]) => html`<span class="badge ${d}">${d}</span> ${n} `)}</td></tr>
</tbody></table>
<h2>Requests over time</h2>
${requestsChart(health.requests)}
<p class="muted">From this proxy's own counters (tollgate_proxy_requests_total, sampled every 30 s; the dashboard's requests are not counted). Each replica shows its own. <a href="${href(context.base, ['api', 'health'])}">JSON</a></p>`;
  return layout(context, 'Health', 'health', href(context.base, ['api', 'health']), body);
}
