/** dashboard.css, served as a file of its own (the CSP allows styles from 'self' only). */
export const DASHBOARD_CSS = `:root { --fg: #1d2330; --muted: #667085; --line: #d8dde6; --bg: #f7f8fa; --allow: #1f7a3f; --deny: #b42318; --warn: #a15c07; --und: #5b5f97; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 24px; align-items: center; padding: 10px 20px; background: #1d2330; color: #fff; }
header a { color: #cfd8ff; text-decoration: none; margin-right: 14px; }
header a[aria-current] { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
.brand { font-weight: 700; letter-spacing: .04em; }
.viewer { margin-left: auto; color: #c6cad3; font-size: 13px; }
main { padding: 16px 20px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 14px; word-break: break-all; }
h2 { font-size: 16px; margin: 22px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
thead th { white-space: nowrap; background: #eef1f5; font-weight: 600; font-size: 13px; }
table.facts { width: auto; min-width: 480px; }
table.facts th { width: 190px; color: var(--muted); font-weight: 500; }
time, code.digest { white-space: nowrap; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.muted { color: var(--muted); }
.note { background: #fff7e6; border: 1px solid #f5d9a8; padding: 6px 10px; }
.message { font-size: 16px; }
.badge { white-space: nowrap; display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; color: #fff; background: #98a2b3; text-decoration: none; }
.badge.allow { background: var(--allow); } .badge.deny { background: var(--deny); } .badge.warn { background: var(--warn); } .badge.indeterminate { background: var(--und); }
.counts { list-style: none; display: flex; gap: 18px; padding: 0; margin: 8px 0 12px; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; background: #fff; border: 1px solid var(--line); padding: 10px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.filters input, form.filters select { font: inherit; padding: 3px 6px; min-width: 120px; }
form.filters button { padding: 4px 14px; font: inherit; }
tr.new { animation: flash 2s ease-out; }
@keyframes flash { from { background: #fff3c4; } to { background: transparent; } }
tr.flagged td { background: #fff1f0; }
.flag { display: inline-block; background: var(--deny); color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; margin: 1px 0; }
.change.added { color: var(--allow); } .change.removed { color: var(--deny); } .change.modified { color: var(--warn); }
.pager { display: flex; gap: 14px; margin-top: 10px; }
svg.chart { background: #fff; border: 1px solid var(--line); }
svg.chart .axis { stroke: #98a2b3; stroke-width: 1; }
svg.chart rect.requests { fill: #2e5aac; }
svg.chart rect.errors { fill: var(--deny); }
svg.chart .label { font-size: 10px; fill: var(--muted); } svg.chart .label.end { text-anchor: end; }
ul.reasons { margin: 4px 0; padding-left: 20px; }
td ul { margin: 0; padding-left: 16px; }
`;
