import type { CelInput } from '@bufbuild/cel';
import type { CompiledCondition } from './compile.js';

export interface ConditionOutcome {
  passed: boolean;
  /** `holds`, `false`, or the two ways a condition fails to decide: an evaluation `error`, a `non-boolean` result. */
  status: 'holds' | 'false' | 'error' | 'non-boolean';
  reason: string;
}

/** How much of an expression a reason quotes. */
const MAX_QUOTED_EXPRESSION = 200;

/**
 * Runs a condition. Only the boolean `true` passes: `false`, an evaluation error (a missing field, a type
 * mismatch, an unknown overload) and any non-boolean result all fail, with the reason — an error never allows.
 * `message` (the policy's description of what the condition requires) labels a condition that holds or is false;
 * a condition that could not be evaluated is named by its expression and the evaluator's error instead, so its
 * reason never reads like the requirement it failed to check.
 */
export function evaluateCondition(condition: CompiledCondition, bindings: Record<string, CelInput>, message?: string): ConditionOutcome {
  const label = message ?? condition.expression;
  const result = condition.run(bindings);
  if (result === true) return { passed: true, status: 'holds', reason: `condition holds: ${label}` };
  if (result === false) return { passed: false, status: 'false', reason: `condition is false: ${label}` };
  const expression = quote(condition.expression);
  if (result instanceof Error) {
    return { passed: false, status: 'error', reason: `condition failed to evaluate (denied): ${oneLine(result.message)}, in ${expression}` };
  }
  return { passed: false, status: 'non-boolean', reason: `condition did not return a boolean (denied): got ${describe(result)} from ${expression}` };
}

function quote(expression: string): string {
  const line = oneLine(expression);
  return line.length > MAX_QUOTED_EXPRESSION ? `${line.slice(0, MAX_QUOTED_EXPRESSION)}…` : line;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 60))}`;
  if (typeof value === 'bigint' || typeof value === 'number') return `the number ${String(value)}`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'a value that is not a boolean' : typeof value;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
