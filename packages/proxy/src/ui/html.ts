/**
 * The dashboard's one HTML escaping helper. Every page is built with the `html` tagged template: each interpolated
 * value is escaped as text unless it is already `SafeHtml` (the output of another `html` template); arrays are
 * joined, `undefined`, `null` and `false` render as nothing. Values land only in element text and in quoted
 * attribute values, where escaping `& < > " '` (and the backtick, for old parsers) is enough; URLs the pages build
 * come from `href()`, which percent-encodes every path segment and query value, so no value from an upstream or a
 * client can choose a URL scheme (`javascript:`) or leave its attribute.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text safe to place in element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Builds HTML from a template, escaping every interpolated value that is not SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** encodeURIComponent, and also `! ' ( ) *` (RFC 3986 reserved), so a URL never carries a quote. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A same-origin URL: `base` (a path the dashboard owns) plus percent-encoded path segments and query parameters.
 * The result always starts with `/`, so a browser can never read it as a `javascript:` or other scheme.
 */
export function href(base: string, segments: readonly string[] = [], query: Record<string, string | number | undefined> = {}): string {
  const path = [base.replace(/\/+$/, ''), ...segments.map((s) => encode(s))].join('/');
  const params = Object.entries(query).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  const search = params.length > 0 ? `?${params.map(([k, v]) => `${encode(k)}=${encode(String(v))}`).join('&')}` : '';
  return path.startsWith('/') ? `${path}${search}` : `/${path}${search}`;
}
