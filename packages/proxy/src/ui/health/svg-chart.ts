import { html, type SafeHtml } from '../html.js';
import { HISTORY_SAMPLES } from './request-history.js';

export interface ChartPoint {
  at: number;
  requests: number;
  errors: number;
}

const WIDTH = 600;
const HEIGHT = 140;
const PAD = 24;

/**
 * Requests (and, overlaid, errors) per sampling interval as a small bar chart drawn on the server: one slot per
 * kept sample, newest on the right, the peak written on the axis. Only computed numbers reach the markup.
 */
export function requestsChart(points: readonly ChartPoint[]): SafeHtml {
  if (points.length === 0) return html`<p class="muted">No samples yet: the chart fills in as the proxy answers requests.</p>`;
  const shown = points.slice(-HISTORY_SAMPLES);
  const peak = Math.max(1, ...shown.map((p) => p.requests));
  const slot = (WIDTH - 2 * PAD) / HISTORY_SAMPLES;
  const barWidth = Math.max(1, slot - 1).toFixed(1);
  const x = (i: number) => (WIDTH - PAD - (shown.length - i) * slot).toFixed(1);
  const height = (value: number) => ((value / peak) * (HEIGHT - 2 * PAD)).toFixed(1);
  const y = (value: number) => (HEIGHT - PAD - (value / peak) * (HEIGHT - 2 * PAD)).toFixed(1);
  const total = shown.reduce((sum, p) => sum + p.requests, 0);
  const time = (at: number) => new Date(at).toISOString().slice(11, 19);
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="Requests per interval">
<title>Requests per interval: ${total} in view, peak ${peak}</title>
<line class="axis" x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}"></line>
<text class="label" x="${PAD}" y="${PAD - 8}">peak ${peak} requests per interval · errors in red</text>
<text class="label" x="${PAD}" y="${HEIGHT - 8}">${time(shown[0]!.at)}</text>
<text class="label end" x="${WIDTH - PAD}" y="${HEIGHT - 8}">${time(shown[shown.length - 1]!.at)} UTC</text>
${shown.map((p, i) => html`<rect class="requests" x="${x(i)}" y="${y(p.requests)}" width="${barWidth}" height="${height(p.requests)}"><title>${time(p.at)}: ${p.requests} requests, ${p.errors} errors</title></rect>${p.errors > 0 ? html`<rect class="errors" x="${x(i)}" y="${y(p.errors)}" width="${barWidth}" height="${height(p.errors)}"></rect>` : ''}`)}
</svg>`;
}
