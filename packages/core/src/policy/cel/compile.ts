import type { CelEnv, CelInput } from '@bufbuild/cel';

type CelModule = typeof import('@bufbuild/cel');
type CelRuntime = CelModule & { env: CelEnv };

let runtime: Promise<CelRuntime> | undefined;
/** @bufbuild/cel is large: it is loaded when a policy with conditions is compiled, not when tollgate starts. */
function loadCel(): Promise<CelRuntime> {
  runtime ??= Promise.all([import('@bufbuild/cel'), import('@bufbuild/cel/ext')]).then(([cel, ext]) => ({
    ...cel,
    env: cel.celEnv({ funcs: ext.strings }),
  }));
  return runtime;
}

/** The variables a policy condition can use. */
export const CEL_VARIABLES = ['statement', 'predicate', 'image'] as const;
/** Type names CEL lets an expression mention as identifiers (`type(x) == string`). */
const TYPE_IDENTIFIERS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn']);
/** Operators the planner implements itself rather than through the function table. */
const PLANNER_OPERATORS = new Set(['_&&_', '_||_', '_?_:_', '_[_]', '@not_strictly_false', '@in', '_[?_]', '_?._']);
export const MAX_EXPRESSION_LENGTH = 16384;
const MAX_AST_NODES = 5000;

export interface CompiledCondition {
  expression: string;
  /** Evaluates against the bindings; returns the raw result, or an Error for an evaluation error (never throws). */
  run(bindings: Record<string, CelInput>): unknown;
}

export interface CelCompileResult {
  condition?: CompiledCondition;
  error?: string;
}

/**
 * Compiles a condition: it must parse, mention only the variables `statement`, `predicate` and `image` (and
 * comprehension variables it binds itself), and call only functions CEL and its strings extension define. These
 * are policy errors, found when the policy is loaded or linted, not when an image is checked.
 */
export async function compileCondition(expression: string): Promise<CelCompileResult> {
  if (expression.length > MAX_EXPRESSION_LENGTH) return { error: `the expression is longer than ${MAX_EXPRESSION_LENGTH} characters` };
  const cel = await loadCel();
  let parsed: ReturnType<CelModule['parse']>;
  try {
    parsed = cel.parse(expression);
  } catch (error) {
    return { error: `does not parse: ${oneLine(error instanceof Error ? error.message : String(error))}` };
  }
  const problem = checkExpr(parsed.expr, cel.env);
  if (problem) return { error: problem };
  let program: ReturnType<CelModule['plan']>;
  try {
    program = cel.plan(cel.env, parsed);
  } catch (error) {
    return { error: `cannot be planned: ${oneLine(error instanceof Error ? error.message : String(error))}` };
  }
  return {
    condition: {
      expression,
      run: (bindings) => {
        try {
          const result = program(bindings);
          return cel.isCelError(result) ? new Error(result.message) : result;
        } catch (error) {
          return new Error(error instanceof Error ? error.message : String(error));
        }
      },
    },
  };
}

type Expr = ReturnType<CelModule['parse']>['expr'];

/** Walks the AST: free identifiers must be policy variables (or type names), calls must name known functions. */
function checkExpr(root: Expr, env: CelEnv): string | undefined {
  const funcs = env.funcs;
  let nodes = 0;
  const walk = (expr: Expr | undefined, bound: ReadonlySet<string>): string | undefined => {
    if (expr === undefined) return undefined;
    if (++nodes > MAX_AST_NODES) return `the expression has more than ${MAX_AST_NODES} nodes`;
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'identExpr': {
        const name = kind.value.name;
        if (bound.has(name) || TYPE_IDENTIFIERS.has(name) || (CEL_VARIABLES as readonly string[]).includes(name)) return undefined;
        return `uses the unknown variable ${JSON.stringify(name)}; the variables are ${CEL_VARIABLES.join(', ')}`;
      }
      case 'selectExpr':
        return walk(kind.value.operand, bound);
      case 'callExpr': {
        const name = kind.value.function;
        if (!PLANNER_OPERATORS.has(name) && funcs.find(name) === undefined) return `calls the unknown function ${JSON.stringify(name)}`;
        for (const arg of [kind.value.target, ...kind.value.args]) {
          const problem = walk(arg, bound);
          if (problem) return problem;
        }
        return undefined;
      }
      case 'listExpr':
        for (const element of kind.value.elements) {
          const problem = walk(element, bound);
          if (problem) return problem;
        }
        return undefined;
      case 'structExpr':
        for (const entry of kind.value.entries) {
          const key = entry.keyKind.case === 'mapKey' ? entry.keyKind.value : undefined;
          const problem = walk(key, bound) ?? walk(entry.value, bound);
          if (problem) return problem;
        }
        if (kind.value.messageName !== '') return `builds the message type ${JSON.stringify(kind.value.messageName)}; conditions work on JSON values only`;
        return undefined;
      case 'comprehensionExpr': {
        const c = kind.value;
        const outer = walk(c.iterRange, bound) ?? walk(c.accuInit, bound);
        if (outer) return outer;
        const inner = new Set([...bound, c.iterVar, c.accuVar, ...(c.iterVar2 ? [c.iterVar2] : [])]);
        return walk(c.loopCondition, inner) ?? walk(c.loopStep, inner) ?? walk(c.result, inner);
      }
      default:
        return undefined;
    }
  };
  return walk(root, new Set());
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}
