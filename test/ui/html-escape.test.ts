/**
 * The dashboard's one escaping helper (packages/proxy/src/ui/html.ts), checked as properties over arbitrary
 * strings: escaped text never contains a character that could open a tag, an entity or leave an attribute, and
 * decodes back to the original; `html` escapes every interpolation that is not itself `html`; `href` builds only
 * same-origin paths whatever the segments and query values are.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, href, html, SafeHtml } from '../../packages/proxy/src/ui/html.js';
import { DASHBOARD_CSP } from '../../packages/proxy/src/ui/security-headers.js';

function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#96);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#96': '`' })[name]!);
}

const hostile = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)", 'javascript:alert(1)', '&lt;already&gt;', '`${x}`'),
);

describe('escapeHtml', () => {
  it('leaves no markup character and decodes back to the input', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const escaped = escapeHtml(text);
        expect(escaped).not.toMatch(/[<>"'`]/);
        expect(escaped.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
        expect(decode(escaped)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('html', () => {
  it('escapes every plain interpolation, in text and in quoted attributes', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, b) => {
        const out = html`<p title="${a}">${b}</p>`.value;
        expect(out).toBe(`<p title="${escapeHtml(a)}">${escapeHtml(b)}</p>`);
        // The only tags and quotes are the template's own.
        expect(out.match(/</g)?.length).toBe(2);
        expect(out.match(/"/g)?.length).toBe(2);
      }),
    );
  });

  it('nests html without escaping it twice, joins arrays and drops undefined, null and false', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 5 }), (items) => {
        const out = html`<ul>${items.map((i) => html`<li>${i}</li>`)}${undefined}${null}${false}</ul>`.value;
        expect(out).toBe(`<ul>${items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>`);
      }),
    );
    expect(html`${0}`.value).toBe('0');
    expect(html`${new SafeHtml('<b>')}`.value).toBe('<b>');
  });
});

describe('href', () => {
  it('is always a same-origin path below the base, whatever the segments and query values', () => {
    fc.assert(
      fc.property(fc.array(hostile, { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), hostile, { maxKeys: 3 }), (segments, query) => {
        const url = href('/ui', segments, query);
        expect(url.startsWith('/ui')).toBe(true);
        const parsed = new URL(url, 'https://proxy.example');
        expect(parsed.origin).toBe('https://proxy.example');
        expect(parsed.pathname.startsWith('/ui')).toBe(true);
        expect(url).not.toMatch(/[<>"'`\s]/);
        for (const [key, value] of Object.entries(query)) if (value !== '') expect(parsed.searchParams.get(key)).toBe(value);
      }),
    );
  });
});

describe('the dashboard CSP', () => {
  it('allows no inline script or style and no framing', () => {
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(DASHBOARD_CSP).not.toContain('unsafe-eval');
  });
});
