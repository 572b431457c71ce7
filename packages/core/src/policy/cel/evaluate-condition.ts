import type { CelInput } from '@bufbuild/cel';
import type { CompiledCondition } from './compile.js';

export interface ConditionOutcome {
  passed: boolean;
  reason: string;
}

/**
 * Runs a condition. Only the boolean `true` passes: `false`, an evaluation error (a missing field, a type
 * mismatch, an unknown overload) and any non-boolean result all fail, with the reason — an error never allows.
 */
export function evaluateCondition(condition: CompiledCondition, bindings: Record<string, CelInput>, message?: string): ConditionOutcome {
  const label = message ?? condition.expression;
  const result = condition.run(bindings);
  if (result === true) return { passed: true, reason: `condition holds: ${label}` };
  if (result === false) return { passed: false, reason: `condition is false: ${label}` };
  if (result instanceof Error) {
    return { passed: false, reason: `condition failed to evaluate (denied): ${label}: ${oneLine(result.message)}` };
  }
  return { passed: false, reason: `condition did not return a boolean (denied): ${label}: got ${describe(result)}` };
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
