/** One thing wrong with (or worth a second look in) a policy file, located by its JSON path (`$.rules[0].images[1]`). */
export interface PolicyProblem {
  path: string;
  message: string;
}

/** `$.rules[0].name` style paths: keys that are identifiers use dots, anything else is quoted in brackets. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}]`;
}

export function formatProblem(problem: PolicyProblem): string {
  return `${problem.path}: ${problem.message}`;
}

/** Problems as one line, for an error message: the first few, and how many more. */
export function summarizeProblems(problems: readonly PolicyProblem[], max = 5): string {
  const shown = problems.slice(0, max).map(formatProblem).join('; ');
  return problems.length > max ? `${shown}; and ${problems.length - max} more` : shown;
}
