import { href, html, type SafeHtml } from '../html.js';

export interface PageContext {
  /** The dashboard's base path, e.g. `/ui`. */
  base: string;
  /** The signed-in user (`anonymous` without client auth). */
  viewer: string;
}

export type Section = 'decisions' | 'health' | 'other';

/** The page around every view: title, navigation, who is looking, the JSON twin, styles and the script file. */
export function layout(context: PageContext, title: string, section: Section, jsonHref: string, body: SafeHtml): SafeHtml {
  const nav = (name: Section, label: string, path: string) => html`<a href="${href(context.base, [path])}"${name === section ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · tollgate</title>
<link rel="stylesheet" href="${href(context.base, ['assets', 'dashboard.css'])}">
<script src="${href(context.base, ['assets', 'dashboard.js'])}" defer></script>
</head>
<body>
<header>
<span class="brand">tollgate</span>
<nav>${nav('decisions', 'Decisions', 'decisions')}${nav('health', 'Health', 'health')}</nav>
<span class="viewer">signed in as <b data-viewer>${context.viewer}</b> · <a href="${jsonHref}">JSON</a></span>
</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** `sha256:0123456789ab…`: enough to tell digests apart in a table (the full one is in the title attribute). */
export function shortDigest(digest: string | undefined): SafeHtml {
  if (digest === undefined) return html`<span class="muted">—</span>`;
  const short = digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
  return html`<code class="digest" title="${digest}">${short}</code>`;
}

export function verdictBadge(verdict: string): SafeHtml {
  const known = ['allow', 'deny', 'warn', 'indeterminate'].includes(verdict) ? verdict : 'unknown';
  return html`<span class="badge ${known}">${verdict}</span>`;
}

export function when(at: number): SafeHtml {
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

/** A message page (400, 404) in the same layout. */
export function messagePage(context: PageContext, title: string, message: string): SafeHtml {
  return layout(context, title, 'other', href(context.base, ['api', 'decisions']), html`<p class="message">${message}</p><p><a href="${href(context.base, ['decisions'])}">Back to the decisions</a></p>`);
}
