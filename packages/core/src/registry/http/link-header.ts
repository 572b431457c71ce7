/**
 * The `rel="next"` target of an RFC 8288 (formerly 5988) Link header: `<url>; rel="next"`, possibly among other
 * links. Returns the raw URL reference (relative or absolute) or undefined.
 */
export function nextLink(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : header;
  if (text.length > 8192) return undefined;
  const linkPattern = /<([^<>]*)>((?:\s*;\s*[A-Za-z0-9!#$&+.^_`|~-]+\s*(?:=\s*(?:"(?:[^"\\]|\\.)*"|[^",;\s]*))?)*)/g;
  for (const match of text.matchAll(linkPattern)) {
    const target = match[1] ?? '';
    const params = match[2] ?? '';
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^",;\s]*))/i.exec(params);
    const relValue = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (relValue.includes('next')) return target.trim();
  }
  return undefined;
}
