import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseImagePattern, parseReference, selectRule, type ImagePattern } from '@tollgate/core';

function pattern(source: string): ImagePattern {
  const result = parseImagePattern(source);
  if (!result.pattern) throw new Error(`pattern ${source}: ${result.error}`);
  return result.pattern;
}

function matches(source: string, reference: string): boolean {
  const ref = parseReference(reference);
  return pattern(source).matches(ref.registry, ref.repository);
}

describe('image patterns', () => {
  it('treats nginx, library/nginx and docker.io/library/nginx (and Docker Hub aliases) as one image', () => {
    for (const p of ['nginx', 'library/nginx', 'docker.io/library/nginx', 'index.docker.io/library/nginx', 'registry.hub.docker.com/library/nginx', 'docker.io/nginx']) {
      expect(pattern(p).normalized).toBe('docker.io/library/nginx');
      for (const r of ['nginx', 'registry-1.docker.io/nginx', 'registry.hub.docker.com/library/nginx:2', 'library/nginx:1.25', 'docker.io/library/nginx', 'index.docker.io/library/nginx@sha256:' + 'a'.repeat(64)]) {
        expect(matches(p, r), `${p} vs ${r}`).toBe(true);
      }
      expect(matches(p, 'ghcr.io/library/nginx')).toBe(false);
      expect(matches(p, 'someone/nginx')).toBe(false);
    }
  });

  it('never lets a host pattern match inside the repository path', () => {
    expect(matches('*.trusted.io/org/*', 'evil.io/x.trusted.io/org/app')).toBe(false);
    expect(matches('*.trusted.io/org/*', 'registry.trusted.io/org/app')).toBe(true);
    expect(matches('*.trusted.io/org/**', 'evil.io/x.trusted.io/org/app')).toBe(false);
    expect(matches('**.trusted.io/org/*', 'evil.io/a.trusted.io/org/app')).toBe(false);
    expect(matches('trusted.io/**', 'trusted.io.evil.com/x')).toBe(false);
    expect(matches('trusted.io/**', 'eviltrusted.io/x')).toBe(false);
    // * in a host stays within one label; ** spans labels
    expect(matches('*.trusted.io/org/app', 'a.b.trusted.io/org/app')).toBe(false);
    expect(matches('**.trusted.io/org/app', 'a.b.trusted.io/org/app')).toBe(true);
    expect(matches('*.trusted.io/org/app', 'trusted.io/org/app')).toBe(false);
  });

  it('keeps * within one path component and lets ** span components', () => {
    expect(matches('ghcr.io/org/*', 'ghcr.io/org/app')).toBe(true);
    expect(matches('ghcr.io/org/*', 'ghcr.io/org/team/app')).toBe(false);
    expect(matches('ghcr.io/org/**', 'ghcr.io/org/team/app')).toBe(true);
    expect(matches('ghcr.io/org/**', 'ghcr.io/orgx/app')).toBe(false);
    expect(matches('ghcr.io/**/app', 'ghcr.io/a/b/app')).toBe(true);
    expect(matches('ghcr.io/**/app', 'ghcr.io/a/b/appx')).toBe(false);
    expect(matches('ghcr.io/org/app-*', 'ghcr.io/org/app-web')).toBe(true);
    expect(matches('localhost:*/app', 'localhost:5000/app')).toBe(true);
    expect(matches('localhost:5000/app', 'localhost:5001/app')).toBe(false);
    expect(matches('**', 'anything.example/a/b/c')).toBe(true);
  });

  it('refuses patterns with tags, digests, bad hosts or bad components, with a reason', () => {
    for (const bad of ['', 'nginx:1.25', 'nginx@sha256:' + 'a'.repeat(64), 'ghcr.io//x', 'ghcr.io/x/', 'ghcr.io/X', 'ghcr.io/a[b]', 'ev il.io/x', 'ghcr.io/a/***', 'a'.repeat(600), '../x', 'ghcr.io/{a,b}']) {
      const result = parseImagePattern(bad);
      expect(result.pattern, bad).toBeUndefined();
      expect(result.error).toMatch(/\w/);
    }
  });

  it('property: a literal pattern matches exactly its own normalised name', () => {
    const component = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(fc.constantFrom('ghcr.io', 'registry.example.com', 'localhost:5000', 'docker.io'), fc.array(component, { minLength: 1, maxLength: 4 }), (host, parts) => {
        const name = `${host}/${parts.join('/')}`;
        const ref = parseReference(name);
        const p = pattern(name);
        expect(p.matches(ref.registry, ref.repository)).toBe(true);
        expect(p.matches(ref.registry, `${ref.repository}x`)).toBe(false);
        expect(p.matches(`x${ref.registry}`, ref.repository)).toBe(false);
      }),
    );
  });

  it('property: arbitrary strings never throw, they parse or give a reason', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const result = parseImagePattern(text);
        expect(result.pattern !== undefined || typeof result.error === 'string').toBe(true);
      }),
    );
  });
});

describe('rule selection', () => {
  const rules = (sources: string[]) => sources.map((s, index) => ({ index, name: s, patterns: [pattern(s)] }));

  it('prefers exact over wildcard, longer literals over shorter, fewer wildcards, then file order', () => {
    const set = rules(['**', 'ghcr.io/**', 'ghcr.io/org/**', 'ghcr.io/org/*', 'ghcr.io/org/app']);
    expect(selectRule(set, 'ghcr.io', 'org/app')!.rule.name).toBe('ghcr.io/org/app');
    expect(selectRule(set, 'ghcr.io', 'org/web')!.rule.name).toBe('ghcr.io/org/*');
    expect(selectRule(set, 'ghcr.io', 'org/a/b')!.rule.name).toBe('ghcr.io/org/**');
    expect(selectRule(set, 'ghcr.io', 'other/x')!.rule.name).toBe('ghcr.io/**');
    expect(selectRule(set, 'quay.io', 'x')!.rule.name).toBe('**');
    const tie = [
      { index: 0, name: 'first', patterns: [pattern('ghcr.io/org/*')] },
      { index: 1, name: 'second', patterns: [pattern('ghcr.io/org/*')] },
    ];
    expect(selectRule(tie, 'ghcr.io', 'org/app')!.rule.name).toBe('first');
  });

  it('property: the chosen rule does not depend on the order of rules whose specificities differ', () => {
    const sources = ['**', 'ghcr.io/**', 'ghcr.io/org/**', 'ghcr.io/org/*', 'ghcr.io/org/app', 'ghcr.io/org/app-*', '*.io/org/app', 'ghcr.io/*/app', 'nginx', 'docker.io/library/*'];
    const names = ['ghcr.io/org/app', 'ghcr.io/org/app-web', 'ghcr.io/org/x/y', 'ghcr.io/team/app', 'quay.io/org/app', 'nginx', 'redis', 'ghcr.io/a'];
    fc.assert(
      fc.property(fc.shuffledSubarray(sources, { minLength: 1 }), fc.constantFrom(...names), (subset, name) => {
        const ref = parseReference(name);
        const distinct = new Set(subset.map((s) => pattern(s).specificity.join(',')));
        fc.pre(distinct.size === subset.length);
        const forward = subset.map((s, index) => ({ index, name: s, patterns: [pattern(s)] }));
        const backward = [...subset].reverse().map((s, index) => ({ index, name: s, patterns: [pattern(s)] }));
        expect(selectRule(forward, ref.registry, ref.repository)?.rule.name).toBe(selectRule(backward, ref.registry, ref.repository)?.rule.name);
      }),
    );
  });
});
