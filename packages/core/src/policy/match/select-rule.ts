import { compareSpecificity, type ImagePattern, type Specificity } from './image-pattern.js';

/** What rule selection needs of a rule: its position in the file and its parsed patterns. */
export interface MatchableRule {
  index: number;
  patterns: readonly ImagePattern[];
}

export interface RuleMatch<R extends MatchableRule> {
  rule: R;
  pattern: ImagePattern;
  specificity: Specificity;
}

/**
 * The rule that governs an image: among the rules with a pattern that matches the normalised name, the one whose
 * best matching pattern is most specific — exact beats wildcard, then more literal characters, then fewer
 * wildcards (a `**` weighs as ten `*`) — and on a tie the rule written first. Because the order is total on
 * (specificity, file position), the result never depends on how rules with different specificities are ordered.
 */
export function selectRule<R extends MatchableRule>(rules: readonly R[], registry: string, repository: string): RuleMatch<R> | undefined {
  let best: RuleMatch<R> | undefined;
  for (const rule of rules) {
    for (const pattern of rule.patterns) {
      if (!pattern.matches(registry, repository)) continue;
      if (
        best === undefined ||
        compareSpecificity(pattern.specificity, best.specificity) > 0 ||
        (compareSpecificity(pattern.specificity, best.specificity) === 0 && rule.index < best.rule.index)
      ) {
        best = { rule, pattern, specificity: pattern.specificity };
      }
    }
  }
  return best;
}
