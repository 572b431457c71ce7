import type { MatchableRule } from './select-rule.js';

/**
 * The rules none of whose patterns can match an image of any of `registries` (the registries a proxy's upstreams
 * name their images under). Such a rule never applies there: with `default: allow` that is a silent bypass of
 * whatever it requires, so the proxy warns at start-up.
 */
export function rulesMatchingNoRegistry<R extends MatchableRule>(rules: readonly R[], registries: readonly string[]): R[] {
  return rules.filter((rule) => !rule.patterns.some((pattern) => registries.some((registry) => pattern.matchesRegistry(registry))));
}
