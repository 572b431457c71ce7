import { html, type SafeHtml } from '../html.js';

export interface ChartPoint {
  at: number;
  requests: number;
  errors: number;
}

const WIDTH = 600;
const HEIGHT = 140;
const PAD = 24;

/**
 * Requests (and errors) per interval as a small inline SVG drawn on the server: two polylines over a time axis,
 * the peak written on the axis. Numbers only reach the markup (coordinates are computed, never copied from input).
 */
export function requestsChart(points: readonly ChartPoint[]): SafeHtml {
  if (points.length === 0) return html`<p class="muted">No samples yet: the chart fills in as the proxy answers requests.</p>`;
  const peak = Math.max(1, ...points.map((p) => p.requests));
  const first = points[0]!.at;
  const span = Math.max(1, points[points.length - 1]!.at - first);
  const x = (at: number) => (points.length === 1 ? WIDTH - PAD : PAD + ((at - first) / span) * (WIDTH - 2 * PAD)).toFixed(1);
  const y = (value: number) => (HEIGHT - PAD - (value / peak) * (HEIGHT - 2 * PAD)).toFixed(1);
  const line = (key: 'requests' | 'errors') => points.map((p) => `${x(p.at)},${y(p[key])}`).join(' ');
  const total = points.reduce((sum, p) => sum + p.requests, 0);
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="Requests per interval">
  <title>Requests per interval (${total} in view, peak ${peak})</title>
  <line class="axis" x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}"></line>
  <line class="axis" x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${HEIGHT - PAD}"></line>
  <text class="label" x="${PAD + 4}" y="${PAD - 6}">${peak} / interval</text>
  <text class="label" x="${PAD}" y="${HEIGHT - 6}">${new Date(first).toISOString().slice(11, 19)}</text>
  <text class="label end" x="${WIDTH - PAD}" y="${HEIGHT - 6}">${new Date(points[points.length - 1]!.at).toISOString().slice(11, 19)} UTC</text>
  <polyline class="requests" points="${line('requests')}"></polyline>
  <polyline class="errors" points="${line('errors')}"></polyline>
</svg>`;
}
